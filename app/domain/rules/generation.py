"""Rules checked when a lot is generated (名录)."""

from __future__ import annotations

from collections.abc import Iterator

from app.domain.lot import EXEMPT_UNSORTED_CODE, exempt_unsorted
from app.domain.rules.base import Finding, Rule, Severity, Situation, Step
from app.domain.rules.common import (
    MINGLU,
    T,
    rule,
)
from app.domain.values import WasteKind
from app.domain.waste_codes import code_format_problem, normalise_code

# ---------------------------------------------------------------- generation


@rule(
    "R01",
    "废物代码格式与类别一致",
    "waste code format and category",
    MINGLU,
    "Art. 5(3)",
    T,
    [Step.generation],
    Severity.block,
)
def r01(s: Situation, r: Rule) -> Iterator[Finding]:
    p = s.proposal
    if p is None or p.kind is not WasteKind.hazardous or not p.waste_code:
        return
    code = normalise_code(p.waste_code)
    problem = code_format_problem(code)
    if problem or code[-2:] in {"41", "42", "43", "44"}:
        yield r.finding(
            s,
            f"废物代码 {code} 格式不符：应为 ddd-ddd-dd，末两位为危险废物类别号",
            f"waste code {code}: {problem or 'HW41-HW44 do not exist'}",
            code=code,
        )


@rule(
    "R02",
    "废物代码在现行名录中",
    "waste code exists in the list in force",
    MINGLU,
    "附表; 2025 edition from 2025-01-01",
    T,
    [Step.generation],
    Severity.block,
)
def r02(s: Situation, r: Rule) -> Iterator[Finding]:
    p = s.proposal
    if p is None or p.kind is not WasteKind.hazardous or not p.waste_code:
        return
    code = normalise_code(p.waste_code)
    if code_format_problem(code):
        return  # R01 reports it
    day = s.now.date()
    if s.catalogue.in_force(code, day) is not None:
        return
    edition = s.catalogue.edition_for(day)
    if code.startswith("900-000-"):
        if not p.identification_report:
            yield r.finding(
                s,
                f"{code} 须附危险废物鉴别报告（名录第六条）",
                f"{code} needs the hazardous-waste identification report (Art. 6)",
                code=code,
            )
        return
    yield r.finding(
        s,
        f"废物代码 {code} 不在{edition}年版名录中",
        f"waste code {code} is not in the {edition} edition of the list",
        code=code,
        edition=edition,
    )


@rule(
    "R04",
    "危险特性与名录一致",
    "hazard characteristics match the listing",
    MINGLU,
    "附表注1",
    T,
    [Step.generation],
    Severity.warn,
)
def r04(s: Situation, r: Rule) -> Iterator[Finding]:
    p = s.proposal
    if (
        p is None
        or p.kind is not WasteKind.hazardous
        or not p.waste_code
        or not p.hazard_characteristics
    ):
        return
    entry = s.catalogue.in_force(normalise_code(p.waste_code), s.now.date())
    if entry is None or not entry.hazard:
        return
    given = set(p.hazard_characteristics)
    if "/" in entry.hazard:
        ok = bool(given & entry.hazard_set)
    else:
        ok = entry.hazard.split(",")[0] in given
    if not ok:
        yield r.finding(
            s,
            f"危险特性 {'/'.join(sorted(given))} 与名录列出的 {entry.hazard} 不符",
            f"hazard characteristics {sorted(given)} do not match the listed {entry.hazard}",
            listed=entry.hazard,
            given=sorted(given),
        )


@rule(
    "R61",
    "豁免：混入生活垃圾收集的废弃含油抹布、劳保用品",
    "exemption: oily rags collected unsorted with ordinary waste",
    MINGLU,
    "豁免管理清单 #24",
    T,
    [Step.generation, Step.storage_in],
    Severity.info,
)
def r61(s: Situation, r: Rule) -> Iterator[Finding]:
    """At generation: the exemption holds for 900-041-49 only. At storage-in: a lot stored in
    a zone is segregated, so hazardous waste again (label, storage limit, manifest, ledger)."""
    if s.step is Step.storage_in:
        if s.lot is not None and s.lot.exempt:
            yield r.finding(
                s,
                "豁免的 900-041-49 入区贮存即为分类收集，此后按危险废物管理"
                "（标签、贮存期限、联单、台账）",
                "an exempt 900-041-49 lot stored in a zone is segregated: from now on it is "
                "managed as hazardous waste (label, storage limit, manifest, ledger)",
                severity=Severity.warn,
            )
        return
    p = s.proposal
    if p is None or not p.collected_unsorted:
        return
    if exempt_unsorted(p.waste_code, p.collected_unsorted):
        yield r.finding(
            s,
            f"{EXEMPT_UNSORTED_CODE} 未分类收集，全过程不按危险废物管理（豁免），随生活垃圾清运",
            f"{EXEMPT_UNSORTED_CODE} collected unsorted: exempt from hazardous-waste management "
            "at every step; it goes out with the household waste",
        )
    else:
        yield r.finding(
            s,
            f"仅 {EXEMPT_UNSORTED_CODE} 含油抹布、劳保用品可因混入生活垃圾收集而豁免",
            f"only {EXEMPT_UNSORTED_CODE} rags and PPE are exempt when collected unsorted",
            severity=Severity.warn,
        )
