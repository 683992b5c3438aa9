"""One pure function per formula key of the definition, and `evaluate()`.

The facts are the year's aggregate rows (summed over months by the service) plus the little
master data the veto needs; classification (which codes are activated carbon, which methods
are incineration, ...) comes from the definition, so the aggregates never depend on it.
Ratios are Decimals; a ratio with a zero denominator is "not applicable" and scores in full
only where the text makes sense of it (nothing to label, nothing shipped...), as noted.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from uuid import UUID

from app.domain.declarations import classify
from app.domain.scorecard.definition import Criterion, Definition, Inconsistency
from app.domain.scorecard.inputs import PeriodInputs, Route

ZERO = Decimal(0)
THOUSAND = Decimal(1000)


# ---------------------------------------------------------------- facts


@dataclass(frozen=True)
class WasteFigures:
    """One aggregate key of the year: (kind, category, waste_code, method_code) -> counters.
    Counters of generation and custody sit on method_code ""; completions on their method."""

    kind: str
    category: str
    waste_code: str
    method_code: str
    generated_count: int = 0
    generated_kg: Decimal = ZERO
    labelled_before_storage: int = 0
    stored_count: int = 0
    exempt_count: int = 0  # of the generated, still exempt (豁免管理清单 #24, R61)
    exempt_kg: Decimal = ZERO
    left_count: int = 0
    left_kg: Decimal = ZERO
    left_received_count: int = 0
    completed_count: int = 0
    completed_kg: Decimal = ZERO
    traced_count: int = 0

    @property
    def managed_kg(self) -> Decimal:
        """The generated kg managed as their kind: for hazardous waste, less the lots still
        exempt (R61), which leave with household waste and are not declared (HJ 1259 §7)."""
        return self.generated_kg - self.exempt_kg


@dataclass(frozen=True)
class TransferFigures:
    """Shipments (method_code "") and completions (method) per handler licence, code, day."""

    day: date
    handler_licence_id: UUID
    handler_enterprise_id: UUID | None
    waste_code: str
    method_code: str
    lot_count: int
    kg: Decimal


@dataclass(frozen=True)
class Licence:
    licence_id: UUID
    licence_no: str
    valid_from: date
    valid_to: date
    items: tuple[tuple[str, tuple[str, ...]], ...]  # (category, codes or ())

    def covers(self, waste_code: str, on: date) -> bool:
        if not self.valid_from <= on <= self.valid_to:
            return False
        category = category_of(waste_code)
        return any(
            cat == category and (not codes or waste_code in codes) for cat, codes in self.items
        )


@dataclass(frozen=True)
class Facts:
    year: int
    waste: tuple[WasteFigures, ...] = ()
    transfers: tuple[TransferFigures, ...] = ()
    licences: dict[UUID, Licence] = field(default_factory=dict)
    delays: dict[int, int] = field(default_factory=dict)  # delay in whole hours -> events
    manifests_dispatched: int = 0  # in the system, back-entered paper manifests included
    manifests_paper_backentered: int = 0  # of those, run on paper and entered afterwards
    management_plan_filed: bool = False
    open_blocking_findings: tuple[str, ...] = ()  # alert keys open at period end
    facilities: tuple[tuple[str, bool | None], ...] = ()  # (code, surface_antiseepage)
    evidence: dict[str, int] = field(default_factory=dict)  # criterion -> files attached
    # hazardous waste generated (t) in the two years before, for HJ 1259 §4.2.3's annual
    # quantity (the largest of the last three years)
    prior_hazardous_t: dict[int, Decimal] = field(default_factory=dict)
    # the site's profile as recorded: an own utilisation/disposal facility, an operating
    # licence (HJ 1259 §4.2.1), what the year's inputs fall back on when they say nothing
    site_own_facility: bool = False
    site_licensed: bool = False


def category_of(waste_code: str) -> str:
    return f"HW{waste_code[-2:]}"


# ---------------------------------------------------------------- results


@dataclass
class Outcome:
    score: Decimal
    status: str  # met | partial | not_met | not_applicable | missing_input | no_evidence | ...
    numerator: Decimal | None = None
    denominator: Decimal | None = None
    unit: str | None = None
    value: Decimal | None = None  # the ratio or figure compared with the threshold
    threshold: str | None = None
    note: str | None = None
    drilldown: bool = False


@dataclass
class CriterionResult:
    key: str
    text: str
    points: Decimal
    source: str
    formula: str
    outcome: Outcome


@dataclass
class ItemResult:
    no: int
    key: str
    section: str
    name: str
    points: Decimal
    score: Decimal
    criteria: list[CriterionResult]


@dataclass
class VetoCondition:
    key: str
    triggered: bool
    count: int
    detail: str


@dataclass
class Scorecard:
    definition: Definition
    year: int
    items: list[ItemResult]
    veto: list[VetoCondition]
    raw_base: Decimal
    raw_bonus: Decimal
    inconsistencies: list[Inconsistency]
    management_class: dict[str, Any]
    hgt5902: list[dict[str, Any]]
    recovery_rate: dict[str, Any]
    timeliness_window_hours: int

    @property
    def raw_total(self) -> Decimal:
        return self.raw_base + self.raw_bonus

    @property
    def vetoed(self) -> bool:
        return any(v.triggered for v in self.veto)

    @property
    def passed(self) -> bool:
        return not self.vetoed and self.raw_total >= self.definition.pass_mark


# ---------------------------------------------------------------- helpers


@dataclass(frozen=True)
class Ctx:
    d: Definition
    facts: Facts
    inputs: PeriodInputs
    self_assessed: dict[str, Any]
    window_hours: int

    def cls(self, name: str) -> set[str]:
        return set(self.d.classes.get(name, ()))

    def rows(self, kind: str | None = None) -> Iterable[WasteFigures]:
        return (w for w in self.facts.waste if kind is None or w.kind == kind)


def ratio(num: Decimal, den: Decimal) -> Decimal | None:
    return None if den == 0 else num / den


def q(d: Decimal | None, places: str = "0.0001") -> Decimal | None:
    return None if d is None else d.quantize(Decimal(places), rounding=ROUND_HALF_UP)


def _threshold(c: Criterion) -> tuple[Decimal, str]:
    m = Decimal(str(c.params.get("min", 1)))
    return m, f"≥ {m * 100:.0f}%" if m <= 1 else f"≥ {m}"


def rate_outcome(c: Criterion, num: Decimal, den: Decimal, *, unit: str, empty: str) -> Outcome:
    """All points when num/den reaches the criterion's `min`; `empty` says what an empty
    denominator means ("full": nothing to measure, nothing failed; "zero")."""
    minimum, text = _threshold(c)
    r = ratio(num, den)
    if r is None:
        full = empty == "full"
        return Outcome(
            c.points if full else ZERO,
            "not_applicable" if full else "not_met",
            num,
            den,
            unit,
            None,
            text,
            "分母为 0 / nothing in the period",
            True,
        )
    met = r >= minimum
    return Outcome(
        c.points if met else ZERO,
        "met" if met else "not_met",
        num,
        den,
        unit,
        q(r),
        text,
        None,
        True,
    )


def kg(v: Decimal) -> Decimal:
    return v.quantize(Decimal("0.001"))


# ---------------------------------------------------------------- formulas

Formula = Callable[[Criterion, Ctx], Outcome]
FORMULAS: dict[str, Formula] = {}


def formula(name: str) -> Callable[[Formula], Formula]:
    def deco(fn: Formula) -> Formula:
        FORMULAS[name] = fn
        return fn

    return deco


@formula("self_assessed")
def self_assessed(c: Criterion, x: Ctx) -> Outcome:
    """Yes/no claimed by the manager; points only with at least one evidence file."""
    value = x.self_assessed.get(c.key)
    files = x.facts.evidence.get(c.key, 0)
    if value is None:
        return Outcome(ZERO, "not_claimed", note="未自评 / not assessed")
    if not _truthy(value):
        return Outcome(ZERO, "not_met", value=Decimal(0))
    if files == 0:
        return Outcome(
            ZERO,
            "no_evidence",
            value=Decimal(1),
            note="已自评但无佐证材料 / claimed without evidence",
        )
    return Outcome(c.points, "met", value=Decimal(1), note=f"佐证 {files} 份")


@formula("self_min")
def self_min(c: Criterion, x: Ctx) -> Outcome:
    """A value entered by the manager against a minimum, with evidence."""
    value = x.self_assessed.get(c.key)
    minimum = Decimal(str(c.params["min"]))
    unit = c.params.get("unit")
    text = f"≥ {minimum}{unit or ''}"
    files = x.facts.evidence.get(c.key, 0)
    if value is None:
        return Outcome(ZERO, "not_claimed", unit=unit, threshold=text, note="未自评 / not assessed")
    v = Decimal(str(value))
    if v < minimum:
        return Outcome(ZERO, "not_met", unit=unit, value=v, threshold=text)
    if files == 0:
        return Outcome(
            ZERO,
            "no_evidence",
            unit=unit,
            value=v,
            threshold=text,
            note="已自评但无佐证材料 / claimed without evidence",
        )
    return Outcome(c.points, "met", unit=unit, value=v, threshold=text, note=f"佐证 {files} 份")


@formula("self_assessed_if_generated")
def self_assessed_if_generated(c: Criterion, x: Ctx) -> Outcome:
    """Biological waste: not applicable (full points) when none was generated in the period;
    otherwise self-assessed (the log has no sterilisation step yet)."""
    bio = _expired_bio(x)
    generated = sum(w.generated_count for w in x.rows("hazardous") if bio(w))
    if generated == 0:
        return Outcome(
            c.points,
            "not_applicable",
            Decimal(0),
            None,
            "lots",
            note="本期未产生生物废物 / none generated",
            drilldown=True,
        )
    out = self_assessed(c, x)
    out.numerator, out.unit, out.drilldown = Decimal(generated), "lots", True
    return out


def _truthy(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    return Decimal(str(v)) != 0


def intensity_change_pct(
    current_t: Decimal, output: Decimal, base_t: Decimal, base_output: Decimal
) -> Decimal | None:
    """% change of (t / 10⁴ CNY) against the base year; None when a base is zero."""
    if output == 0 or base_output == 0 or base_t == 0:
        return None
    now = current_t / output
    base = base_t / base_output
    return (now - base) / base * 100


def steps_below(points: Decimal, shortfall: Decimal, step: Decimal) -> Decimal:
    """-1 point per started `step` of shortfall (ours: any started step counts), floor 0."""
    if shortfall <= 0:
        return points
    return max(ZERO, points - Decimal(math.ceil(shortfall / step)))


@formula("intensity_change")
def intensity_change(c: Criterion, x: Ctx) -> Outcome:
    kind = c.params["kind"]
    generated_kg = sum((w.managed_kg for w in x.rows(kind)), ZERO)
    t = generated_kg / THOUSAND
    inp = x.inputs
    base_t = inp.base_general_t if kind == "general" else inp.base_hazardous_t
    if inp.output_value_10k_cny is None or inp.base_output_value_10k_cny is None or base_t is None:
        return Outcome(
            ZERO,
            "missing_input",
            kg(generated_kg),
            None,
            "kg",
            note="需录入产值及基准年数据 / output value and base year needed",
            drilldown=True,
        )
    change = intensity_change_pct(
        t, inp.output_value_10k_cny, base_t, inp.base_output_value_10k_cny
    )
    if change is None:
        return Outcome(
            ZERO,
            "missing_input",
            kg(generated_kg),
            inp.output_value_10k_cny,
            "kg / 10⁴ CNY",
            note="基准值为 0",
            drilldown=True,
        )
    score = steps_below(c.points, change, Decimal(str(c.params.get("step_pct", 1))))
    status = "met" if score == c.points else ("partial" if score > 0 else "not_met")
    now = t / inp.output_value_10k_cny if inp.output_value_10k_cny else ZERO
    base = base_t / inp.base_output_value_10k_cny
    return Outcome(
        score,
        status,
        kg(generated_kg),
        inp.output_value_10k_cny,
        "kg / 10⁴ CNY",
        q(change, "0.01"),
        "变化率 ≤ 0%",
        f"强度 {q(now, '0.000001')} t/万元，基准年 {q(base, '0.000001')} t/万元，"
        f"变化 {q(change, '0.01')}%",
        True,
    )


@formula("manifest_execution")
def manifest_execution(c: Criterion, x: Ctx) -> Outcome:
    """Hazardous lots that left on a manifest which reached "received" ÷ hazardous lots that
    left the site (shipped) in the period."""
    left = sum(w.left_count for w in x.rows("hazardous"))
    ok = sum(w.left_received_count for w in x.rows("hazardous"))
    return rate_outcome(c, Decimal(ok), Decimal(left), unit="lots", empty="full")


@formula("plan_and_manifests")
def plan_and_manifests(c: Criterion, x: Ctx) -> Outcome:
    out = manifest_execution(c, x)
    if not x.facts.management_plan_filed:
        out.score, out.status = ZERO, "not_met"
        out.note = "本年度危险废物管理计划未备案 / no management plan filed for the year"
    else:
        out.note = (out.note or "") + " 管理计划已备案"
    return out


@formula("electronic_manifest_coverage")
def electronic_manifest_coverage(c: Criterion, x: Ctx) -> Outcome:
    """Manifests created and signed in the system ÷ all manifests. A transfer run on paper
    and back-entered (R53) is in the system but was not electronic; paper manifests never
    entered come in as the `paper_manifests` count."""
    dispatched = x.facts.manifests_dispatched
    electronic = dispatched - x.facts.manifests_paper_backentered
    offlog = x.inputs.paper_manifests or 0
    out = rate_outcome(
        c, Decimal(electronic), Decimal(dispatched + offlog), unit="manifests", empty="full"
    )
    notes = [out.note] if out.note else []
    if x.facts.manifests_paper_backentered:
        notes.append(
            f"含纸质补录联单 {x.facts.manifests_paper_backentered} 份，不计为电子联单 / "
            f"{x.facts.manifests_paper_backentered} back-entered paper manifests count as paper"
        )
    if x.inputs.paper_manifests is None:
        notes.append(
            "未补录的纸质联单数未录入，按 0 计 / paper manifests not entered, counted as 0"
        )
    out.note = "；".join(notes) or None
    return out


@formula("e_label_coverage")
def e_label_coverage(c: Criterion, x: Ctx) -> Outcome:
    """Lots labelled before their first storage, of the hazardous lots generated — less those
    exempt under 豁免管理清单 #24 (R61), which need no label."""
    gen = sum(w.generated_count - w.exempt_count for w in x.rows("hazardous"))
    ok = sum(w.labelled_before_storage for w in x.rows("hazardous"))
    return rate_outcome(c, Decimal(ok), Decimal(gen), unit="lots", empty="full")


