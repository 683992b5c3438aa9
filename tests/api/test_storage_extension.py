"""Storage extension (延期贮存批准, 固废法 Art. 81 ¶3) through the API, on SQLite and PostgreSQL:
a licence holder's lot past a year is blocked by R32 until an EHS manager records the approval,
and again once it runs out; replay, stale versions, roles, the alerts, the chain and a rebuild."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import sqlalchemy as sa

from app.alerts import service as alert_service
from app.audit import jobs as audit_jobs
from app.domain.values import china_date
from app.projections.base import rebuild
from app.projections.lots import LotRow
from tests.support.client import Api

NOW = datetime.now(UTC)
TODAY = china_date(NOW)
APPROVAL = "苏环危延〔2026〕12号"


def stored_since(api: Api, days: int, site_b: bool = False) -> dict[str, Any]:
    """A lot stored in A1 (B1) `days` ago, generated and labelled the days before."""
    op = api.as_("operator_b" if site_b else "operator")
    w = api.world

    def ago(d: float) -> str:
        return (NOW - timedelta(days=d)).isoformat()

    lot = op.generate(site=w.site_b if site_b else w.site_a, occurred_at=ago(days + 2))
    lot = op.step(lot, "label", occurred_at=ago(days + 1))
    zone = w.zones["B1" if site_b else "A1"]
    return op.step(lot, "store", zone_id=str(zone), occurred_at=ago(days))


def licensed(api: Api) -> None:
    r = api.as_("admin").patch(f"/api/v1/sites/{api.world.site_a}", {"licensed_operator": True})
    assert r.status_code == 200 and r.json()["licensed_operator"] is True, r.text


def extension(lot: dict[str, Any], **kw: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "event_id": str(uuid4()),
        "expected_version": lot["version"],
        "approval_no": APPROVAL,
        "authority": "苏州市生态环境局",
        "approved_on": str(TODAY - timedelta(days=5)),
        "extended_until": str(TODAY + timedelta(days=90)),
        "note": "处置单位停炉检修",
    }
    body.update(kw)
    return body


def url(lot: dict[str, Any]) -> str:
    return f"/api/v1/lots/{lot['lot_id']}/storage-extension"


def _rm_lot(api: Api) -> list[tuple[Any, ...]]:
    with api.ctx.db.session(write=False) as s:
        t = LotRow.__table__  # type: ignore[attr-defined]
        return [tuple(r) for r in s.execute(sa.select(t).order_by(t.c.lot_id)).all()]


def test_a_licence_holder_stores_past_a_year_only_under_an_approval(api: Api) -> None:
    licensed(api)
    op, mgr = api.as_("operator"), api.as_("ehs_manager")
    a2 = str(api.world.zones["A2"])
    lot = stored_since(api, 366)
    assert (lot["storage_extended_until"], lot["storage_extension_approval_no"]) == (None, None)

    # day 366 without an approval: R32 blocks the move, citing its clause
    r = op.act(lot, "move", zone_id=a2)
    assert r.status_code == 422, r.text
    [f] = [v for v in r.json()["violations"] if v["rule_id"] == "R32"]
    assert f["severity"] == "block"
    assert f["citation"] == {
        "document": "固废法 (2020)",
        "clause": "Art. 81 ¶3",
        "confidence": "TEXT",
    }

    # an operator may not record the approval; nothing is written
    r = op.post(url(lot), extension(lot))
    assert r.status_code == 403 and r.json()["error"] == "permission_denied"
    assert len(op.get(f"/api/v1/lots/{lot['lot_id']}/events").json()) == 3

    # the EHS manager records it
    body = extension(lot)
    r = mgr.post(url(lot), body)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["event"]["type"] == "lot.storage_extended"
    assert answer["event"]["event_id"] == body["event_id"]
    assert answer["event"]["payload"] == {
        "approval_no": APPROVAL,
        "authority": "苏州市生态环境局",
        "approved_on": body["approved_on"],
        "extended_until": body["extended_until"],
        "note": "处置单位停炉检修",
    }
    extended = answer["lot"]
    assert extended["version"] == lot["version"] + 1 and extended["status"] == "stored"
    assert extended["storage_extended_until"] == body["extended_until"]
    assert extended["storage_extension_approval_no"] == APPROVAL

    # the same event id again is the same answer, and no second event
    again = mgr.post(url(lot), body)
    assert again.status_code == 200 and again.json() == answer
    events = op.get(f"/api/v1/lots/{lot['lot_id']}/events").json()
    assert [e["type"] for e in events][-1] == "lot.storage_extended" and len(events) == 4

    # a stale version is a conflict, with the current one
    r = mgr.post(url(lot), extension(lot))
    assert r.status_code == 409 and r.json()["error"] == "concurrency_conflict"
    assert (r.json()["expected_version"], r.json()["current_version"]) == (3, 4)

    # reads carry the extension: the lot, the list
    got = op.get(f"/api/v1/lots/{lot['lot_id']}").json()
    assert got["storage_extended_until"] == body["extended_until"]
    listed = op.get("/api/v1/lots", params={"status": "stored"}).json()["items"]
    assert [x["storage_extension_approval_no"] for x in listed] == [APPROVAL]

    # now the move goes through, with R32's note on the event
    moved = op.act(extended, "move", zone_id=a2)
    assert moved.status_code == 200, moved.text
    [note] = [x for x in moved.json()["event"]["findings"] if x["rule_id"] == "R32"]
    assert note["severity"] == "info" and APPROVAL in note["message_zh"]
    assert note["message_zh"] == f"已获延期贮存批准（文号 {APPROVAL}）至 {body['extended_until']}"
    assert note["citation"]["clause"] == "Art. 81 ¶3"

    # the sweep raises no storage-time alert for it
    with api.ctx.db.session() as s:
        alert_service.sweep(session=s, ctx=api.ctx)
    alerts = mgr.get("/api/v1/alerts").json()["items"]
    assert not [a for a in alerts if a["rule_id"] in ("R32", "R33")]

    # the log still verifies, as `hazchain verify` and the API check it
    report, _ = audit_jobs.verify(api.ctx, workers=1)
    assert report.ok, report.summary()
    assert api.as_("admin").get("/api/v1/audit/verify").json()["status"] == "ok"

    # and a replay of the log rebuilds the same read model
    inline = _rm_lot(api)
    with api.ctx.db.session() as s:
        rebuild(s)
    assert _rm_lot(api) == inline


def test_an_approval_that_ran_out_blocks_and_alerts_again(api: Api) -> None:
    licensed(api)
    op, mgr = api.as_("operator"), api.as_("ehs_manager")
    lot = stored_since(api, 500)
    ran_out = TODAY - timedelta(days=10)
    r = mgr.post(
        url(lot),
        extension(lot, approved_on=str(TODAY - timedelta(days=200)), extended_until=str(ran_out)),
    )
    assert r.status_code == 200, r.text
    lot = r.json()["lot"]
    refused = op.act(lot, "move", zone_id=str(api.world.zones["A2"]))
    assert refused.status_code == 422
    [f] = [v for v in refused.json()["violations"] if v["rule_id"] == "R32"]
    assert f["severity"] == "block" and f["values"]["extended_until"] == str(ran_out)
    assert APPROVAL in f["message_zh"] and "到期" in f["message_zh"]
    with api.ctx.db.session() as s:
        alert_service.sweep(session=s, ctx=api.ctx)
    [alert] = [a for a in mgr.get("/api/v1/alerts").json()["items"] if a["rule_id"] == "R32"]
    assert alert["severity"] == "block" and alert["lot_ids"] == [lot["lot_id"]]
    assert APPROVAL in alert["message_zh"] and alert["citation"]["clause"] == "Art. 81 ¶3"
    # a further approval (a new event) lifts it again
    r = mgr.post(url(lot), extension(lot, extended_until=str(TODAY + timedelta(days=90))))
    assert r.status_code == 200, r.text
    assert r.json()["lot"]["storage_extended_until"] == str(TODAY + timedelta(days=90))
    with api.ctx.db.session() as s:
        assert alert_service.sweep(session=s, ctx=api.ctx).cleared >= 1
    assert not [a for a in mgr.get("/api/v1/alerts").json()["items"] if a["rule_id"] == "R32"]


def test_an_approval_near_its_last_day_warns_as_the_year_did(api: Api) -> None:
    """65 days before the extension ends (the year's own lead, 365 − 300) the sweep warns, so
    there is time to ship the lot or renew the approval before R32 blocks again."""
    licensed(api)
    mgr = api.as_("ehs_manager")
    lot = stored_since(api, 400)
    ending = TODAY + timedelta(days=20)
    r = mgr.post(url(lot), extension(lot, extended_until=str(ending)))
    assert r.status_code == 200, r.text
    with api.ctx.db.session() as s:
        alert_service.sweep(session=s, ctx=api.ctx)
    [alert] = [a for a in mgr.get("/api/v1/alerts").json()["items"] if a["rule_id"] == "R32"]
    assert alert["severity"] == "warn" and alert["lot_ids"] == [lot["lot_id"]]
    assert alert["message_zh"] == (
        f"延期贮存批准（文号 {APPROVAL}）将于 {ending} 到期（还剩 20 天），请安排转移或续批"
    )
    young = stored_since(api, 20)
    due = mgr.get("/api/v1/lots", params={"storage_due": "true"}).json()
    assert [x["lot_id"] for x in due["items"]] == [lot["lot_id"]] and due["total"] == 1
    # a longer approval recorded on top: back to a note, and the alert clears
    lot = r.json()["lot"]
    r = mgr.post(url(lot), extension(lot, extended_until=str(TODAY + timedelta(days=120))))
    assert r.status_code == 200, r.text
    with api.ctx.db.session() as s:
        assert alert_service.sweep(session=s, ctx=api.ctx).cleared == 1
    assert not [a for a in mgr.get("/api/v1/alerts").json()["items"] if a["rule_id"] == "R32"]
    assert mgr.get("/api/v1/lots", params={"storage_due": "true"}).json()["items"] == []
    everything = mgr.get("/api/v1/lots").json()["items"]
    assert {x["lot_id"] for x in everything} == {lot["lot_id"], young["lot_id"]}


def test_a_generator_is_not_warned_within_an_approval(api: Api) -> None:
    mgr = api.as_("ehs_manager")
    lot = stored_since(api, 370)
    with api.ctx.db.session() as s:
        alert_service.sweep(session=s, ctx=api.ctx)
    assert [a["rule_id"] for a in mgr.get("/api/v1/alerts").json()["items"]].count("R33") == 1
    assert mgr.post(url(lot), extension(lot)).status_code == 200
    with api.ctx.db.session() as s:
        alert_service.sweep(session=s, ctx=api.ctx)
    assert "R33" not in [a["rule_id"] for a in mgr.get("/api/v1/alerts").json()["items"]]


def test_bad_approvals_are_refused_with_the_reason_and_write_nothing(api: Api) -> None:
    mgr = api.as_("ehs_manager")
    lot = stored_since(api, 100)
    limit = china_date(NOW - timedelta(days=102) + timedelta(days=365))  # R33: from generation
    r = mgr.post(url(lot), extension(lot, extended_until=str(limit)))
    assert r.status_code == 422 and r.json()["field"] == "extended_until", r.text
    assert f"may be stored until {limit}" in r.json()["detail"]
    r = mgr.post(url(lot), extension(lot, approved_on=str(TODAY + timedelta(days=1))))
    assert r.status_code == 422 and r.json()["field"] == "approved_on", r.text
    r = mgr.post(url(lot), extension(lot, extended_until="2027-02-30"))
    assert r.status_code == 422 and r.json()["error"] == "validation_error"
    r = mgr.post(url(lot), {k: v for k, v in extension(lot).items() if k != "authority"})
    assert r.status_code == 422 and ["body", "authority"] in [f["loc"] for f in r.json()["fields"]]
    # a lot that is not in storage: a conflict with its status, not a 500
    op = api.as_("operator")
    labelled = op.step(op.generate(), "label")
    r = mgr.post(url(labelled), extension(labelled))
    assert r.status_code == 409 and r.json()["error"] == "invalid_transition", r.text
    assert "only a lot in storage" in r.json()["detail"]
    # an unknown lot is 404
    r = mgr.post(f"/api/v1/lots/{uuid4()}/storage-extension", extension(lot))
    assert r.status_code == 404
    assert len(op.get(f"/api/v1/lots/{lot['lot_id']}/events").json()) == 3
    assert op.get(f"/api/v1/lots/{lot['lot_id']}").json()["storage_extended_until"] is None


def test_the_approval_is_site_scoped(api: Api) -> None:
    """An EHS manager of site A only does not see site B's lots: 404, as for any other step."""
    made = api.as_("admin").post(
        "/api/v1/users",
        {
            "username": "ehs_a",
            "display_name": "A厂EHS",
            "password": "long-enough-pw",
            "role": "ehs_manager",
            "enterprise_id": str(api.world.plant),
            "site_ids": [str(api.world.site_a)],
        },
    )
    assert made.status_code == 201, made.text
    world = replace(api.world, users={**api.world.users, "ehs_a": UUID(made.json()["id"])})
    ehs_a = Api(api.client, world, api.url).as_("ehs_a")
    b = stored_since(api, 10, site_b=True)
    r = ehs_a.post(url(b), extension(b))
    assert r.status_code == 404 and r.json()["error"] == "not_found", r.text
    assert api.get(f"/api/v1/lots/{b['lot_id']}").json()["version"] == b["version"]
    a = stored_since(api, 10)
    r = ehs_a.post(url(a), extension(a, extended_until=str(TODAY + timedelta(days=400))))
    assert r.status_code == 200, r.text
