"""A manifest's whole life over the API, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa

from tests.manifests.support import (
    TODAY,
    act,
    draft,
    load_body,
    lot_of,
    ok,
    setup_parties,
    step,
    stored_lot,
    to_received,
)


def test_full_lifecycle(api) -> None:  # type: ignore[no-untyped-def]
    p = setup_parties(api)
    lots = [stored_lot(api) for _ in range(3)]
    m = draft(api, lots)
    assert m["status"] == "draft"
    assert len(m["number"]) == 14 and m["number"][4:8] == "3205"
    assert all(lot_of(api, lot["lot_id"])["status"] == "allocated" for lot in lots)

    m = step(api, "ehs_manager", m, "submit")
    assert m["status"] == "submitted"
    m = step(api, "transporter", m, "load", **load_body(p, m))
    assert m["status"] == "loaded"
    # the carrier signs on its own device, the consignor signs by dispatching
    m = step(api, "transporter", m, "sign", step="dispatch")
    m = step(api, "operator", m, "dispatch")
    assert m["status"] == "in_transit"
    assert {(s["step"], s["party"]) for s in m["signatures"]} == {
        ("dispatch", "carrier"),
        ("dispatch", "consignor"),
    }
    assert lot_of(api, lots[0]["lot_id"])["status"] == "shipped"

    # the handler takes over with the driver's one-time code
    code = ok(
        api.as_("transporter").post(
            f"/api/v1/manifests/{m['manifest_id']}/challenges", {"step": "receipt"}
        ),
        201,
    )
    received = [{"lot_id": x["lot_id"], "received_kg": x["weight_kg"]} for x in m["lots"]]
    m = step(api, "handler", m, "receive", lots=received, counterpart_code=code["code"])
    assert m["status"] == "received" and m["confirmed_at"] is not None
    assert m["discrepancy"] is None
    assert lot_of(api, lots[0]["lot_id"])["status"] == "received"
    # the code is single-use
    again = act(api, "handler", m, "sign", step="receipt", code=code["code"])
    assert again.status_code in (409, 422), again.text

    done = [
        {"lot_id": x["lot_id"], "method_code": "D10", "completed_on": str(TODAY)} for x in m["lots"]
    ]
    m = step(api, "handler", m, "dispose", lots=done)
    assert m["status"] == "disposed"
    assert lot_of(api, lots[0]["lot_id"])["status"] == "disposed"
    m = step(api, "ehs_manager", m, "close")
    assert m["status"] == "closed"

    events = ok(api.as_("ehs_manager").get(f"/api/v1/manifests/{m['manifest_id']}/events"))
    assert [e["type"] for e in events][:2] == ["manifest.drafted", "manifest.submitted"]
    verify = ok(api.as_("admin").get("/api/v1/audit/verify"))
    assert verify["status"] == "ok", verify


def test_replay_returns_the_original_answer(api) -> None:  # type: ignore[no-untyped-def]
    setup_parties(api)
    lot = stored_lot(api)
    m = draft(api, [lot])
    body = {"event_id": "6b7f3c0e-0000-4000-8000-000000000001", "expected_version": m["version"]}
    r1 = api.as_("ehs_manager").post(f"/api/v1/manifests/{m['manifest_id']}/submit", body)
    r2 = api.as_("ehs_manager").post(f"/api/v1/manifests/{m['manifest_id']}/submit", body)
    assert r1.status_code == r2.status_code == 200
    assert r1.json()["event"] == r2.json()["event"]


def test_a_one_time_code_is_issued_only_while_its_handover_is_open(api) -> None:  # type: ignore[no-untyped-def]
    p = setup_parties(api)
    m = draft(api, [stored_lot(api)])
    path = f"/api/v1/manifests/{m['manifest_id']}/challenges"
    carrier = api.as_("transporter")

    def refused(body: dict[str, str], status: str) -> None:
        r = carrier.post(path, body)
        assert r.status_code == 409, r.text
        assert r.json()["error"] == "invalid_transition" and r.json()["status"] == status

    # a draft is not the carrier's to see yet, let alone to sign (and a code issued on it
    # would outlive the checks of submission and loading)
    r = carrier.post(path, {"step": "dispatch"})
    assert r.status_code == 404 and r.json()["error"] == "not_found", r.text
    m = step(api, "ehs_manager", m, "submit")
    refused({"step": "dispatch"}, "submitted")
    m = step(api, "operator", m, "load", **load_body(p, m))
    refused({"step": "receipt"}, "loaded")  # the receipt handover opens on dispatch
    ok(carrier.post(path, {"step": "dispatch"}), 201)
    m = step(api, "transporter", m, "sign", step="dispatch")
    again = carrier.post(path, {"step": "dispatch"})  # signed already: nothing left to sign
    assert again.status_code == 409 and "already signed" in again.text, again.text
    m = step(api, "operator", m, "dispatch")
    ok(carrier.post(path, {"step": "receipt"}), 201)
    with api.ctx.db.session(write=False) as session:  # the refusals left no codes behind
        issued = session.execute(sa.text("SELECT step FROM handover_challenge ORDER BY issued_at"))
        assert [row[0] for row in issued] == ["dispatch", "receipt"]


def test_cancel_before_loading_returns_lots_to_stock(api) -> None:  # type: ignore[no-untyped-def]
    setup_parties(api)
    lot = stored_lot(api)
    m = draft(api, [lot])
    m = step(api, "ehs_manager", m, "submit")
    m = step(api, "ehs_manager", m, "cancel", reason="车辆临时取消")
    assert m["status"] == "cancelled"
    assert lot_of(api, lot["lot_id"])["status"] == "stored"


def test_a_leak_found_after_submission_holds_the_dispatch_until_overpacked(api) -> None:  # type: ignore[no-untyped-def]
    p = setup_parties(api)
    lot = stored_lot(api)
    m = step(api, "ehs_manager", draft(api, [lot]), "submit")
    m = step(api, "operator", m, "load", **load_body(p, m))
    op = api.as_("operator")
    leaking = op.step(lot_of(api, lot["lot_id"]), "inspect", condition="leaking", notes="桶底渗漏")
    assert leaking["status"] == "allocated" and leaking["needs_repack"]
    code = ok(
        api.as_("transporter").post(
            f"/api/v1/manifests/{m['manifest_id']}/challenges", {"step": "dispatch"}
        ),
        201,
    )
    refused = act(api, "operator", m, "dispatch", counterpart_code=code["qr_payload"])
    assert refused.status_code == 409, refused.text
    assert "leaking: repack it before it is loaded or shipped" in refused.text
    assert lot_of(api, lot["lot_id"])["status"] == "allocated"  # nothing half-written
    # a new weight would contradict the manifest; an overpack as it is goes through
    drum = {"type": "drum", "volume_l": "360", "material": "steel"}
    heavier = op.act(leaking, "repack", container=drum, reason="套桶", weight_kg="130")
    assert heavier.status_code == 409 and "release it from the manifest" in heavier.text
    op.step(leaking, "repack", container=drum, reason="套桶")
    m = ok(api.as_("operator").get(f"/api/v1/manifests/{m['manifest_id']}"))
    code = ok(
        api.as_("transporter").post(
            f"/api/v1/manifests/{m['manifest_id']}/challenges", {"step": "dispatch"}
        ),
        201,
    )
    m = step(api, "operator", m, "dispatch", counterpart_code=code["qr_payload"])
    assert m["status"] == "in_transit"
    assert lot_of(api, lot["lot_id"])["status"] == "shipped"


def test_partial_rejection_returns_lots_to_inventory(api) -> None:  # type: ignore[no-untyped-def]
    p = setup_parties(api)
    lots = [stored_lot(api) for _ in range(3)]
    m = draft(api, lots)
    bad = lots[0]["lot_id"]
    m = to_received(api, p, m, weights={bad: "90.0"})  # 125.5 shipped: beyond tolerance
    assert m["discrepancy"] is not None and m["confirmed_at"] is None
    mism = {x["lot_id"]: x["mismatches"] for x in m["lots"]}
    assert mism[bad] == ["weight"]
    # R51: the resolution needs the consignor told and the EEB report
    decisions = [
        {"lot_id": x["lot_id"], "outcome": "accepted", "method_code": "D10"}
        for x in m["lots"]
        if x["lot_id"] != bad
    ] + [{"lot_id": bad, "outcome": "rejected"}]
    r = act(api, "handler", m, "confirm", lots=decisions)
    assert r.status_code == 422 and r.json()["violations"][0]["rule_id"] == "R51", r.text
    m = step(
        api,
        "handler",
        m,
        "confirm",
        lots=decisions,
        consignor_notified_at="2026-11-21T08:00:00+08:00",
        eeb_report_ref="吴环报〔2026〕15号",
    )
    assert m["discrepancy"]["resolved_at"] is not None
    assert lot_of(api, bad)["status"] == "rejected"
    # the consignor takes the rejected lot back into a zone
    m = step(
        api,
        "ehs_manager",
        m,
        "returns",
        lot_ids=[bad],
        zone_id=str(api.world.zones["A2"]),
        reason="重量不符，退回",
    )
    back = lot_of(api, bad)
    assert back["status"] == "stored" and back["zone_code"] == "A2"
    done = [
        {"lot_id": x["lot_id"], "method_code": "D10", "completed_on": str(TODAY)}
        for x in m["lots"]
        if x["lot_id"] != bad
    ]
    m = step(api, "handler", m, "dispose", lots=done)
    assert m["status"] == "disposed"
    # the returned lot can leave again on a new manifest
    m2 = draft(api, [back])
    assert m2["status"] == "draft"