@formula("general_stored_by_class")
def general_stored_by_class(c: Criterion, x: Ctx) -> Outcome:
    gen = sum(w.generated_count for w in x.rows("general"))
    stored = sum(w.stored_count for w in x.rows("general"))
    return rate_outcome(c, Decimal(stored), Decimal(gen), unit="lots", empty="full")


@formula("general_ledger_complete")
def general_ledger_complete(c: Criterion, x: Ctx) -> Outcome:
    """Every general lot of the period has a category and a weight (the ledger's fields):
    lots generated at 0 kg and never weighed count against it."""
    rows = [w for w in x.rows("general") if w.method_code == ""]
    gen = sum(w.generated_count for w in rows)
    weighed = sum(w.generated_count for w in rows if w.generated_kg > 0)
    return rate_outcome(c, Decimal(weighed), Decimal(gen), unit="lots", empty="full")


@formula("storage_no_open_blocks")
def storage_no_open_blocks(c: Criterion, x: Ctx) -> Outcome:
    n = len(x.facts.open_blocking_findings)
    return Outcome(
        c.points if n == 0 else ZERO,
        "met" if n == 0 else "not_met",
        Decimal(n),
        None,
        "alerts",
        threshold="= 0",
        note="期末未解决的阻断类贮存告警",
    )


