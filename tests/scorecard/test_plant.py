"""A fixture plant with a year of events (2026, on a frozen clock so recorded_at = occurred_at
unless a step says otherwise), every ratio and score worked out by hand below, checked
through `GET /api/v1/scorecard` on SQLite and PostgreSQL; the drill-down, the veto, inputs
and evidence, the reports.

The plant, site SZ01 (China time, events at 10:00):

  hazardous                         generated  label  store  manifest M1 (15 Oct)  completion
  L1 900-039-49 activated carbon    10 Feb 100  yes    yes    shipped, received     R15 (utilised)
  L2 900-039-49 activated carbon    10 Mar 100  yes    yes    shipped, received     D10 (disposed)
  L3 900-402-06 spent solvent       10 Apr 200  yes    yes    shipped, received     R2  (utilised)
  L4 900-349-34 waste acid          10 May  50  yes    yes    — (weighed 60 kg, recorded 30 h late)
  L5 900-041-49 packaging           10 Jun  50  no     no     —
  general
  G1 SW59  1000 kg  10 Feb, stored in G1
  G2 SW17   500 kg  10 Mar, not stored

Inputs: output 1000 (10⁴ CNY); base year 2025: output 1000, general 2.0 t, hazardous 0.5 t,
disposed 0.2 t; synthesis 10 t of product; 1 paper manifest; general waste utilised outside
the log 1.29 t. Self-assessed: s_compliance yes + evidence, s_discharge_permit yes without
evidence, s_renewables_pct 20 + evidence, s_trainings 3 + evidence.

By hand (item: criterion = figure -> points):
  1  s_compliance: yes + evidence -> 8
  2  not assessed -> 0
  3  s_discharge_permit: no evidence -> 0; manifest_execution 3/3 -> 2            item 2
  4  general intensity 1.5 t/1000 = 0.0015 vs 2.0/1000 = 0.002: -25 % -> 4
  5  hazardous 0.51 t/1000 = 0.00051 vs 0.0005: +2 % -> 4 - 2 = 2
  6, 7 -> 0
  8  general stored 1/2 = 50 % < 95 % -> 0; ledger 2/2 -> 2                        item 2
  9  no open blocks -> 2; facilities 1/1 anti-seepage -> 2; e-label 4/5 = 80 % -> 0  item 4
 10  no biological waste generated -> not applicable, 2
 11 -> 0
 12  plan filed + 3/3 -> 4; electronic manifests 1/(1+1) = 50 % < 80 % -> 0         item 4
 13  general utilisation (0 + 1290) / 1500 = 86 %: 4 % short, 2 steps -> 2
 14  regeneration (900-039-49): R15 100 / 200 = 50 % < 60 % -> 0; point-to-point:
     (handler, 900-402-06) by R2 = 1 case -> 2                                       item 2
 15  no residue or ash completed -> not applicable, 4
 16  400 kg shipped, licence valid for each code on 15 Oct -> 4
 17  no expired drugs / biological waste completed -> not applicable, 4
 18  disposed (D) 100 kg < base 200 kg -> 2
 19  s_renewables_pct 20 ≥ 15 + evidence -> 3; energy saving not assessed -> 0       item 3
 20-22 -> 0
 23  traced 3/3 -> 2; energy platform -> 0; timeliness (N-1)/N, one late event -> 1  item 3
 24  s_trainings 3 < 4 -> 0
 25  bonus -> 0
 base = 8+2+4+2+2+4+2+4+2+2+4+4+4+2+3+3 = 52, bonus 0, total 52 of the table's 123
 (113 + 10) against the stated 110: not passed (< 90), no veto.
 HJ 1259: 0.51 t < 10 t -> registration. HG/T 5902 (synthesis only): table 1 510 kg / 10 t =
 51 kg/t -> limit (≤ 70, > 35); table 2 (510 + 1500) / 10 = 201 kg/t -> fails (> 70).
 Q/CTS recovery: (100 R15 + 200 R2 + 1290 off-log) / 2010 = 0.7910.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import sqlalchemy as sa

from app.core.clock import FrozenClock
from app.eventstore.models import StoredEvent
from app.parties.models import HandlerLicenceRow
from tests.manifests.support import draft, ok, setup_parties, step, to_received
from tests.support.client import Api

YEAR = 2026


def at(api: Api, month: int, day: int, hour: int = 2) -> datetime:
    t = datetime(YEAR, month, day, hour, tzinfo=UTC)
    api.ctx.clock = FrozenClock(t)
    return t


def hazardous(
    api: Api,
    month: int,
    code: str,
    kg: str,
    *,
    label: bool,
    store: bool,
    name: str,
    zone: str = "A1",
) -> dict[str, Any]:
    op = api.as_("operator")
    at(api, month, 10)
    lot = op.generate(waste_code=code, weight_kg=kg, name=name)
    if label:
        lot = op.step(lot, "label")
    if store:
        lot = op.step(lot, "store", zone_id=str(api.world.zones[zone]))
    return lot


def general(api: Api, month: int, category: str, kg: str, *, store: bool) -> dict[str, Any]:
    op = api.as_("operator")
    at(api, month, 10)
    lot = op.generate(
        kind="general",
        waste_code=None,
        general_class="I",
        general_category=category,
        name="一般固废",
        weight_kg=kg,
        physical_form="solid",
        container={"type": "ton_bag", "volume_l": "1000", "material": "PP"},
        harmful_components=None,
    )
    if store:
        lot = op.step(lot, "label")
        lot = op.step(lot, "store", zone_id=str(api.world.zones["G1"]))
    return lot


def build_plant(api: Api) -> dict[str, Any]:
    at(api, 1, 5)
    parties = setup_parties(api)
    lots = {
        "L1": hazardous(api, 2, "900-039-49", "100", label=True, store=True, name="废活性炭"),
        "L2": hazardous(api, 3, "900-039-49", "100", label=True, store=True, name="废活性炭"),
        "L3": hazardous(
            api, 4, "900-402-06", "200", label=True, store=True, name="废有机溶剂", zone="A2"
        ),
        "L4": hazardous(api, 5, "900-349-34", "50", label=True, store=True, name="废酸"),
        "L5": hazardous(api, 6, "900-041-49", "50", label=False, store=False, name="废包装桶"),
        "G1": general(api, 2, "SW59", "1000", store=True),
        "G2": general(api, 3, "SW17", "500", store=False),
    }
    # L4 weighed at 60 kg on 12 May, recorded 30 h after it happened (a late sync)
    t = at(api, 5, 13, 8)
    lots["L4"] = api.as_("operator").step(
        lots["L4"], "weigh", weight_kg="60", occurred_at=(t - timedelta(hours=30)).isoformat()
    )
    at(api, 10, 15)
    m = draft(api, [lots["L1"], lots["L2"], lots["L3"]], method="D10")
    m = to_received(api, parties, m)
    at(api, 10, 20)
    methods = {"L1": "R15", "L2": "D10", "L3": "R2"}
    m = step(
        api,
        "handler",
        m,
        "dispose",
        lots=[
            {"lot_id": lots[k]["lot_id"], "method_code": v, "completed_on": str(date(YEAR, 10, 20))}
            for k, v in methods.items()
        ],
    )
    at(api, 11, 1)
    mgr = api.as_("ehs_manager")
    site = str(api.world.site_a)
    ok(
        mgr.post(
            "/api/v1/scorecard/inputs",
            {
                "event_id": str(uuid4()),
                "site_id": site,
                "year": YEAR,
                "values": {
                    "output_value_10k_cny": "1000",
                    "base_year": 2025,
                    "base_output_value_10k_cny": "1000",
                    "base_general_t": "2.0",
                    "base_hazardous_t": "0.5",
                    "base_disposed_t": "0.2",
                    "product_t": {"synthesis": "10"},
                    "paper_manifests": 1,
                    "general_utilised_t_offlog": "1.29",
                },
                "self_assessed": {
                    "s_compliance": True,
                    "s_discharge_permit": True,
                    "s_renewables_pct": "20",
                    "s_trainings": "3",
                },
            },
        )
    )
    for criterion in ("s_compliance", "s_renewables_pct", "s_trainings"):
        attach(api, criterion, f"{criterion} evidence".encode())
    return {"lots": lots, "manifest": m, "parties": parties}


def attach(api: Api, criterion: str, data: bytes, ctype: str = "application/pdf") -> Any:
    return api.as_("ehs_manager").client.post(
        "/api/v1/scorecard/evidence",
        data={
            "event_id": str(uuid4()),
            "site_id": str(api.world.site_a),
            "year": str(YEAR),
            "criterion": criterion,
        },
        files={"file": (f"{criterion}.pdf", data, ctype)},
        headers={"Authorization": f"Bearer {api.token('ehs_manager')}"},
    )


def card(api: Api, **params: Any) -> dict[str, Any]:
    q = {"year": YEAR, "site_id": str(api.world.site_a), **params}
    return ok(api.as_("ehs_manager").get("/api/v1/scorecard", params=q))


def crit(c: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {x["key"]: x for i in c["items"] for x in i["criteria"]}


def D(v: Any) -> Decimal:
    return Decimal(str(v))


def test_fixture_plant_every_ratio_and_score(api: Api) -> None:
    build_plant(api)
    c = card(api)
    k = crit(c)
    items = {i["no"]: D(i["score"]) for i in c["items"]}

    def check(key: str, score: str, num: str | None = None, den: str | None = None) -> None:
        x = k[key]
        assert D(x["score"]) == D(score), (key, x)
        if num is not None:
            assert D(x["numerator"]) == D(num), (key, x)
        if den is not None:
            assert D(x["denominator"]) == D(den), (key, x)

    check("s_compliance", "8")
    assert k["s_discharge_permit"]["status"] == "no_evidence"
    check("s_discharge_permit", "0")
    check("manifest_execution", "2", "3", "3")
    check("general_intensity", "4", "1500", "1000")
    assert D(k["general_intensity"]["value"]) == D("-25.00")
    check("hazardous_intensity", "2", "510", "1000")
    assert D(k["hazardous_intensity"]["value"]) == D("2.00")
    check("general_stored_by_class", "0", "1", "2")
    check("general_ledger_complete", "2", "2", "2")
    check("storage_no_overrides", "2")
    check("storage_facilities", "2", "1", "1")
    check("e_label_coverage", "0", "4", "5")
    assert k["s_biological_sterilised"]["status"] == "not_applicable"
    check("s_biological_sterilised", "2")
    check("plan_and_manifests", "4", "3", "3")
    check("electronic_manifest_coverage", "0", "1", "2")
    check("general_utilisation_rate", "2", "1290", "1500")
    assert k["general_utilisation_rate"]["status"] == "partial"
    check("regeneration_rate", "0", "100", "200")
    check("point_to_point_cases", "2", "1")
    check("residue_ash_share", "4")
    check("licensed_disposal", "4", "400", "400")
    check("expired_bio_incineration", "4")
    check("disposal_vs_base", "2", "100", "200")
    check("s_renewables_pct", "3")
    check("s_trainings", "0")
    check("traceability_coverage", "2", "3", "3")
    tl = k["data_timeliness"]
    n = _waste_events(api)
    assert D(tl["denominator"]) == n and D(tl["numerator"]) == n - 1 and n >= 20
    check("data_timeliness", "1")
    assert items == {
        1: 8, 2: 0, 3: 2, 4: 4, 5: 2, 6: 0, 7: 0, 8: 2, 9: 4, 10: 2, 11: 0, 12: 4, 13: 2,
        14: 2, 15: 4, 16: 4, 17: 4, 18: 2, 19: 3, 20: 0, 21: 0, 22: 0, 23: 3, 24: 0, 25: 0,
    }  # fmt: skip
    t = c["totals"]
    assert (D(t["raw_base"]), D(t["raw_bonus"]), D(t["raw_total"])) == (52, 0, 52)
    assert (D(t["table_max_base"]), D(t["table_max"]), D(t["stated_max"])) == (113, 123, 110)
    assert not t["vetoed"] and not t["passed"]
    assert c["definition"]["version"]
    assert c["management_class"]["class"] == "registration"
    hg = {r["indicator"]: r for r in c["hgt5902"]}
    assert D(hg["table1_hazardous_api"]["value"]) == D("51.000")
    assert hg["table1_hazardous_api"]["level"] == "limit"
    assert D(hg["table2_solid_synthesis"]["value"]) == D("201.000")
    assert hg["table2_solid_synthesis"]["level"] == "fails"
    assert D(c["recovery_rate"]["rate"]) == D("0.7910")
    # a wider timeliness window counts the late weighing as timely
    wide = crit(card(api, window_hours=48))["data_timeliness"]
    assert D(wide["numerator"]) == n


def _waste_events(api: Api) -> int:
    """Lot and manifest events of site A in 2026, counted from the log itself."""
    t = StoredEvent.__table__  # type: ignore[attr-defined]
    with api.ctx.db.session(write=False) as s:
        return int(
            s.execute(
                sa.select(sa.func.count()).where(
                    t.c.site_id == api.world.site_a, t.c.stream_type.in_(["lot", "manifest"])
                )
            ).scalar_one()
        )


def test_inconsistency_flag_is_shown(api: Api) -> None:
    c = card(api)
    assert c["inconsistent"] is True
    kinds = {(x["kind"], x["section"]): x for x in c["inconsistencies"]}
    sw = kinds[("section_sum", "solid_waste")]
    assert (D(sw["stated"]), D(sw["actual"])) == (50, 60)
    assert ("placement", "solid_waste") in kinds
    assert (D(kinds[("table_total", None)]["actual"]), D(kinds[("table_max", None)]["actual"])) == (
        113,
        123,
    )
    secs = {s["key"]: s for s in c["sections"]}
    assert D(secs["energy"]["items_sum"]) == 15 and D(secs["solid_waste"]["items_sum"]) == 60


def test_drilldown_lists_the_lots_behind_a_ratio(api: Api) -> None:
    plant = build_plant(api)
    url = crit(card(api))["e_label_coverage"]["lots_url"]
    page = ok(api.as_("ehs_manager").get(url))
    assert (page["numerator_lots"], page["denominator_lots"]) == (4, 5)
    outside = [x for x in page["items"] if not x["in_numerator"]]
    assert [x["lot_id"] for x in outside] == [plant["lots"]["L5"]["lot_id"]]
    events = ok(api.as_("ehs_manager").get(outside[0]["events_url"]))
    assert events
    num = ok(api.as_("ehs_manager").get(url + "&side=numerator"))
    assert num["total"] == 4 and all(x["in_numerator"] for x in num["items"])
    r = api.as_("ehs_manager").get(
        "/api/v1/scorecard/items/s_compliance/lots",
        params={"year": YEAR, "site_id": str(api.world.site_a)},
    )
    assert r.status_code == 404, r.text


def test_veto_when_the_licence_was_not_valid_on_the_day(api: Api) -> None:
    plant = build_plant(api)
    with api.ctx.db.session() as s:
        lic = HandlerLicenceRow.__table__  # type: ignore[attr-defined]
        s.execute(
            lic.update()
            .where(lic.c.id == UUID(plant["parties"].licence))
            .values(valid_from=date(YEAR, 10, 16))
        )
    c = card(api)
    veto = {v["key"]: v for v in c["veto"]}
    assert veto["unlicensed_transfer"]["triggered"] and veto["unlicensed_transfer"]["count"] == 3
    assert c["totals"]["vetoed"] and not c["totals"]["passed"]
    assert D(crit(c)["licensed_disposal"]["score"]) == 0


def test_inputs_are_events_merged_and_validated(api: Api) -> None:
    mgr = api.as_("ehs_manager")
    site = str(api.world.site_a)

    def post(**body: Any) -> Any:
        return mgr.post(
            "/api/v1/scorecard/inputs",
            {"event_id": str(uuid4()), "site_id": site, "year": YEAR, **body},
        )

    ok(post(values={"output_value_10k_cny": "1000"}))
    got = ok(post(values={"paper_manifests": 2}, self_assessed={"s_site_tidy": True}))
    # the second entry merged over the first, field by field
    assert (got["values"]["output_value_10k_cny"], got["values"]["paper_manifests"]) == ("1000", 2)
    assert got["entries"] == 2 and got["self_assessed"] == {"s_site_tidy": True}
    assert post(values={"output_value_10k_cny": "-1"}).status_code == 422
    assert post(values={"nonsense": 1}).status_code == 422
    assert post(self_assessed={"e_label_coverage": True}).status_code == 422
    assert post(self_assessed={"s_unknown": True}).status_code == 422
    r = api.as_("operator").post(
        "/api/v1/scorecard/inputs",
        {"event_id": str(uuid4()), "site_id": site, "year": YEAR, "values": {}},
    )
    assert r.status_code == 403
    with api.ctx.db.session(write=False) as s:
        types = (
            s.execute(
                sa.text(
                    "SELECT type FROM stored_event WHERE stream_type = 'scorecard' ORDER BY position"
                )
            )
            .scalars()
            .all()
        )
    assert types == ["scorecard.inputs_recorded"] * 2


def test_evidence_is_stored_by_hash_downloadable_and_limited(api: Api) -> None:
    r = attach(api, "s_compliance", b"%PDF-1.4 licence scan")
    assert r.status_code == 201, r.text
    ev = r.json()
    got = api.as_("auditor").get(ev["download_url"])
    assert got.status_code == 200 and got.content == b"%PDF-1.4 licence scan"
    assert (api.ctx.settings.var_dir / "evidence" / ev["sha256"][:2] / ev["sha256"]).exists()
    assert attach(api, "s_compliance", b"x", ctype="application/x-msdownload").status_code == 422
    assert attach(api, "no_such", b"x").status_code == 422
    assert attach(api, "s_compliance", b"").status_code == 422
    inputs = ok(
        api.as_("ehs_manager").get(
            "/api/v1/scorecard/inputs", params={"year": YEAR, "site_id": str(api.world.site_a)}
        )
    )
    assert [e["sha256"] for e in inputs["evidence"]] == [ev["sha256"]]


def test_reports_pdf_and_xlsx(api: Api) -> None:
    build_plant(api)
    q = {"year": YEAR, "site_id": str(api.world.site_a)}
    pdf = api.as_("auditor").get("/api/v1/scorecard/report.pdf", params=q)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    xl = api.as_("auditor").get("/api/v1/scorecard/report.xlsx", params=q)
    assert xl.status_code == 200 and xl.content[:2] == b"PK"


def test_scope_and_site_required(api: Api) -> None:
    assert api.as_("ehs_manager").get("/api/v1/scorecard", params={"year": YEAR}).status_code == 422
    # the auditor sees site A only: site B is not found, and site A is the default
    assert api.as_("auditor").get("/api/v1/scorecard", params={"year": YEAR}).status_code == 200
    r = api.as_("auditor").get(
        "/api/v1/scorecard", params={"year": YEAR, "site_id": str(api.world.site_b)}
    )
    assert r.status_code == 404
    assert api.as_("operator").get("/api/v1/scorecard", params={"year": YEAR}).status_code == 403


def test_aggregates_inline_equal_replay(api: Api) -> None:
    from app.projections.base import rebuild
    from app.projections.scorecard import (
        EventDelayMonthRow,
        ManifestMonthRow,
        ScorecardEvidenceRow,
        ScorecardInputRow,
        WasteMonthRow,
        WasteTransferDayRow,
    )

    build_plant(api)
    models = [
        WasteMonthRow,
        WasteTransferDayRow,
        EventDelayMonthRow,
        ManifestMonthRow,
        ScorecardInputRow,
        ScorecardEvidenceRow,
    ]

    def snapshot() -> dict[str, list[tuple[Any, ...]]]:
        out = {}
        with api.ctx.db.session(write=False) as s:
            for m in models:
                t = m.__table__  # type: ignore[attr-defined]
                cols = [c for c in t.c if c.name != "updated_at"]
                out[t.name] = sorted(
                    tuple(str(v) for v in r) for r in s.execute(sa.select(*cols)).all()
                )
        return out

    before = snapshot()
    assert before["rm_waste_month"] and before["rm_event_delay_month"]
    with api.ctx.db.session() as s:
        rebuild(s)
    assert snapshot() == before
    assert card(api)["totals"]["raw_total"] == "52"
