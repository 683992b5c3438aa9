"""Storage-duration rules (固废法 Art. 81, GB 18597 8.2.2 / 8.3.5) on a frozen clock, and the
labelling rules (HJ 1276)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.domain.lot import LotStatus
from app.domain.rules.base import Severity, SiteProfile, Step
from app.domain.values import WasteKind, china_date
from tests.domain.rules.support import NOW, SITE, findings_of, lot, situation, zone


def aged(days: float, **kw: object) -> object:
    return lot(generated_at=NOW - timedelta(days=days), stored_at=NOW - timedelta(days=days), **kw)


OPERATOR = SiteProfile(site_id=SITE, province_code="32", licensed_operator=True)
GENERATOR = SiteProfile(site_id=SITE, province_code="32")
STRICT_PROVINCE = SiteProfile(site_id=SITE, province_code="33")  # profile: block


@pytest.mark.parametrize(
    ("site", "days", "rule", "expected"),
    [
        (OPERATOR, 299.9, "R32", []),
        (OPERATOR, 300, "R32", [Severity.warn]),  # warn from day 300
        (OPERATOR, 364.9, "R32", [Severity.warn]),
        (OPERATOR, 365, "R32", [Severity.warn]),  # at the limit: not past it yet
        (OPERATOR, 365.001, "R32", [Severity.block]),  # past it (> 365 d)
        (GENERATOR, 366, "R32", []),  # R32 is for licence holders
        (GENERATOR, 300, "R33", [Severity.warn]),
        (GENERATOR, 366, "R33", [Severity.warn]),  # generators: warn by default
        (STRICT_PROVINCE, 365, "R33", [Severity.warn]),
        (STRICT_PROVINCE, 365.001, "R33", [Severity.block]),  # a province profile may block
        (OPERATOR, 366, "R33", []),
    ],
)
def test_one_year_limit(
    site: SiteProfile, days: float, rule: str, expected: list[Severity]
) -> None:
    s = situation(Step.storage_duration, the_lot=aged(days), site=site)  # type: ignore[arg-type]
    found = findings_of(s, rule)
    assert [f.severity for f in found] == expected
    if found:
        assert found[0].citation["document"] == "固废法 (2020)"
        assert found[0].values["due"] == str(
            china_date(NOW - timedelta(days=days) + timedelta(days=365))
        )


@pytest.mark.parametrize(
    ("site", "kind", "expected"),
    [
        (GENERATOR, "hazardous", [("R33", Severity.warn, 320)]),  # from generation
        (OPERATOR, "hazardous", []),  # from storage-in: 10 days
        (GENERATOR, "general", []),  # no one-year limit for general waste
        (OPERATOR, "general", []),
    ],
)
def test_the_year_counts_from_generation_at_a_generator_and_storage_at_a_licence_holder(
    site: SiteProfile, kind: str, expected: list[tuple[str, Severity, int]]
) -> None:
    """Regulations.md §10: R32 `now − stored_at`, R33 `now − generated_at`."""
    general = dict(
        kind=WasteKind.general, category="SW13", waste_code=None, hazard_characteristics=()
    )
    kept = lot(
        generated_at=NOW - timedelta(days=320),
        stored_at=NOW - timedelta(days=10),
        status=LotStatus.stored,
        **(general if kind == "general" else {}),
    )
    s = situation(Step.storage_duration, the_lot=kept, site=site)
    found = findings_of(s, "R32") + findings_of(s, "R33")
    assert [(f.rule_id, f.severity, f.values["age_days"]) for f in found] == expected
    if found:
        assert found[0].message_zh.startswith("已贮存 320 天")


def test_the_province_profile_can_come_from_data() -> None:
    from app.domain.rules.data import load_rule_data

    data = load_rule_data().with_overrides(generator={"one_year_severity": "block"})
    s = situation(Step.storage_duration, the_lot=aged(400), site=GENERATOR, data=data)  # type: ignore[arg-type]
    # Province 32 has no profile: the rule set's own default applies, here raised to block.
    assert [f.severity for f in findings_of(s, "R33")] == [Severity.block]


def test_past_limit_blocks_a_move_at_a_licensed_operator() -> None:
    s = situation(Step.storage_in, the_lot=aged(400), site=OPERATOR, zone=zone())  # type: ignore[arg-type]
    assert [f.severity for f in findings_of(s, "R32")] == [Severity.block]


@pytest.mark.parametrize(("days", "warned"), [(90, False), (91, True)])
def test_r34_storage_spot_clearance(days: int, warned: bool) -> None:
    s = situation(
        Step.storage_duration, the_lot=aged(days), zone=zone(facility_type="storage_spot")
    )  # type: ignore[arg-type]
    assert bool(findings_of(s, "R34")) is warned
    site = SiteProfile(site_id=SITE, province_code="32", spot_max_days=30)
    s = situation(
        Step.storage_duration,
        the_lot=aged(31),
        site=site,  # type: ignore[arg-type]
        zone=zone(facility_type="storage_spot"),
    )
    assert findings_of(s, "R34")[0].values["limit_days"] == 30


@pytest.mark.parametrize(
    ("last", "interval", "warned"),
    [(None, None, True), (7, None, False), (7.01, None, True), (20, 30, False), (31, 30, True)],
)
def test_r35_zone_inspections(last: float | None, interval: int | None, warned: bool) -> None:
    z = zone(inspection_interval_days=interval)
    s = situation(
        Step.storage_duration,
        the_lot=None,
        zone=z,
        last_zone_inspection=NOW - timedelta(days=last) if last is not None else None,
    )
    s = s.__class__(**{**s.__dict__, "lot": None})
    found = findings_of(s, "R35")
    assert bool(found) is warned
    if warned:
        assert found[0].citation["clause"] == "8.2.2"


FULL_LABEL = {
    "name": "废酸",
    "category": "HW34",
    "code": "900-349-34",
    "form": "液态",
    "hazards": ["C", "T"],
    "main_components": "硫酸",
    "harmful_components": "硫酸",
    "precautions": "防腐蚀",
    "digital_id": "X" * 37,
    "unit": "某公司",
    "contact": "王敏",
    "phone": "0512",
    "date": "2026-06-01",
    "weight": "180",
}


def test_r10_every_label_field() -> None:
    s = situation(Step.labelling, label_fields=FULL_LABEL)
    assert findings_of(s, "R10") == []
    partial = {**FULL_LABEL, "precautions": "", "phone": None}
    f = findings_of(situation(Step.labelling, label_fields=partial), "R10")
    assert f[0].severity is Severity.block and f[0].values["missing"] == ["precautions", "phone"]
    assert "注意事项" in f[0].message_zh
    assert f[0].citation["document"].startswith("HJ 1276")


def test_r10_warns_when_even_the_largest_label_cuts_a_field() -> None:
    cut = situation(Step.labelling, label_fields={**FULL_LABEL, "cut": ["remarks", "precautions"]})
    (f,) = findings_of(cut, "R10")
    assert f.severity is Severity.warn and f.values["cut"] == ["remarks", "precautions"]
    assert "备注、注意事项" in f.message_zh and "200 mm" in f.message_en
    assert f.citation["document"].startswith("HJ 1276") and f.citation["clause"]
    assert (
        findings_of(situation(Step.labelling, label_fields={**FULL_LABEL, "cut": []}), "R10") == []
    )


def test_r10_warns_when_the_font_cannot_draw_a_character() -> None:
    fields = {**FULL_LABEL, "unprintable": {"name": "🧪𠀀", "contact": "𪚥"}}
    (f,) = findings_of(situation(Step.labelling, label_fields=fields), "R10")
    assert f.severity is Severity.warn and f.values["unprintable"] == fields["unprintable"]
    assert "废物名称（🧪𠀀）" in f.message_zh and "印为□" in f.message_zh
    assert "name (🧪𠀀)" in f.message_en
    blank = {**FULL_LABEL, "unprintable": {}}
    assert findings_of(situation(Step.labelling, label_fields=blank), "R10") == []


def test_r11_digital_id_length_and_uniqueness() -> None:
    assert findings_of(situation(Step.labelling, label_fields=FULL_LABEL), "R11") == []
    short = situation(Step.labelling, the_lot=lot(digital_id="X" * 36), label_fields=FULL_LABEL)
    assert findings_of(short, "R11")[0].values["digital_id"] == "X" * 36
    taken = situation(Step.labelling, label_fields=FULL_LABEL, digital_id_taken=True)
    assert "already carried" in findings_of(taken, "R11")[0].message_en


def test_every_rule_has_a_citation_and_both_languages() -> None:
    from app.domain.rules.registry import all_rules

    rules = all_rules()
    required = {
        "R01",
        "R02",
        "R04",
        "R09",
        "R10",
        "R11",
        "R16",
        "R17",
        "R18",
        "R19",
        "R20",
        "R23",
        "R24",
        "R25",
        "R26",
        "R27",
        "R28",
        "R29",
        "R30",
        "R32",
        "R33",
        "R34",
        "R35",
        "R61",
        "R63",
    }
    assert required <= {r.id for r in rules}
    for r in rules:
        assert r.citation.document and r.citation.clause and r.title_zh and r.title_en
        assert r.steps