@formula("facilities_compliant")
def facilities_compliant(c: Criterion, x: Ctx) -> Outcome:
    fac = x.facts.facilities
    ok = sum(1 for _, antiseepage in fac if antiseepage)
    if not fac:
        return Outcome(
            ZERO,
            "not_met",
            Decimal(0),
            Decimal(0),
            "facilities",
            note="未登记贮存设施 / no storage facility registered",
        )
    met = ok == len(fac)
    return Outcome(
        c.points if met else ZERO,
        "met" if met else "not_met",
        Decimal(ok),
        Decimal(len(fac)),
        "facilities",
        q(Decimal(ok) / len(fac)),
        "= 100%",
        "防渗记录齐全的设施 / facilities with anti-seepage on record",
    )


@formula("general_utilisation")
def general_utilisation(c: Criterion, x: Ctx) -> Outcome:
    prefixes = tuple(x.cls("utilisation_prefixes"))
    gen_kg = sum((w.generated_kg for w in x.rows("general")), ZERO)
    log_kg = sum(
        (w.completed_kg for w in x.rows("general") if w.method_code.startswith(prefixes)), ZERO
    )
    off = (x.inputs.general_utilised_t_offlog or ZERO) * THOUSAND
    num = log_kg + off
    minimum = Decimal(str(c.params["min"]))
    step = Decimal(str(c.params["step"]))
    r = ratio(num, gen_kg)
    note = f"日志 {kg(log_kg)} kg + 录入 {kg(off)} kg（一般固废尚不随联单流转）"
    if r is None:
        return Outcome(c.points, "not_applicable", kg(num), ZERO, "kg", None, "≥ 90%", note, True)
    score = steps_below(c.points, minimum - r, step)
    status = "met" if score == c.points else ("partial" if score > 0 else "not_met")
    return Outcome(
        score, status, kg(num), kg(gen_kg), "kg", q(r), "≥ 90%，每低 2% 扣 1 分", note, True
    )


