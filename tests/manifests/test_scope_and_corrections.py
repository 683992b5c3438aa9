"""Portal scope (handlers and carriers see only manifests naming them, once submitted),
corrections that need the other party's approval, and refusals by role and state."""

from __future__ import annotations

from typing import Any

from tests.manifests.support import (
    act,
    draft,
    load_body,
    ok,
    setup_parties,
    step,
    stored_lot,
    to_in_transit,
    uid,
)


def test_a_handler_cannot_see_another_handlers_manifest(api) -> None:  # type: ignore[no-untyped-def]
    setup_parties(api)
    m = draft(api, [stored_lot(api)])
    path = f"/api/v1/manifests/{m['manifest_id']}"
    # a draft is the consignor's work in progress: the parties it names do not see it yet
    for party in ("handler", "transporter"):
        assert api.as_(party).get(path).status_code == 404
        assert ok(api.as_(party).get("/api/v1/manifests"))["total"] == 0
    m = step(api, "ehs_manager", m, "submit")
    assert api.as_("handler").get(path).status_code == 200
    assert api.as_("transporter").get(path).status_code == 200
    # the other handler: not found (existence does not leak), and not in its list
    assert api.as_("handler2").get(path).status_code == 404
    assert api.as_("handler2").get(f"{path}.pdf").status_code == 404
    assert ok(api.as_("handler2").get("/api/v1/manifests"))["total"] == 0
    assert ok(api.as_("handler").get("/api/v1/manifests"))["total"] == 1
    # nor act on it: a step a handler may take finds nothing (404); cancelling is the
    # consignor's, refused to every handler before any lookup (403)
    r = act(api, "handler2", m, "sign", step="receipt")
    assert r.status_code == 404
    r = act(api, "handler2", m, "cancel", reason="试图作废")
    assert r.status_code == 403 and r.json()["error"] == "permission_denied"
    # an operator of the other site does not see it either
    assert api.as_("operator_b").get(path).status_code == 404
    # the regulator of the site reads it but may not act
    assert api.as_("auditor").get(path).status_code == 200
    assert act(api, "auditor", m, "submit").status_code == 403
    # the handler may not submit the consignor's manifest (its role may never submit)
    r = act(api, "handler", m, "submit")
    assert r.status_code == 403 and "manifest:write" in r.json()["detail"]
    # the admin's role may take the handler's steps, but on this manifest it is the consignor
    r = act(api, "admin", m, "receive")
    assert r.status_code == 403 and "only the handler" in r.json()["detail"]


def test_a_handler_without_a_licence_is_refused_at_draft(api) -> None:  # type: ignore[no-untyped-def]
    setup_parties(api)
    lot = stored_lot(api)
    body = {
        "event_id": uid(),
        "site_id": str(api.world.site_a),
        "handler_enterprise_id": str(api.world.handler2_org),
        "carrier_enterprise_id": str(api.world.carrier_org),
        "planned_date": "2026-11-21",
        "emergency_measures": "围堵",
        "lines": [
            {"waste_code": "900-039-49", "lot_ids": [lot["lot_id"]], "planned_method": "D10"}
        ],
    }
    r = api.as_("ehs_manager").post("/api/v1/manifests", body)
    assert r.status_code == 422 and "许可证" in r.json()["detail"]


def test_submit_blocked_by_the_licence_method_with_its_citation(api) -> None:  # type: ignore[no-untyped-def]
    setup_parties(api)
    m = draft(api, [stored_lot(api)], method="D1")  # HW49 is licensed for D10, R15 only
    r = act(api, "ehs_manager", m, "submit")
    assert r.status_code == 422, r.text
    v = r.json()["violations"]
    assert v[0]["rule_id"] == "R41" and v[0]["citation"]["clause"].startswith("Art. 80")
    assert ok(api.as_("ehs_manager").get(f"/api/v1/manifests/{m['manifest_id']}"))["status"] == (
        "draft"
    )


