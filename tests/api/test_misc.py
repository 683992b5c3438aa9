"""Zones, waste codes, audit, health and the OpenAPI document."""

from __future__ import annotations

from uuid import uuid4

from tests.support.client import Api


def test_health(api: Api) -> None:
    r = api.client.get("/healthz")
    assert r.status_code == 200 and r.json()["status"] == "ok"


def test_waste_code_search(api: Api) -> None:
    r = api.as_("operator").get("/api/v1/waste-codes", params={"q": "90004149"})
    assert r.status_code == 200
    assert [c["code"] for c in r.json()["items"]] == ["900-041-49"]
    assert r.json()["items"][0]["hazard_characteristics"] == ["T", "In"]
    r = api.as_("operator").get("/api/v1/waste-codes", params={"category": "HW35"})
    assert r.json()["total"] == 12
    assert (
        api.as_("operator").get("/api/v1/waste-codes", params={"edition": "1999"}).status_code
        == 422
    )
    assert api.get("/api/v1/waste-codes/900-349-34").json()["category_name"] == "废酸"
    assert api.get("/api/v1/waste-codes/900-040-49").status_code == 404
    assert api.client.get("/api/v1/waste-codes").status_code == 401


def test_zone_registration_and_duplicates(api: Api) -> None:
    mgr = api.as_("ehs_manager")
    body = {
        "event_id": str(uuid4()),
        "site_id": str(api.world.site_a),
        "code": "c3",
        "name": "C3 区",
        "kind": "hazardous",
        "capacity_kg": "5000",
    }
    r = mgr.post("/api/v1/zones", body)
    assert r.status_code == 201 and r.json()["code"] == "C3"
    assert mgr.post("/api/v1/zones", body).json() == r.json()  # idempotent replay
    dup = mgr.post("/api/v1/zones", {**body, "event_id": str(uuid4())})
    assert dup.status_code == 409
    zones = api.as_("operator").get("/api/v1/zones", params={"site_id": str(api.world.site_a)})
    assert {z["code"] for z in zones.json()} == {"A1", "A2", "G1", "C3"}
    assert api.as_("operator_b").get(f"/api/v1/zones/{r.json()['zone_id']}").status_code == 404


def test_audit_verify_reports_counts(api: Api) -> None:
    api.as_("operator").generate()
    r = api.as_("auditor").get("/api/v1/audit/verify")
    body = r.json()
    assert body["status"] == "ok" and body["first_broken"] is None
    # the auditor is scoped to site A: 3 zones + 1 lot
    assert body["events"] == 4 and [s["events"] for s in body["sites"]] == [4]
    assert api.get("/api/v1/audit/verify").json()["events"] == 5  # admin: both sites


def test_openapi_documents_every_route_with_its_errors(api: Api) -> None:
    spec = api.client.get("/openapi.json").json()
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            if path == "/healthz":
                continue
            assert any(code.startswith("4") for code in op["responses"]), (method, path)
            assert op.get("summary") or op.get("description"), (method, path)


def test_unknown_route_uses_the_error_format(api: Api) -> None:
    r = api.get("/api/v1/nothing-here")
    assert r.status_code == 404 and r.json()["error"] == "not_found"