def _regen(x: Ctx) -> Callable[[WasteFigures], bool]:
    codes, cats = x.cls("regeneration_codes"), x.cls("regeneration_categories")
    return lambda w: w.kind == "hazardous" and (w.waste_code in codes or w.category in cats)


@formula("regeneration_rate")
def regeneration_rate(c: Criterion, x: Ctx) -> Outcome:
    is_regen = _regen(x)
    methods = x.cls("regeneration_methods")
    gen = sum((w.generated_kg for w in x.facts.waste if is_regen(w)), ZERO)
    num = sum(
        (w.completed_kg for w in x.facts.waste if is_regen(w) and w.method_code in methods), ZERO
    )
    out = rate_outcome(c, kg(num), kg(gen), unit="kg", empty="full")
    return out


@formula("point_to_point")
def point_to_point(c: Criterion, x: Ctx) -> Outcome:
    """A case = a distinct (handler enterprise, waste code) whose lots were utilised in the
    period by a direct material-recovery method (ours)."""
    methods = x.cls("point_to_point_methods")
    cases = {
        (t.handler_enterprise_id or t.handler_licence_id, t.waste_code)
        for t in x.facts.transfers
        if t.method_code in methods and t.lot_count > 0
    }
    n = len(cases)
    minimum = int(c.params.get("min", 1))
    met = n >= minimum
    return Outcome(
        c.points if met else ZERO,
        "met" if met else "not_met",
        Decimal(n),
        None,
        "cases",
        Decimal(n),
        f"≥ {minimum}",
        None,
        True,
    )


