"""Handheld load and receive: the per-lot manifest steps (`load_lot`, `receive_lot`) and how the
manifest's own load and receipt take them up. SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from typing import Any
from uuid import UUID

import pytest

from app.manifests import service as manifest_service
from tests.manifests.support import (
    Parties,
    draft,
    load_body,
    ok,
    setup_parties,
    step,
    stored_lot,
    to_in_transit,
)
from tests.mobile.conftest import Handheld, item
from tests.support.client import Api
from tests.support.world import PASSWORD


def _lot(api: Api, lot_id: str) -> dict[str, Any]:
    return ok(api.as_("admin").get(f"/api/v1/lots/{lot_id}"))


def _manifest(api: Api, m: dict[str, Any]) -> dict[str, Any]:
    return ok(api.as_("ehs_manager").get(f"/api/v1/manifests/{m['manifest_id']}"))


def _events(api: Api, lot_id: str) -> list[str]:
    r = ok(api.as_("admin").get(f"/api/v1/lots/{lot_id}/events"))
    items = r["items"] if isinstance(r, dict) else r
    return [e["type"] for e in items]


@pytest.fixture
def parties(api: Api) -> Parties:
    return setup_parties(api)


@pytest.fixture
def submitted(api: Api, parties: Parties) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    lots = [stored_lot(api), stored_lot(api)]
    m = step(api, "ehs_manager", draft(api, lots), "submit")
    return m, [_lot(api, lot["lot_id"]) for lot in lots]


@pytest.fixture
def in_transit(api: Api, parties: Parties) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    lots = [stored_lot(api), stored_lot(api)]
    m = to_in_transit(api, parties, draft(api, lots))
    return m, [_lot(api, lot["lot_id"]) for lot in lots]


def test_scan_offers_load_for_an_allocated_lot(
    api: Api, pda: Handheld, submitted: tuple[dict[str, Any], list[dict[str, Any]]]
) -> None:
    _, lots = submitted
    r = pda.scan(lots[0]["digital_id"])
    load = next(a for a in r.json()["actions"] if a["action"] == "load")
    assert load["allowed"] is True, load
    assert not any(a["action"] == "receive" for a in r.json()["actions"])  # operators don't


def test_load_each_lot_then_the_manifest_load_takes_the_scans(
    api: Api,
    pda: Handheld,
    parties: Parties,
    submitted: tuple[dict[str, Any], list[dict[str, Any]]],
) -> None:
    m, lots = submitted
    first = item("load", lots[0], vehicle_plate="苏e·12345 ")
    r = pda.post("/mobile/v1/actions", first)
    assert r.status_code == 200, r.text
    res = r.json()
    assert res["status"] == "accepted" and res["version"] == lots[0]["version"] + 1
    assert res["lot"]["status"] == "allocated"
    # a retry of the same event is a duplicate with the same answer, not a second scan
    again = pda.post("/mobile/v1/actions", first).json()
    assert again["status"] == "duplicate" and again["version"] == res["version"]
    # scanning it a second time (a new event) is refused: it is already on the truck
    r = pda.post("/mobile/v1/actions", item("load", res["lot"] | {"version": res["version"]}))
    assert r.status_code == 409 and "already scanned" in r.json()["detail"]
    assert _events(api, lots[0]["lot_id"]).count("lot.loaded") == 1
    state = _manifest(api, m)
    scanned = {lot["lot_id"]: lot for lot in state["lots"]}
    assert scanned[lots[0]["lot_id"]]["scanned_at"] is not None
    assert scanned[lots[0]["lot_id"]]["vehicle_plate"] == "苏E·12345"
    assert scanned[lots[1]["lot_id"]]["scanned_at"] is None
    # the manifest-level load with no codes of its own: one lot missing -> R37 blocks
    body = load_body(parties, state, scanned=[])
    r = api.as_("operator").post(
        f"/api/v1/manifests/{m['manifest_id']}/load",
        {"event_id": str(UUID(int=1)), "expected_version": state["version"], **body},
    )
    assert r.status_code == 422, r.text
    assert any(v["rule_id"] == "R37" for v in r.json()["violations"]), r.json()
    assert lots[1]["digital_id"] in r.text
    # the second lot scanned offline, synced; then the load goes through on the scans
    r = pda.sync([item("load", lots[1])])
    assert r.json()["results"][0]["status"] == "accepted", r.json()
    state = _manifest(api, m)
    loaded = step(api, "operator", state, "load", **load_body(parties, state, scanned=[]))
    assert loaded["status"] == "loaded"


def test_a_lot_not_on_the_manifest_is_refused_with_its_citation(
    api: Api, pda: Handheld, submitted: tuple[dict[str, Any], list[dict[str, Any]]]
) -> None:
    m, _ = submitted
    other = _lot(api, stored_lot(api)["lot_id"])  # stored, on no manifest
    r = pda.post("/mobile/v1/actions", item("load", other, manifest_id=m["manifest_id"]))
    assert r.status_code == 422, r.text
    assert r.json()["violations"][0]["rule_id"] == "R37"
    res = pda.sync([item("load", other, manifest_number=m["number"])]).json()["results"][0]
    assert res["status"] == "rejected" and res["findings"][0]["rule_id"] == "R37"
    assert "GB" in res["findings"][0]["citation"] or res["findings"][0]["citation"]
    assert "lot.loaded" not in _events(api, other["lot_id"])
    # and without a manifest named, a lot on none cannot be loaded
    r = pda.post("/mobile/v1/actions", item("load", other))
    assert r.status_code == 422 and "no manifest" in r.json()["detail"]


def _handler_handheld(api: Api) -> Handheld:
    """The handler's gate staff on a handheld enrolled at the handler's receiving site."""
    w = api.world
    admin = api.as_("admin")
    site = ok(
        admin.post(
            "/api/v1/sites",
            {
                "enterprise_id": str(w.handler_org),
                "code": "HD01",
                "name": "处置厂接收区",
                "division_code": "320506",
                "contact_name": "赵强",
                "contact_phone": "0512-65550000",
            },
        ),
        201,
    )
    users = dict(w.users)
    for username, role, extra in [
        ("handler_admin", "admin", {"all_sites": True}),
        ("gate", "handler", {"site_ids": [site["id"]]}),
    ]:
        u = ok(
            admin.post(
                "/api/v1/users",
                {
                    "username": username,
                    "display_name": username,
                    "password": PASSWORD,
                    "role": role,
                    "enterprise_id": str(w.handler_org),
                    **extra,
                },
            ),
            201,
        )
        users[username] = UUID(u["id"])
    other = Api(api.client, dataclasses.replace(w, users=users), api.url)
    return Handheld(other, UUID(site["id"]), "gate", admin="handler_admin")


def test_the_handler_checks_lots_in_and_the_receipt_takes_the_weights(
    api: Api, in_transit: tuple[dict[str, Any], list[dict[str, Any]]]
) -> None:
    m, lots = in_transit
    gate = _handler_handheld(api)
    shipped = lots
    r = gate.scan(shipped[0]["digital_id"])  # a lot of a manifest naming the handler
    assert r.status_code == 200, r.text
    receive = next(a for a in r.json()["actions"] if a["action"] == "receive")
    assert receive["allowed"] and receive["needs"] == ["input"]
    assert {a["action"] for a in r.json()["actions"]} == {"receive"}
    # a lot of another plant lot on no manifest of the handler's: not found
    assert gate.scan(stored_lot(api)["digital_id"]).status_code == 404
    # refusing a lot needs what was found different
    # (the weight within tolerance is no such difference)
    bad = item(
        "receive",
        shipped[1],
        received_weight_kg=shipped[1]["weight_kg"],
        outcome="rejected",
        mismatches=["weight"],
    )
    r = gate.post("/mobile/v1/actions", bad)
    assert r.status_code == 422 and "mismatches" in r.json()["detail"]
    w0 = shipped[0]["weight_kg"]
    results = gate.sync(
        [
            item("receive", shipped[0], received_weight_kg=w0),
            item(
                "receive",
                shipped[1],
                received_weight_kg=shipped[1]["weight_kg"],
                outcome="rejected",
                mismatches=["packaging"],
            ),
        ]
    ).json()["results"]
    assert [x["status"] for x in results] == ["accepted", "accepted"], results
    assert results[0]["lot"]["status"] == "shipped"  # decided at the receipt, not here
    state = _manifest(api, m)
    by_id = {lot["lot_id"]: lot for lot in state["lots"]}
    assert by_id[lots[1]["lot_id"]]["proposed_outcome"] == "rejected"
    assert by_id[lots[1]["lot_id"]]["checked_in_mismatches"] == ["packaging"]
    # the receipt with both signatures and no weights of its own: the check-ins are used
    state = step(api, "transporter", state, "sign", step="receipt")
    received = step(api, "handler", state, "receive", lots=[])
    assert received["status"] == "received"
    assert received["discrepancy"]["lot_ids"] == [lots[1]["lot_id"]]
    assert {lot["lot_id"]: lot["received_kg"] for lot in received["lots"]}[lots[0]["lot_id"]] == w0
    assert "lot.arrival_checked" in _events(api, lots[0]["lot_id"])


def test_the_consignors_handheld_may_not_receive(
    api: Api, pda: Handheld, in_transit: tuple[dict[str, Any], list[dict[str, Any]]]
) -> None:
    _, lots = in_transit
    lot = lots[0]
    # the consignor's operator is not the handler
    r = pda.post("/mobile/v1/actions", item("receive", lot, received_weight_kg="1"))
    assert r.status_code == 403, r.text
    assert _events(api, lot["lot_id"])[-1] == "lot.shipped"


def test_scanning_the_roadside_check_link_lands_on_the_manifest(
    api: Api, pda: Handheld, submitted: tuple[dict[str, Any], list[dict[str, Any]]]
) -> None:
    """The PDF's second QR code is the roadside-check link: an operator who scans it rather
    than the number's gets the manifest all the same."""
    m, _ = submitted
    token = manifest_service.roadside_token(api.ctx, m["number"], m["manifest_id"])
    r = pda.scan(f"http://plant.example:8000/check/{token}\r\n")  # as a wedge scanner types it
    assert r.status_code == 200, r.text
    assert r.json()["kind"] == "manifest" and r.json()["manifest"]["number"] == m["number"]
    # a link of the same shape to another host's path is not a manifest
    r = pda.scan(f"http://plant.example:8000/other/{token}")
    assert r.status_code == 404, r.text