def test_loading_blocks_a_missing_package(api) -> None:  # type: ignore[no-untyped-def]
    p = setup_parties(api)
    lots = [stored_lot(api) for _ in range(2)]
    m = step(api, "ehs_manager", draft(api, lots), "submit")
    r = act(api, "operator", m, "load", **load_body(p, m, scanned=[lots[0]["digital_id"]]))
    assert r.status_code == 422
    assert {v["rule_id"] for v in r.json()["violations"]} == {"R37"}
    # dispatch without the carrier's signature is refused
    m = step(api, "operator", m, "load", **load_body(p, m))
    r = act(api, "operator", m, "dispatch")
    assert r.status_code == 409 and "carrier" in r.json()["detail"]


def test_correction_after_signature_needs_the_other_party(api) -> None:  # type: ignore[no-untyped-def]
    p = setup_parties(api)
    m = to_in_transit(api, p, draft(api, [stored_lot(api)]))
    m = step(
        api,
        "transporter",
        m,
        "corrections",
        changes={"dg_waybill_no": "YD20261121-009"},
        reason="运单号录入错误",
    )
    c = m["corrections"][0]
    assert c["status"] == "pending" and c["original"] == {"dg_waybill_no": "YD20261121001"}
    assert m["dg_waybill_no"] == "YD20261121001"  # unchanged until approved
    path = f"corrections/{c['correction_id']}/decision"
    r = act(api, "transporter", m, path, approve=True)
    assert r.status_code == 409  # not by the party that asked
    m = step(api, "ehs_manager", m, path, approve=True, note="同意")
    assert m["dg_waybill_no"] == "YD20261121-009"
    assert m["corrections"][0]["status"] == "approved"
    events = ok(api.as_("ehs_manager").get(f"/api/v1/manifests/{m['manifest_id']}/events"))
    assert [e["type"] for e in events][-2:] == [
        "manifest.correction_requested",
        "manifest.correction_decided",
    ]
    # weights and custody steps are not corrected this way
    r = act(api, "ehs_manager", m, "corrections", changes={"lots": []}, reason="x" * 3)
    assert r.status_code == 422
    # a cancelled manifest is refused after loading
    assert act(api, "ehs_manager", m, "cancel", reason="太晚了").status_code == 409


def test_manifest_numbers_are_sequential_per_city(api) -> None:  # type: ignore[no-untyped-def]
    setup_parties(api)
    a = draft(api, [stored_lot(api)])
    b = draft(api, [stored_lot(api)])
    assert int(b["number"]) == int(a["number"]) + 1
    assert a["number"][:4].isdigit() and a["number"][4:8] == "3205"


def test_the_migration_fills_submitted_at_from_each_manifests_state(api) -> None:  # type: ignore[no-untyped-def]
    """`rm_manifest.submitted_at` (what portal scope reads) is filled for the manifests that
    were there before it, as the projector fills it: a draft none, a submitted one its time."""
    import sqlalchemy as sa

    from app.migrate import downgrade, upgrade
    from app.projections.manifests import ManifestRow

    setup_parties(api)
    kept = draft(api, [stored_lot(api)])
    sent = step(api, "ehs_manager", draft(api, [stored_lot(api)]), "submit")
    t = ManifestRow.__table__  # type: ignore[attr-defined]

    def rows() -> list[tuple[Any, ...]]:
        with api.ctx.db.engine.connect() as c:
            q = sa.select(t.c.number, t.c.submitted_at).order_by(t.c.number)
            return [tuple(r) for r in c.execute(q)]

    inline = rows()
    assert [(n, at is not None) for n, at in inline] == [
        (kept["number"], False),
        (sent["number"], True),
    ]
    api.ctx.db.dispose()
    downgrade(api.url, "c4f8a2d6e913")
    upgrade(api.url)
    assert rows() == inline
    assert ok(api.as_("handler").get("/api/v1/manifests"))["total"] == 1