@formula("residue_ash_share")
def residue_ash_share(c: Criterion, x: Ctx) -> Outcome:
    """Residues (药渣) and ash (炉灰) sent to fuel / organic fertiliser ÷ residues and ash
    completed (disposed or utilised) in the period."""
    cats = x.cls("residue_categories")
    methods = x.cls("fuel_fertiliser_methods")
    rows = [w for w in x.facts.waste if w.category in cats and w.method_code]
    den = sum((w.completed_kg for w in rows), ZERO)
    num = sum((w.completed_kg for w in rows if w.method_code in methods), ZERO)
    return rate_outcome(c, kg(num), kg(den), unit="kg", empty="full")


def unlicensed_transfers(x: Ctx) -> list[TransferFigures]:
    out = []
    for t in x.facts.transfers:
        if t.method_code:
            continue
        lic = x.facts.licences.get(t.handler_licence_id)
        if lic is None or not lic.covers(t.waste_code, t.day):
            out.append(t)
    return out


@formula("licensed_disposal")
def licensed_disposal(c: Criterion, x: Ctx) -> Outcome:
    shipped = [t for t in x.facts.transfers if not t.method_code]
    total = sum((t.kg for t in shipped), ZERO)
    bad = sum((t.kg for t in unlicensed_transfers(x)), ZERO)
    out = rate_outcome(c, kg(total - bad), kg(total), unit="kg", empty="full")
    out.note = "按发运当日许可证有效期及核准类别/代码核对 / licence valid for the code on the day"
    return out


