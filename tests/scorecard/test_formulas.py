"""Formula tests without a database: the definition's arithmetic and inconsistency check,
steps and thresholds, the veto, HG/T 5902 levels and allocation, HJ 1259 classes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from uuid import uuid4

from app.domain.scorecard import Facts, PeriodInputs, evaluate, load_definition
from app.domain.scorecard.formulas import (
    Licence,
    TransferFigures,
    WasteFigures,
    intensity_change_pct,
    steps_below,
)

D = Decimal
DEF = load_definition()


def by_key(card):  # type: ignore[no-untyped-def]
    return {c.key: c.outcome for i in card.items for c in i.criteria}


def test_definition_totals_and_inconsistencies() -> None:
    assert (DEF.table_base, DEF.table_bonus, DEF.stated_max) == (113, 10, 110)
    assert DEF.section_sum("solid_waste") == 60 and DEF.section("solid_waste").stated_points == 50
    assert DEF.section_sum("energy") == 15  # 清洁能源 6 + 水 5 + 碳 4
    kinds = [(x.kind, x.section) for x in DEF.inconsistencies()]
    assert kinds == [
        ("section_sum", "solid_waste"),
        ("placement", "solid_waste"),
        ("table_total", None),
        ("table_max", None),
    ]
    for item in DEF.items:  # every item's criteria reach at least its points
        assert sum(c.points for c in item.criteria) >= item.points, item.key


def test_steps_and_intensity() -> None:
    assert steps_below(D(4), D(0), D(1)) == 4
    assert steps_below(D(4), D("0.5"), D(1)) == 3  # any started percent counts (ours)
    assert steps_below(D(4), D("2"), D(1)) == 2
    assert steps_below(D(4), D("9"), D(1)) == 0
    assert steps_below(D(4), D("0.04"), D("0.02")) == 2
    # 0.51 t / 1000 vs 0.5 t / 1000: +2 %
    assert intensity_change_pct(D("0.51"), D(1000), D("0.5"), D(1000)) == D(2)
    assert intensity_change_pct(D(1), D(0), D(1), D(1)) is None


def test_general_utilisation_thresholds() -> None:
    gen = WasteFigures("general", "SW59", "", "", generated_count=1, generated_kg=D(1000))
    for off_t, score in [("0.90", 4), ("0.89", 3), ("0.86", 2), ("0.80", 0), ("1.0", 4)]:
        card = evaluate(
            DEF, Facts(2026, waste=(gen,)), PeriodInputs(general_utilised_t_offlog=D(off_t))
        )
        assert by_key(card)["general_utilisation_rate"].score == score, off_t


def test_self_assessed_needs_evidence_and_items_are_capped() -> None:
    assessed = {
        "s_enzymatic": True,
        "s_cleaner_production_audit": True,
        "s_cleaner_production_level1": True,
    }
    files = {k: 1 for k in assessed}
    card = evaluate(DEF, Facts(2026, evidence=files), PeriodInputs(), assessed)
    item = next(i for i in card.items if i.key == "green_process")
    assert sum(c.outcome.score for c in item.criteria) == 5 and item.score == 4  # capped
    card = evaluate(DEF, Facts(2026), PeriodInputs(), assessed)
    assert by_key(card)["s_enzymatic"].status == "no_evidence"


def test_veto_for_an_unlicensed_transfer() -> None:
    lic = uuid4()
    shipped = TransferFigures(date(2026, 5, 1), lic, None, "900-039-49", "", 2, D(300))
    licence = Licence(lic, "L-1", date(2026, 6, 1), date(2027, 1, 1), (("HW49", ()),))
    card = evaluate(DEF, Facts(2026, transfers=(shipped,), licences={lic: licence}), PeriodInputs())
    veto = {v.key: v for v in card.veto}
    assert veto["unlicensed_transfer"].triggered and veto["unlicensed_transfer"].count == 2
    assert card.vetoed and not card.passed
    ok = Licence(lic, "L-1", date(2026, 1, 1), date(2027, 1, 1), (("HW49", ()),))
    card = evaluate(DEF, Facts(2026, transfers=(shipped,), licences={lic: ok}), PeriodInputs())
    assert not card.vetoed
    narrow = Licence(lic, "L-1", date(2026, 1, 1), date(2027, 1, 1), (("HW49", ("900-041-49",)),))
    card = evaluate(DEF, Facts(2026, transfers=(shipped,), licences={lic: narrow}), PeriodInputs())
    assert card.vetoed
    card = evaluate(DEF, Facts(2026, open_blocking_findings=("R32:x",)), PeriodInputs())
    assert card.vetoed


def test_hgt5902_levels_and_route_shares() -> None:
    hw = WasteFigures(
        "hazardous", "HW02", "271-001-02", "", generated_count=1, generated_kg=D(30000)
    )
    gw = WasteFigures("general", "SW59", "", "", generated_count=1, generated_kg=D(3_970_000))
    facts = Facts(2026, waste=(hw, gw))
    # fermentation only: 4,000,000 kg / 1000 t = 4000 kg/t -> limit (≤ 4500, > 3500)
    card = evaluate(DEF, facts, PeriodInputs(product_t={"fermentation": D(1000)}))
    rows = {r["indicator"]: r for r in card.hgt5902}
    assert rows["table2_solid_fermentation"]["value"] == D("4000.000")
    assert rows["table2_solid_fermentation"]["level"] == "limit"
    assert rows["table1_hazardous_api"]["value"] == D("30.000")
    assert rows["table1_hazardous_api"]["level"] == "excellent"
    # two routes need shares
    two = PeriodInputs(product_t={"fermentation": D(1000), "formulation": D(500)})
    assert evaluate(DEF, facts, two).hgt5902[0]["status"] == "missing_input"
    shared = PeriodInputs(
        product_t={"fermentation": D(1000), "formulation": D(500)},
        waste_share_pct={"fermentation": D(90), "formulation": D(10)},
        industry_avg_hazardous_kg_t=D(10),
        industry_avg_solid_kg_t=D(1000),
        industry_top20_solid_kg_t=D(500),
    )
    rows = {r["indicator"]: r for r in evaluate(DEF, facts, shared).hgt5902}
    # formulation: 10 % of 30,000 kg / 500 t = 6 kg/t vs average 10 -> ≤ 9 excellent
    assert rows["table1_hazardous_formulation"]["value"] == D("6.000")
    assert rows["table1_hazardous_formulation"]["level"] == "excellent"
    # 10 % of 4,000,000 kg / 500 t = 800 kg/t: better than the average 1000, not top 20 %
    assert rows["table2_solid_formulation"]["level"] == "limit"


def test_management_class() -> None:
    def cls(kg: str, site: dict[str, bool] | None = None, **inputs: object) -> str:
        w = WasteFigures("hazardous", "HW49", "900-039-49", "", 1, D(kg))
        facts = Facts(2026, waste=(w,), **(site or {}))
        return evaluate(DEF, facts, PeriodInputs(**inputs)).management_class["class"]  # type: ignore[arg-type,no-any-return]

    assert cls("9999") == "registration"
    assert cls("10000") == "simplified"
    assert cls("100000") == "key"
    assert cls("1", own_disposal_facility=True) == "key"
    assert cls("1", holds_operating_licence=True) == "key"
    # inputs left empty: the site's recorded profile decides, as it does for the declarations
    assert cls("1", {"site_own_facility": True}) == "key"
    assert cls("1", {"site_licensed": True}) == "key"
    # the year's inputs, once given, are what the manager declared for that year
    assert cls("1", {"site_own_facility": True}, own_disposal_facility=False) == "registration"
    assert cls("1", {"site_licensed": True}, holds_operating_licence=False) == "registration"


def test_management_class_takes_the_largest_of_the_last_three_years() -> None:
    """HJ 1259 §4.2.3: 8 t this year, but 120 t two years ago: still key supervision."""
    w = WasteFigures("hazardous", "HW49", "900-039-49", "", 1, D("8000"))

    def card(prior: dict[int, Decimal]) -> dict[str, object]:
        facts = Facts(2026, waste=(w,), prior_hazardous_t=prior)
        return evaluate(DEF, facts, PeriodInputs()).management_class

    key = card({2024: D("120"), 2025: D("40")})
    assert (key["class"], key["annual_t"], key["annual_t_year"]) == ("key", D("120.000"), 2024)
    assert key["hazardous_t"] == D("8.000")  # this year's own figure is still shown
    assert key["reasons"] == ["年产生量 120.000 t（2024 年，近三年最大） ≥ 100 t"]
    simplified = card({2025: D("12.5")})
    assert (simplified["class"], simplified["annual_t_year"]) == ("simplified", 2025)
    assert card({})["class"] == "registration"  # no history: this year's 8 t
