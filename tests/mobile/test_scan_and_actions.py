"""Scan and every action through `/mobile/v1`, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import timedelta
from typing import Any

import httpx
import pytest

from mobile_api import service as mobile_service
from tests.mobile.conftest import Handheld, generate_item, item, now_iso
from tests.support.client import Api


def _labelled(api: Api) -> dict:
    op = api.as_("operator")
    return op.step(op.generate(), "label")


def test_scan_lot_lists_next_actions_checked_by_rules(api: Api, pda: Handheld) -> None:
    lot = _labelled(api)
    # raw scanner input: lower case, CR/LF, an AIM prefix
    r = pda.scan("]Q1" + lot["digital_id"].lower() + "\r\n")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["kind"] == "lot" and body["lot"]["lot_id"] == lot["lot_id"]
    assert body["lot"]["status_zh"] == "已贴标" and body["lot"]["label_url"].endswith("label.pdf")
    actions = {a["action"]: a for a in body["actions"]}
    assert actions["weigh"]["allowed"] and actions["inspect"]["allowed"]
    assert actions["store"]["allowed"] and actions["store"]["needs"] == ["zone"]
    assert not actions["move"]["allowed"] and "已贴标" in actions["move"]["reason_zh"]
    assert not actions["load"]["allowed"] and "已贴标" in actions["load"]["reason_zh"]
    # with a zone in context the storage is checked now: G1 is a general-waste zone
    g1 = api.world.zones["G1"]
    r = pda.scan(lot["digital_id"], zone_id=str(g1))
    store = next(a for a in r.json()["actions"] if a["action"] == "store")
    assert store["allowed"] is False and store["findings"], store
    assert store["zone_code"] == "G1" and "不能入库 G1" in store["reason_zh"]
    assert store["findings"][0]["citation"] and store["findings"][0]["text_zh"]


def test_scans_run_on_a_few_threads_of_their_own(
    api: Api, pda: Handheld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`MOBILE__SCAN_THREADS` (2 here): a burst of twelve scans at once runs at most two at a
    time, not one per thread of the pool every sync route shares, and every scan answers."""
    lot = _labelled(api)
    s = api.ctx.settings
    api.ctx.settings = s.model_copy(
        update={"mobile": s.mobile.model_copy(update={"scan_threads": 2})}
    )
    running, most, lock = 0, 0, threading.Lock()
    scan = mobile_service.scan

    def counted(**kw: Any) -> Any:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        try:
            time.sleep(0.05)
            return scan(**kw)
        finally:
            with lock:
                running -= 1

    monkeypatch.setattr(mobile_service, "scan", counted)

    async def burst() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=api.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://pda") as client:
            url, auth = f"/mobile/v1/scan/{lot['digital_id']}", pda._auth(pda.token)
            return await asyncio.gather(*(client.get(url, headers=auth) for _ in range(12)))

    answers = asyncio.run(burst())
    assert [r.status_code for r in answers] == [200] * 12
    assert {r.json()["lot"]["lot_id"] for r in answers} == {lot["lot_id"]}
    assert most == 2