def _expired_bio(x: Ctx) -> Callable[[WasteFigures], bool]:
    cats, codes = x.cls("expired_bio_categories"), x.cls("expired_bio_codes")
    return lambda w: w.kind == "hazardous" and (w.category in cats or w.waste_code in codes)


@formula("expired_bio_incineration")
def expired_bio_incineration(c: Criterion, x: Ctx) -> Outcome:
    is_bio = _expired_bio(x)
    methods = x.cls("incineration_methods")
    rows = [w for w in x.facts.waste if is_bio(w) and w.method_code]
    den = sum(w.completed_count for w in rows)
    num = sum(w.completed_count for w in rows if w.method_code in methods)
    return rate_outcome(c, Decimal(num), Decimal(den), unit="lots", empty="full")


@formula("disposal_below_base")
def disposal_below_base(c: Criterion, x: Ctx) -> Outcome:
    """Hazardous waste disposed (D codes) in the period against the base year's figure."""
    disposed = sum(
        (w.completed_kg for w in x.rows("hazardous") if w.method_code.startswith("D")), ZERO
    )
    base = x.inputs.base_disposed_t
    if base is None:
        return Outcome(
            ZERO,
            "missing_input",
            kg(disposed),
            None,
            "kg",
            note="需录入基准年处置量 / base-year disposal needed",
            drilldown=True,
        )
    base_kg = base * THOUSAND
    met = disposed < base_kg
    return Outcome(
        c.points if met else ZERO,
        "met" if met else "not_met",
        kg(disposed),
        kg(base_kg),
        "kg",
        q(ratio(disposed, base_kg)),
        "< 基准年",
        None,
        True,
    )


@formula("traceability_coverage")
def traceability_coverage(c: Criterion, x: Ctx) -> Outcome:
    rows = [w for w in x.rows("hazardous") if w.method_code]
    den = sum(w.completed_count for w in rows)
    num = sum(w.traced_count for w in rows)
    return rate_outcome(c, Decimal(num), Decimal(den), unit="lots", empty="full")


@formula("data_timeliness")
def data_timeliness(c: Criterion, x: Ctx) -> Outcome:
    total = sum(x.facts.delays.values())
    timely = sum(n for h, n in x.facts.delays.items() if h <= x.window_hours)
    out = rate_outcome(c, Decimal(timely), Decimal(total), unit="events", empty="full")
    out.note = f"recorded_at − occurred_at ≤ {x.window_hours} h"
    return out


# ---------------------------------------------------------------- other ratios


def management_class(x: Ctx) -> dict[str, Any]:
    """HJ 1259 §4.2, as the exports' declarations class it: the annual quantity is the
    largest of this year's and the two years before (§4.2.3), the exempt (R61) left out. An
    own facility or a licence is what the year's inputs say, else the site's profile."""
    t = sum((w.managed_kg for w in x.rows("hazardous")), ZERO) / THOUSAND
    years = {x.facts.year: t, **x.facts.prior_hazardous_t}
    top = max(years, key=lambda y: (years[y], y))
    own, licence = x.inputs.own_disposal_facility, x.inputs.holds_operating_licence
    cls, reasons = classify(
        years[top],
        own_facility=x.facts.site_own_facility if own is None else own,
        licence=x.facts.site_licensed if licence is None else licence,
        key_t=x.d.hj1259["key_t"],
        simplified_t=x.d.hj1259["simplified_t"],
        year_note="" if top == x.facts.year else f"（{top} 年，近三年最大）",
    )
    return {
        "class": cls,
        "name_zh": {
            "key": "危险废物环境重点监管单位",
            "simplified": "简化管理单位",
            "registration": "登记管理单位",
        }[cls],
        "hazardous_t": q(t, "0.001"),
        "annual_t": q(years[top], "0.001"),
        "annual_t_year": top,
        "reasons": reasons,
        "basis": "HJ 1259-2022 §4.2",
    }


