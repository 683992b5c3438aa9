"""The 豁免管理清单 #24 exemption (R61) through the API, on SQLite and PostgreSQL: 900-041-49
rags collected unsorted with household waste raise no unlabelled or storage alert, are in
neither the HJ 1259 ledger nor the declaration, and leave with the household waste
(`POST /api/v1/lots/{id}/discard`); the same rags segregated, or stored in a zone after all,
are hazardous waste like any other and cannot be discarded."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import uuid4

import openpyxl
import sqlalchemy as sa

from app.alerts import service as alert_service
from app.audit import jobs as audit_jobs
from app.domain.values import china_date
from app.migrate import downgrade, upgrade
from app.projections.base import rebuild
from app.projections.lots import LotRow
from app.projections.scorecard import WasteMonthRow
from tests.support.client import Api

NOW = datetime.now(UTC)
TODAY = china_date(NOW)
RAGS = {
    "waste_code": "900-041-49",
    "container": {"type": "bag", "volume_l": "50", "material": "PE"},
    "weight_kg": "12.6",
    "main_components": "棉纱、矿物油",
    "harmful_components": "矿物油",
    "precautions": "远离火源",
}


def rags(api: Api, name: str, unsorted: bool, days_ago: float = 2) -> dict[str, Any]:
    r = api.as_("operator").post(
        "/api/v1/lots",
        {
            "event_id": str(uuid4()),
            "site_id": str(api.world.site_a),
            "kind": "hazardous",
            "name": name,
            "physical_form": "solid",
            "collected_unsorted": unsorted,
            "occurred_at": (NOW - timedelta(days=days_ago)).isoformat(),
            **RAGS,
        },
    )
    assert r.status_code == 201, r.text
    [r61] = [f for f in r.json()["event"]["findings"] if f["rule_id"] == "R61"] or [None]
    assert (r61 is not None) is unsorted
    return r.json()["lot"]  # type: ignore[no-any-return]


def discard(api: Api, lot: dict[str, Any], **kw: Any) -> Any:
    body = {"discarded_on": str(TODAY), "note": "随生活垃圾清运", **kw}
    return api.as_("operator").act(lot, "discard", **body)


def events_of(api: Api, lot: dict[str, Any]) -> list[str]:
    r = api.as_("auditor").get(f"/api/v1/lots/{lot['lot_id']}/events")
    return [e["type"] for e in r.json()]


def _rm_lot(api: Api) -> list[tuple[Any, ...]]:
    with api.ctx.db.session(write=False) as s:
        t = LotRow.__table__  # type: ignore[attr-defined]
        return [tuple(r) for r in s.execute(sa.select(t).order_by(t.c.lot_id)).all()]


def ledger_names(api: Api) -> list[str]:
    """The lot names on the ledger's generation sheet for the last week."""
    q = {
        "from": str(TODAY - timedelta(days=7)),
        "to": str(TODAY),
        "site_id": str(api.world.site_a),
    }
    r = api.as_("auditor").get("/api/v1/exports/ledger.xlsx", params=q)
    assert r.status_code == 200, r.text
    sheet = openpyxl.load_workbook(io.BytesIO(r.content), read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    return [str(c) for row in rows[1:] for c in row if isinstance(c, str) and "抹布" in c]


def test_exempt_rags_are_not_managed_as_hazardous_waste_and_leave_with_household_waste(
    api: Api,
) -> None:
    exempt = rags(api, "含油抹布（混入生活垃圾）", unsorted=True)
    kept = rags(api, "含油抹布（分类收集）", unsorted=False)
    assert (exempt["exempt"], exempt["storage_limit_from"], exempt["storage_limit_on"]) == (
        True,
        None,
        None,
    )
    assert kept["exempt"] is False and kept["storage_limit_from"] is not None

    # two days unlabelled: the segregated rags raise R09, the exempt ones nothing
    with api.ctx.db.session() as s:
        alert_service.sweep(session=s, ctx=api.ctx)
    alerts = api.as_("ehs_manager").get("/api/v1/alerts").json()["items"]
    flagged = {lot_id for a in alerts for lot_id in a["lot_ids"]}
    assert kept["lot_id"] in flagged and exempt["lot_id"] not in flagged

    # the HJ 1259 ledger and the declaration hold only the segregated rags
    assert ledger_names(api) == ["含油抹布（分类收集）"]
    r = api.as_("auditor").get(
        "/api/v1/exports/declaration",
        params={"site_id": str(api.world.site_a), "period": str(TODAY.year)},
    )
    assert r.status_code == 200, r.text
    [line] = [x for x in r.json()["lines"] if x["waste_code"] == "900-041-49"]
    assert line["generated_t"] == "0.013"  # 12.6 kg: one lot of two

    # the exempt rags go out with the household waste; the replay answers the same
    body = {"discarded_on": str(TODAY), "note": "随生活垃圾清运"}
    first = api.as_("operator").act(exempt, "discard", **body)
    assert first.status_code == 200, first.text
    gone = first.json()["lot"]
    assert (gone["status"], gone["completed_on"]) == ("discarded", str(TODAY))
    assert first.json()["event"]["type"] == "lot.discarded"
    again = api.as_("operator").post(
        f"/api/v1/lots/{exempt['lot_id']}/discard",
        {
            "event_id": first.json()["event"]["event_id"],
            "expected_version": exempt["version"],
            **body,
        },
    )
    assert again.status_code == 200 and again.json() == first.json()
    assert events_of(api, exempt) == ["lot.generated", "lot.discarded"]
    # once gone, it is gone
    r = discard(api, gone)
    assert r.status_code == 409 and r.json()["error"] == "invalid_transition", r.text

    # the segregated rags are hazardous waste: refused, citing R61, nothing written
    r = discard(api, kept)
    assert r.status_code == 422, r.text
    assert "豁免管理清单 #24" in r.json()["detail"] and r.json()["rule_id"] == "R61"
    assert events_of(api, kept) == ["lot.generated"]

    # the log verifies and a replay rebuilds the same read model
    report, _ = audit_jobs.verify(api.ctx, workers=1)
    assert report.ok, report.summary()
    inline = _rm_lot(api)
    with api.ctx.db.session() as s:
        rebuild(s)
    assert _rm_lot(api) == inline


def test_stored_in_a_zone_the_rags_are_hazardous_waste_again(api: Api) -> None:
    op = api.as_("operator")
    lot = op.step(rags(api, "含油抹布（入库）", unsorted=True, days_ago=1), "label")
    assert lot["exempt"] is True
    r = op.act(lot, "store", zone_id=str(api.world.zones["A1"]))
    assert r.status_code == 200, r.text
    [warning] = [f for f in r.json()["event"]["findings"] if f["rule_id"] == "R61"]
    assert warning["severity"] == "warn" and "按危险废物管理" in warning["message_zh"]
    stored = r.json()["lot"]
    assert stored["exempt"] is False
    # the generator's one-year limit runs from generation, as for any of its hazardous lots
    assert stored["storage_limit_from"] == lot["generated_at"]
    assert ledger_names(api) == ["含油抹布（入库）"]
    r = discard(api, stored)
    assert r.status_code == 422 and r.json()["rule_id"] == "R61", r.text


def test_the_discard_date_is_checked_and_roles_are_enforced(api: Api) -> None:
    lot = rags(api, "含油抹布", unsorted=True)
    r = discard(api, lot, discarded_on=str(TODAY + timedelta(days=1)))
    assert r.status_code == 422 and "future" in r.json()["detail"], r.text
    r = discard(api, lot, discarded_on=str(TODAY - timedelta(days=30)))
    assert r.status_code == 422 and "before the lot was generated" in r.json()["detail"]
    r = api.as_("auditor").act(lot, "discard", discarded_on=str(TODAY))
    assert r.status_code == 403, r.text
    stale = {**lot, "version": lot["version"] + 1}
    r = discard(api, stale)
    assert r.status_code == 409 and r.json()["error"] == "concurrency_conflict", r.text
    assert events_of(api, lot) == ["lot.generated"]


def test_the_migration_fills_the_exemption_from_the_log(api: Api) -> None:
    """Exempt (never stored), discarded, stored after all, segregated: the migration that
    adds `rm_lot.exempt` marks the lots as the projector does."""
    op = api.as_("operator")
    op.step(rags(api, "含油抹布 1", unsorted=True), "weigh", weight_kg="15")
    discard(api, rags(api, "含油抹布 2", unsorted=True))
    stored = op.step(rags(api, "含油抹布 3", unsorted=True), "label")
    op.step(stored, "store", zone_id=str(api.world.zones["A1"]))
    rags(api, "含油抹布 4", unsorted=False)
    inline, months = _rm_lot(api), _waste_months(api)
    assert [r.exempt for r in _rows(api)] == [True, True, False, False]
    assert sum(r.exempt_count for r in months) == 2
    assert sum(r.exempt_kg for r in months) == Decimal("27.6")  # 15 (weighed) + 12.6

    downgrade(api.url, "a9d4c2e7f615")  # before rm_lot.exempt and both its counters
    upgrade(api.url)
    assert (_rm_lot(api), _waste_months(api)) == (inline, months)


def _waste_months(api: Api) -> list[Any]:
    with api.ctx.db.session(write=False) as s:
        t = WasteMonthRow.__table__  # type: ignore[attr-defined]
        return list(s.execute(sa.select(t).order_by(*t.primary_key.columns)).all())


def test_e_label_coverage_leaves_out_the_exempt(api: Api) -> None:
    """Of four hazardous lots generated this year: rags labelled and stored (covered), exempt
    rags (need no label: out), exempt rags labelled and then stored (segregated, covered),
    and rags not yet labelled (not covered): 2 of 3."""
    op = api.as_("operator")
    a1 = str(api.world.zones["A1"])
    op.step(
        op.step(rags(api, "含油抹布 甲", unsorted=False, days_ago=0), "label"), "store", zone_id=a1
    )
    rags(api, "含油抹布 乙", unsorted=True, days_ago=0)
    op.step(
        op.step(rags(api, "含油抹布 丙", unsorted=True, days_ago=0), "label"), "store", zone_id=a1
    )
    rags(api, "含油抹布 丁", unsorted=False, days_ago=0)
    q = {"year": TODAY.year, "site_id": str(api.world.site_a)}
    card = api.as_("ehs_manager").get("/api/v1/scorecard", params=q).json()
    [cov] = [x for i in card["items"] for x in i["criteria"] if x["key"] == "e_label_coverage"]
    assert (cov["numerator"], cov["denominator"]) == ("2", "3"), cov
    page = api.as_("ehs_manager").get(cov["lots_url"]).json()
    assert (page["numerator_lots"], page["denominator_lots"]) == (2, 3)
    names = {x["name"] for x in page["items"]}
    assert "含油抹布 乙" not in names and len(names) == 3
    # a replay of the log counts the same
    months = _waste_months(api)
    with api.ctx.db.session() as s:
        rebuild(s)
    assert _waste_months(api) == months


def _rows(api: Api) -> list[Any]:
    with api.ctx.db.session(write=False) as s:
        t = LotRow.__table__  # type: ignore[attr-defined]
        return list(s.execute(sa.select(t.c.name, t.c.exempt).order_by(t.c.name)).all())


def test_the_scorecards_hazardous_figures_leave_out_the_exempt_as_the_declaration_does(
    api: Api,
) -> None:
    """Exempt rags (12.6 kg, weighed again at 20 kg) and the same rags segregated and stored
    (12.6 kg): the declaration counts 12.6 kg of hazardous waste generated, and so do the
    scorecard's generation intensity, its HJ 1259 class and HG/T 5902's hazardous kg per
    tonne; HG/T 5902's solid waste counts both (32.6 kg: the exempt are solid waste)."""
    op = api.as_("operator")
    exempt = op.step(
        rags(api, "含油抹布（豁免）", unsorted=True, days_ago=0), "weigh", weight_kg="20"
    )
    assert exempt["exempt"] is True
    kept = op.step(rags(api, "含油抹布（分类）", unsorted=False, days_ago=0), "label")
    op.step(kept, "store", zone_id=str(api.world.zones["A1"]))
    site, year = str(api.world.site_a), TODAY.year
    manager = api.as_("ehs_manager")
    r = manager.post(
        "/api/v1/scorecard/inputs",
        {
            "event_id": str(uuid4()),
            "site_id": site,
            "year": year,
            "values": {
                "output_value_10k_cny": "100",
                "base_output_value_10k_cny": "100",
                "base_hazardous_t": "1",
                "product_t": {"synthesis": "2"},
            },
        },
    )
    assert r.status_code in (200, 201), r.text
    card = manager.get("/api/v1/scorecard", params={"year": year, "site_id": site}).json()
    [gen] = [x for i in card["items"] for x in i["criteria"] if x["key"] == "hazardous_intensity"]
    assert gen["numerator"] == "12.600", gen
    assert card["management_class"]["hazardous_t"] == "0.013", card["management_class"]
    by = {x["indicator"]: x["value"] for x in card["hgt5902"]}
    assert by == {"table1_hazardous_api": "6.300", "table2_solid_synthesis": "16.300"}, by
    page = manager.get(gen["lots_url"]).json()
    assert {x["name"] for x in page["items"]} == {"含油抹布（分类）"}
    r = api.as_("auditor").get(
        "/api/v1/exports/declaration", params={"site_id": site, "period": str(year)}
    )
    assert r.status_code == 200, r.text
    [line] = r.json()["lines"]
    assert line["generated_t"] == "0.013", line  # 12.6 kg, as the scorecard
    # a replay of the log counts the same
    months = _waste_months(api)
    with api.ctx.db.session() as s:
        rebuild(s)
    assert _waste_months(api) == months
