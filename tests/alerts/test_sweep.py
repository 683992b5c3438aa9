"""The storage sweep on a frozen clock: alerts raised before and at the limits, cleared when
the condition goes away, each with the lots behind it; a second sweep raises nothing new."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

from app.alerts import service as alert_service
from app.core.clock import FrozenClock
from tests.support.client import Api

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(days=400)


def at(api: Api, days: float) -> Any:
    api.ctx.clock = FrozenClock(T0 + timedelta(days=days))
    with api.ctx.db.session() as s:
        return alert_service.sweep(session=s, ctx=api.ctx)


def open_alerts(api: Api, **params: Any) -> list[dict[str, Any]]:
    r = api.as_("ehs_manager").get("/api/v1/alerts", params=params)
    assert r.status_code == 200, r.text
    return r.json()["items"]


def keys(api: Api, rule: str) -> set[str]:
    return {a["key"].split(":")[1] for a in open_alerts(api) if a["rule_id"] == rule}


def test_storage_time_alerts_before_and_at_the_one_year_limit(api: Api) -> None:
    op = api.as_("operator")
    lot = op.step(
        op.step(
            op.generate(occurred_at=T0.isoformat()),
            "label",
            occurred_at=(T0 + timedelta(hours=1)).isoformat(),
        ),
        "store",
        zone_id=str(api.world.zones["A1"]),
        occurred_at=(T0 + timedelta(hours=2)).isoformat(),
    )
    assert at(api, 299).raised >= 1  # zones never inspected: R35 only
    assert keys(api, "R33") == set()
    first = at(api, 300)
    assert first.raised == 1 and keys(api, "R33") == {"due"}
    alert = next(a for a in open_alerts(api) if a["rule_id"] == "R33")
    assert alert["lot_ids"] == [lot["lot_id"]] and alert["severity"] == "warn"
    assert alert["citation"]["document"] == "固废法 (2020)"
    assert "一年贮存期限" in alert["message_zh"]
    assert at(api, 300.5).raised == 0  # the same conditions raise nothing new
    past = at(api, 366)
    assert past.raised == 1 and past.cleared == 1 and keys(api, "R33") == {"past"}
    # The plant turns out to hold an operating licence: R32 blocks instead.
    r = api.patch(f"/api/v1/sites/{api.world.site_a}", {"licensed_operator": True})
    assert r.status_code == 200 and r.json()["licensed_operator"] is True, r.text
    at(api, 366.1)

    assert keys(api, "R32") == {"past"} and keys(api, "R33") == set()
    assert next(a for a in open_alerts(api) if a["rule_id"] == "R32")["severity"] == "block"
    history = api.as_("ehs_manager").get("/api/v1/alerts", params={"include_cleared": True})
    assert history.json()["total"] > len(open_alerts(api))


def test_inspection_overdue_is_cleared_by_an_inspection(api: Api) -> None:
    a1 = str(api.world.zones["A1"])
    at(api, 400)
    assert any(a["zone_id"] == a1 and a["rule_id"] == "R35" for a in open_alerts(api))
    r = api.as_("operator").post(
        f"/api/v1/zones/{a1}/inspections", {"event_id": str(uuid4()), "items": []}
    )
    assert r.status_code == 201
    assert at(api, 400.01).cleared >= 1
    assert not any(a["zone_id"] == a1 and a["rule_id"] == "R35" for a in open_alerts(api))
    at(api, 407.5)  # a week later it is due again
    assert any(a["zone_id"] == a1 and a["rule_id"] == "R35" for a in open_alerts(api))


def test_unlabelled_lots_repacks_and_full_zones(api: Api) -> None:
    op = api.as_("operator")
    lot = op.generate(occurred_at=T0.isoformat())
    at(api, 0.5)
    assert keys(api, "R09") == set()  # within 24 hours
    at(api, 1.01)
    assert keys(api, "R09") == {"unlabelled"}
    at(api, 1.02)
    lot = op.step(lot, "label", occurred_at=(T0 + timedelta(days=1.02)).isoformat())
    at(api, 1.03)
    assert keys(api, "R09") == set()
    mgr = api.as_("ehs_manager")
    a2 = str(api.world.zones["A2"])
    mgr.patch(
        f"/api/v1/zones/{a2}",
        {"event_id": str(uuid4()), "expected_version": 1, "capacity_kg": "130"},
    )
    at(api, 1.05)
    lot = op.step(lot, "store", zone_id=a2, occurred_at=(T0 + timedelta(days=1.04)).isoformat())
    op.step(
        lot, "inspect", condition="damaged", occurred_at=(T0 + timedelta(days=1.05)).isoformat()
    )
    at(api, 1.06)
    kinds = {a["kind"] for a in open_alerts(api) if a["zone_id"] == a2}
    assert {"zone_capacity", "needs_repack"} <= kinds  # 125.5 kg of 130 kg: 97 %
    # the lots behind each: the lot's alert names it, the zone's lists the zone's lots
    repack = next(a for a in open_alerts(api) if a["kind"] == "needs_repack")
    assert repack["lot_ids"] == [lot["lot_id"]] and repack["lots_url"] is None
    full = next(a for a in open_alerts(api) if a["kind"] == "zone_capacity")
    assert full["lots_url"] == f"/api/v1/lots?zone_id={a2}"
    behind = mgr.get(full["lots_url"]).json()["items"]
    assert [x["lot_id"] for x in behind] == [lot["lot_id"]]


def test_alerts_are_scoped_by_site_and_role(api: Api) -> None:
    op_b = api.as_("operator_b")
    op_b.generate(site=api.world.site_b, occurred_at=T0.isoformat())
    at(api, 2)
    sites_a = {a["site_id"] for a in api.as_("operator").get("/api/v1/alerts").json()["items"]}
    assert sites_a == {str(api.world.site_a)}
    assert any(a["rule_id"] == "R09" for a in op_b.get("/api/v1/alerts").json()["items"])
    assert api.as_("operator").post("/api/v1/alerts/sweep").status_code == 403
    r = api.as_("ehs_manager").post("/api/v1/alerts/sweep")
    assert r.status_code == 200 and r.json()["raised"] == 0