def _level(
    value: Decimal | None, limit: Decimal | None, excellent: Decimal | None, strict: bool = False
) -> str:
    if value is None or limit is None:
        return "not_computable"
    if excellent is not None and value <= excellent:
        return "excellent"
    if (value < limit) if strict else (value <= limit):
        return "limit"
    return "fails"


def hgt5902(x: Ctx) -> list[dict[str, Any]]:
    """Kg of waste per tonne of product, per route, against HG/T 5902 tables 1 and 2.
    The site's waste goes to its routes by the entered shares, or wholly to its only route."""
    inp = x.inputs
    h = x.d.hgt5902
    hw_kg = sum((w.managed_kg for w in x.rows("hazardous")), ZERO)
    solid_kg = sum((w.generated_kg for w in x.facts.waste), ZERO)  # the exempt are solid waste
    routes = {r: t for r, t in inp.product_t.items() if t > 0}
    out: list[dict[str, Any]] = []
    if not routes:
        return [
            {
                "indicator": "all",
                "status": "missing_input",
                "note": "需录入各工艺产品产量 / product tonnes per route needed",
            }
        ]
    if len(routes) == 1:
        shares = {next(iter(routes)): Decimal(100)}
    elif inp.waste_share_pct:
        shares = {r: inp.waste_share_pct.get(r, ZERO) for r in routes}
    else:
        return [
            {
                "indicator": "all",
                "status": "missing_input",
                "note": "多工艺：需录入各工艺固废占比 waste_share_pct",
            }
        ]

    def per_t(total_kg: Decimal, route: Route) -> Decimal:
        return total_kg * shares[route] / 100 / routes[route]

    api_routes = [r for r in (Route.synthesis, Route.fermentation) if r in routes]
    if api_routes:
        api_t = sum((routes[r] for r in api_routes), ZERO)
        api_kg = sum((hw_kg * shares[r] / 100 for r in api_routes), ZERO)
        v = api_kg / api_t
        out.append(
            _ratio_row(
                "table1_hazardous_api",
                "原料药单位产品危险废物产生量",
                "kg/t",
                v,
                h["hazardous_api_limit_kg_t"],
                h["hazardous_api_excellent_kg_t"],
                api_kg,
                api_t,
            )
        )
    if Route.formulation in routes:
        v = per_t(hw_kg, Route.formulation)
        avg = inp.industry_avg_hazardous_kg_t
        exc = avg * h["formulation_hazardous_excellent_factor"] if avg is not None else None
        out.append(
            _ratio_row(
                "table1_hazardous_formulation",
                "制剂单位产品危险废物产生量",
                "kg/t",
                v,
                avg,
                exc,
                hw_kg * shares[Route.formulation] / 100,
                routes[Route.formulation],
                strict=True,
                note="限值：优于行业平均；先进值：优于平均 10%",
            )
        )
    if Route.synthesis in routes:
        v = per_t(solid_kg, Route.synthesis)
        out.append(
            _ratio_row(
                "table2_solid_synthesis",
                "化学合成法单位产品固体废物产生量",
                "kg/t",
                v,
                h["solid_synthesis_limit_kg_t"],
                h["solid_synthesis_excellent_kg_t"],
                solid_kg * shares[Route.synthesis] / 100,
                routes[Route.synthesis],
            )
        )
    if Route.fermentation in routes:
        v = per_t(solid_kg, Route.fermentation)
        out.append(
            _ratio_row(
                "table2_solid_fermentation",
                "微生物发酵法单位产品固体废物产生量",
                "kg/t",
                v,
                h["solid_fermentation_limit_kg_t"],
                h["solid_fermentation_excellent_kg_t"],
                solid_kg * shares[Route.fermentation] / 100,
                routes[Route.fermentation],
            )
        )
    if Route.formulation in routes:
        v = per_t(solid_kg, Route.formulation)
        out.append(
            _ratio_row(
                "table2_solid_formulation",
                "制剂单位产品固体废物产生量",
                "kg/t",
                v,
                inp.industry_avg_solid_kg_t,
                inp.industry_top20_solid_kg_t,
                solid_kg * shares[Route.formulation] / 100,
                routes[Route.formulation],
                strict=True,
                note="限值：优于行业平均；先进值：优于前 20%",
            )
        )
    return out