def test_scan_zone_with_a_lot_in_context(api: Api, pda: Handheld) -> None:
    lot = _labelled(api)
    r = pda.scan("a1", lot_id=lot["lot_id"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["kind"] == "zone" and body["zone"]["code"] == "A1"
    store = body["actions"][0]
    assert (store["action"], store["allowed"], store["zone_code"]) == ("store", True, "A1")
    assert any(a["action"] == "inspect_zone" for a in body["actions"])


def test_scan_unknown_and_out_of_scope(api: Api, pda: Handheld) -> None:
    r = pda.scan("NOPE-42")
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    other = api.as_("operator_b").generate(site=api.world.site_b)
    assert pda.scan(other["digital_id"]).status_code == 404  # another site's lot does not leak
    assert pda.scan("B1").status_code == 404  # another site's zone


def test_every_lot_action(api: Api, pda: Handheld) -> None:
    r = pda.post("/mobile/v1/actions", generate_item())
    assert r.status_code == 200, r.text
    res = r.json()
    assert res["status"] == "accepted" and res["label_url"] == res["lot"]["label_url"]
    lot = res["lot"]
    pdf = pda.get(res["label_url"])
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    steps = [
        ("label", {}),
        ("weigh", {"weight_kg": "52.5", "scale_id": "S1"}),
        ("store", {"zone_code": "A1", "scanned_code": lot["digital_id"]}),
        ("move", {"zone_id": str(api.world.zones["A2"])}),
        ("inspect", {"condition": "damaged", "notes": "破损"}),
        ("repack", {"container": {"type": "drum", "volume_l": "60"}, "reason": "换桶"}),
    ]
    for action, body in steps:
        r = pda.post("/mobile/v1/actions", item(action, lot, **body))
        assert r.status_code == 200, (action, r.text)
        assert r.json()["status"] == "accepted"
        lot = r.json()["lot"]
    assert (lot["status"], lot["zone_code"], lot["version"]) == ("stored", "A2", 7)
    assert lot["condition"] == "intact" and lot["weight_kg"] in ("52.500", "52.5")
    events = api.get(f"/api/v1/lots/{lot['lot_id']}/events").json()
    assert len(events) == 7
    assert {e["device_id"] for e in events} == {str(pda.device_id)}
    assert {e["actor_id"] for e in events} == {str(api.world.users["operator"])}


def test_inspect_zone_action(api: Api, pda: Handheld) -> None:
    op = api.as_("operator")
    lot = op.step(_labelled(api), "store", zone_id=str(api.world.zones["A1"]))
    body = item(
        "inspect_zone", zone_code="A1", items=[{"lot_id": lot["lot_id"], "condition": "leaking"}]
    )
    r = pda.post("/mobile/v1/actions", body)
    assert r.status_code == 200, r.text
    assert r.json()["zone"]["code"] == "A1" and r.json()["status"] == "accepted"
    assert op.get(f"/api/v1/lots/{lot['lot_id']}").json()["condition"] == "leaking"
    again = pda.post("/mobile/v1/actions", body)
    assert again.json()["status"] == "duplicate"


def test_action_errors_are_http_errors(api: Api, pda: Handheld) -> None:
    lot = _labelled(api)
    r = pda.post("/mobile/v1/actions", item("store", lot, zone_code="G1"))
    assert r.status_code == 422 and r.json()["error"] == "rule_violation"
    r = pda.post("/mobile/v1/actions", item("weigh", lot, weight_kg="1", expected_version=1))
    assert r.status_code == 409 and r.json()["current_version"] == 2
    r = pda.post("/mobile/v1/actions", item("move", lot, zone_code="A1"))
    assert r.status_code == 409 and r.json()["error"] == "invalid_transition"
    r = pda.post(
        "/mobile/v1/actions",
        item("weigh", lot, weight_kg="1", occurred_at=now_iso(timedelta(hours=1))),
    )
    assert r.status_code == 422 and r.json()["error"] == "occurred_at_in_future"
    r = pda.post("/mobile/v1/actions", item("store", lot, zone_code="ZZ9"))
    assert r.status_code == 422 and "ZZ9" in r.json()["detail"]
    r = pda.post("/mobile/v1/actions", item("store", lot))
    assert r.status_code == 422 and r.json()["error"] == "validation_error"


def test_late_step_is_accepted_and_marked(api: Api, pda: Handheld) -> None:
    lot = _labelled(api)
    r = pda.post(
        "/mobile/v1/actions",
        item("weigh", lot, weight_kg="3", occurred_at=now_iso(-timedelta(hours=5))),
    )
    assert r.status_code == 200 and r.json()["late"] is True
    r = pda.post("/mobile/v1/actions", item("weigh", r.json()["lot"], weight_kg="4"))
    assert r.json()["late"] is False


def test_manifest_numbers_resolve_through_the_manifest_module(api: Api, pda: Handheld) -> None:
    # 14 digits: tried as a manifest number; none in scope carries it
    r = pda.scan("32057120261121")
    assert r.status_code == 404 and "manifest number" in r.json()["detail"]