def _ratio_row(
    key: str,
    name: str,
    unit: str,
    value: Decimal,
    limit: Decimal | None,
    excellent: Decimal | None,
    num_kg: Decimal,
    den_t: Decimal,
    strict: bool = False,
    note: str | None = None,
) -> dict[str, Any]:
    return {
        "indicator": key,
        "name_zh": name,
        "unit": unit,
        "value": q(value, "0.001"),
        "limit": limit,
        "excellent": q(excellent, "0.001") if excellent is not None else None,
        "level": _level(value, limit, excellent, strict),
        "status": "ok" if limit is not None else "missing_input",
        "numerator_kg": kg(num_kg),
        "denominator_t": den_t,
        "note": note,
    }


def recovery_rate(x: Ctx) -> dict[str, Any]:
    """Q/CTS ZJC/T 1008-2024 §15.5: waste sent to recovery/utilisation ÷ waste generated,
    all classes (the general waste utilised outside the log included)."""
    prefixes = tuple(x.cls("utilisation_prefixes"))
    gen = sum((w.generated_kg for w in x.facts.waste), ZERO)
    rec = sum((w.completed_kg for w in x.facts.waste if w.method_code.startswith(prefixes)), ZERO)
    rec += (x.inputs.general_utilised_t_offlog or ZERO) * THOUSAND
    return {
        "numerator_kg": kg(rec),
        "denominator_kg": kg(gen),
        "rate": q(ratio(rec, gen)),
        "basis": "Q/CTS ZJC/T 1008-2024 §15.5",
    }


def veto(x: Ctx) -> list[VetoCondition]:
    left_without = 0  # a lot ships only allocated to a manifest (lot.ship requires one)
    bad = unlicensed_transfers(x)
    blocks = x.facts.open_blocking_findings
    found = {
        "left_without_manifest": VetoCondition(
            "left_without_manifest", left_without > 0, left_without, "危险废物未随联单离厂"
        ),
        "unlicensed_transfer": VetoCondition(
            "unlicensed_transfer",
            bool(bad),
            sum(t.lot_count for t in bad),
            "转移至当日许可证无效或未核准该代码的接受单位"
            + (
                "：" + "、".join(sorted({f"{t.waste_code}@{t.day}" for t in bad})[:10])
                if bad
                else ""
            ),
        ),
        "open_blocking_storage": VetoCondition(
            "open_blocking_storage", bool(blocks), len(blocks), "期末存在未解决的阻断类贮存问题"
        ),
    }
    return [found[k] for k in x.d.veto_conditions]


# ---------------------------------------------------------------- evaluate


def evaluate(
    d: Definition,
    facts: Facts,
    inputs: PeriodInputs,
    self_assessed: dict[str, Any] | None = None,
    window_hours: int | None = None,
) -> Scorecard:
    x = Ctx(d, facts, inputs, self_assessed or {}, window_hours or d.timeliness_window_hours)
    items: list[ItemResult] = []
    for item in d.items:
        results = []
        for c in item.criteria:
            fn = FORMULAS.get(c.formula)
            if fn is None:
                raise ValueError(f"definition {d.version}: unknown formula {c.formula}")
            results.append(CriterionResult(c.key, c.text, c.points, c.source, c.formula, fn(c, x)))
        score = min(item.points, sum((r.outcome.score for r in results), ZERO))
        items.append(
            ItemResult(item.no, item.key, item.section, item.name, item.points, score, results)
        )
    bonus = {s.key for s in d.sections if s.bonus}
    return Scorecard(
        definition=d,
        year=facts.year,
        items=items,
        veto=veto(x),
        raw_base=sum((i.score for i in items if i.section not in bonus), ZERO),
        raw_bonus=sum((i.score for i in items if i.section in bonus), ZERO),
        inconsistencies=d.inconsistencies(),
        management_class=management_class(x),
        hgt5902=hgt5902(x),
        recovery_rate=recovery_rate(x),
        timeliness_window_hours=x.window_hours,
    )
