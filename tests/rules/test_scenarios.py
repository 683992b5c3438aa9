"""Storage rules through the API, on SQLite and PostgreSQL: refusals cite their clause,
overrides are EHS-manager-only and logged, dry-run checks write nothing."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from tests.support.client import Api

ACID = {
    "waste_code": "900-349-34",
    "name": "废酸",
    "physical_form": "liquid",
    "container": {"type": "drum", "volume_l": "200", "material": "HDPE"},
    "headspace_mm": "120",
    "weight_kg": "230",
}
ALKALI = {**ACID, "waste_code": "900-399-35", "name": "废碱"}


def facility(api: Api, type_: str, code: str, **kw: Any) -> dict[str, Any]:
    r = api.as_("ehs_manager").post(
        "/api/v1/facilities",
        {
            "event_id": str(uuid4()),
            "site_id": str(api.world.site_a),
            "code": code,
            "name": code,
            "type": type_,
            **kw,
        },
    )
    assert r.status_code == 201, r.text
    return r.json()


def zone(api: Api, code: str, **kw: Any) -> str:
    r = api.as_("ehs_manager").post(
        "/api/v1/zones",
        {
            "event_id": str(uuid4()),
            "site_id": str(api.world.site_a),
            "code": code,
            "name": code,
            **kw,
        },
    )
    assert r.status_code == 201, r.text
    return str(r.json()["zone_id"])


def labelled(api: Api, **body: Any) -> dict[str, Any]:
    op = api.as_("operator")
    return op.step(op.generate(**body), "label")


def refused(r: Any, rule: str) -> dict[str, Any]:
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["error"] == "rule_violation"
    finding = next(v for v in body["violations"] if v["rule_id"] == rule)
    assert finding["severity"] == "block" and finding["citation"]["document"]
    return finding


def test_acid_into_a_zone_holding_alkali_is_refused(api: Api) -> None:
    op = api.as_("operator")
    a1 = str(api.world.zones["A1"])
    op.step(labelled(api, **ALKALI), "store", zone_id=a1)
    acid = labelled(api, **ACID)
    f = refused(op.act(acid, "store", zone_id=a1), "R17")
    assert f["citation"]["clause"] == "Art. 81 ¶1; GB 18597 4.3, 6.1.2"
    assert "HW35" in f["message_zh"]
    assert op.get(f"/api/v1/lots/{acid['lot_id']}").json()["status"] == "labelled"  # not stored
    assert op.get(f"/api/v1/zones/{a1}").json()["lot_count"] == 1


def test_liquid_into_a_zone_with_too_little_containment_is_refused(api: Api) -> None:
    small = zone(api, "C1", containment_l="150")
    f = refused(api.as_("operator").act(labelled(api, **ACID), "store", zone_id=small), "R20")
    assert f["values"]["needed_l"] == "200.000" and f["values"]["containment_l"] == "150.000"


def test_hazardous_lot_into_a_general_waste_yard_is_refused(api: Api) -> None:
    yard = facility(api, "gis_class_ii_yard", "GY1")
    g = zone(api, "GY", facility_id=yard["facility_id"])
    f = refused(api.as_("operator").act(labelled(api), "store", zone_id=g), "R19")
    assert f["citation"]["clause"] == "Art. 81 ¶2; GB 18599 6.5"


def test_a_fourth_tonne_onto_a_storage_spot_is_refused(api: Api) -> None:
    spot = facility(api, "storage_spot", "SP1", surface_antiseepage=True)
    p1 = zone(api, "P1", facility_id=spot["facility_id"], containment_l="1000")
    op = api.as_("operator")
    solid = {
        "waste_code": "271-001-02",
        "name": "精馏残渣",
        "physical_form": "solid",
        "container": {"type": "ibc", "volume_l": "1000", "material": "HDPE"},
    }
    for _ in range(3):
        op.step(labelled(api, **solid, weight_kg="1000"), "store", zone_id=p1)
    assert op.get(f"/api/v1/zones/{p1}").json()["weight_kg"] == "3000.000"
    f = refused(op.act(labelled(api, **solid, weight_kg="0.5"), "store", zone_id=p1), "R29")
    assert f["values"]["total_kg"] == "3000.500" and f["citation"]["clause"] == "8.3.5"
    # the 3 t are the spot's, however its zones divide it: a second zone does not add room
    p2 = zone(api, "P2", facility_id=spot["facility_id"], containment_l="1000")
    f = refused(op.act(labelled(api, **solid, weight_kg="0.5"), "store", zone_id=p2), "R29")
    assert f["values"]["stock_kg"] == "3000.000" and "SP1" in f["message_zh"]
    # a lot moving between the spot's zones is not counted twice
    first = op.get("/api/v1/lots", params={"zone_id": p1}).json()["items"][0]
    moved = op.step(first, "move", zone_id=p2)
    assert moved["zone_id"] == p2


def test_override_by_the_ehs_manager_is_logged_and_by_an_operator_is_403(api: Api) -> None:
    a1 = str(api.world.zones["A1"])
    api.as_("operator").step(labelled(api, **ALKALI), "store", zone_id=a1)
    acid = labelled(api, **ACID)
    r = api.as_("operator").act(acid, "store", zone_id=a1, override_reason="急需腾空车间")
    assert r.status_code == 403 and r.json()["error"] == "permission_denied"
    r = api.as_("ehs_manager").act(acid, "store", zone_id=a1, override_reason="急")
    assert r.status_code == 422  # a reason of at least 5 characters
    body = {
        "event_id": str(uuid4()),
        "expected_version": acid["version"],
        "zone_id": a1,
        "override_reason": "临时存放，已设隔离托盘，24小时内转出",
    }
    r = api.as_("ehs_manager").post(f"/api/v1/lots/{acid['lot_id']}/store", body)
    assert r.status_code == 200, r.text
    assert r.json()["event"]["type"] == "lot.stored"
    again = api.as_("ehs_manager").post(f"/api/v1/lots/{acid['lot_id']}/store", body)
    assert again.json() == r.json()  # the replay answers about the step, like the original
    assert r.json()["lot"]["status"] == "stored"
    events = api.get(f"/api/v1/lots/{acid['lot_id']}/events").json()
    overridden, stored = events[-2], events[-1]
    assert overridden["type"] == "lot.rule_overridden"
    assert overridden["payload"]["rule_ids"] == ["R17"]
    assert overridden["payload"]["reason"].startswith("临时存放")
    assert overridden["actor_id"] == str(api.world.users["ehs_manager"])
    assert stored["type"] == "lot.stored"
    assert any(f["rule_id"] == "R17" for f in stored["findings"])
    assert stored["rule_set_version"]
    assert api.get("/api/v1/audit/verify").json()["status"] == "ok"


def test_warnings_are_recorded_on_the_event(api: Api) -> None:
    zone_id = zone(api, "S1", allowed_categories=["HW35"])
    lot = api.as_("operator").step(labelled(api), "store", zone_id=zone_id)
    events = api.get(f"/api/v1/lots/{lot['lot_id']}/events").json()
    rules = {f["rule_id"]: f["severity"] for f in events[-1]["findings"]}
    assert rules["R18"] == "warn"  # not what the zone sign allows
    assert rules["R27"] == "warn"  # activated carbon from VOC treatment, no gas collection


def test_checks_answer_what_would_happen_without_writing(api: Api) -> None:
    a1 = str(api.world.zones["A1"])
    api.as_("operator").step(labelled(api, **ALKALI), "store", zone_id=a1)
    acid = labelled(api, **ACID)
    before = api.get("/api/v1/audit/verify").json()["events"]
    r = api.as_("operator").post(
        "/api/v1/checks", {"action": "store", "lot_id": acid["lot_id"], "zone_id": a1}
    )
    assert r.status_code == 200
    body = r.json()
    assert body["allowed"] is False and body["overridable"] is True
    assert [f["rule_id"] for f in body["findings"] if f["severity"] == "block"] == ["R17"]
    r = api.as_("operator").post(
        "/api/v1/checks",
        {
            "action": "generate",
            "lot": {
                "site_id": str(api.world.site_a),
                "name": "x",
                "waste_code": "900-040-49",
                "physical_form": "solid",
                "container": {"type": "bag", "volume_l": "50"},
                "weight_kg": "1",
            },
        },
    )
    assert r.json()["allowed"] is False and r.json()["findings"][0]["rule_id"] == "R02"
    assert api.get("/api/v1/audit/verify").json()["events"] == before
    assert api.as_("operator").post("/api/v1/checks", {"action": "store"}).status_code == 422


def test_dry_run_check_reads_a_scan_as_the_step_would(api: Api) -> None:
    """A scanner payload (AIM prefix, lower case, CR/LF) is the lot's own label, as at the
    step itself; another lot's label is R16 in both."""
    op = api.as_("operator")
    a1 = str(api.world.zones["A1"])
    lot, other = labelled(api), labelled(api)
    raw = f"]Q1{lot['digital_id'].lower()}\r\n"

    def check(code: str) -> list[str]:
        body = {"action": "store", "lot_id": lot["lot_id"], "zone_id": a1, "scanned_code": code}
        r = op.post("/api/v1/checks", body)
        assert r.status_code == 200, r.text
        return [f["rule_id"] for f in r.json()["findings"] if f["severity"] == "block"]

    assert check(raw) == []
    assert check(other["digital_id"]) == ["R16"]
    op.step(lot, "store", zone_id=a1, scanned_code=raw)


def test_inspection_finds_a_leak_and_the_lot_must_be_repacked_before_moving(api: Api) -> None:
    op = api.as_("operator")
    a1, a2 = str(api.world.zones["A1"]), str(api.world.zones["A2"])
    lot = op.step(labelled(api), "store", zone_id=a1)
    other = op.step(labelled(api), "store", zone_id=a1)
    r = op.post(
        f"/api/v1/zones/{a1}/inspections",
        {
            "event_id": str(uuid4()),
            "notes": "周检",
            "items": [
                {"lot_id": lot["lot_id"], "condition": "leaking", "notes": "桶底渗漏"},
                {"lot_id": other["lot_id"], "condition": "intact"},
            ],
        },
    )
    assert r.status_code == 201, r.text
    assert r.json()["lots_needing_repack"] == [lot["lot_id"]]
    assert r.json()["zone"]["last_inspected_at"] is not None
    lot = op.get(f"/api/v1/lots/{lot['lot_id']}").json()
    assert lot["needs_repack"] is True
    inspected = api.get(f"/api/v1/lots/{lot['lot_id']}/events").json()[-1]
    assert inspected["type"] == "lot.inspected"
    assert [(f["rule_id"], f["severity"]) for f in inspected["findings"]] == [("R25", "warn")]
    refused(op.act(lot, "move", zone_id=a2), "R25")
    lot = op.step(
        lot,
        "repack",
        container={"type": "drum", "volume_l": "200", "material": "HDPE"},
        reason="换新桶",
    )
    assert op.step(lot, "move", zone_id=a2)["zone_code"] == "A2"
    bad = op.post(
        f"/api/v1/zones/{a2}/inspections",
        {"event_id": str(uuid4()), "items": [{"lot_id": other["lot_id"], "condition": "intact"}]},
    )
    assert bad.status_code == 422  # that lot is not in A2


def test_facility_audit_warnings_and_rule_catalogue(api: Api) -> None:
    f = facility(
        api,
        "storage_warehouse",
        "WH9",
        direct_ground_contact=True,
        base_liner="clay",
        liner_thickness_mm="800",
        liner_permeability_cm_s=1e-7,
    )
    rules = {x["rule_id"] for x in f["audit_findings"]}
    assert rules == {"R22"} and len(f["audit_findings"]) == 2  # no surface seal; clay < 1 m
    r = api.as_("ehs_manager").patch(
        f"/api/v1/facilities/{f['facility_id']}",
        {
            "event_id": str(uuid4()),
            "expected_version": 1,
            "surface_antiseepage": True,
            "liner_thickness_mm": "1000",
        },
    )
    assert r.status_code == 200 and r.json()["audit_findings"] == []
    cat = api.get("/api/v1/rules").json()
    assert cat["rule_set_version"].startswith("2026.11")
    r17 = next(r for r in cat["rules"] if r["id"] == "R17")
    assert r17["severity"] == "block" and r17["citation"]["confidence"] == "3P"
    assert cat["parameters"]["storage"]["spot_limit_kg"] == 3000


def test_zone_configuration_is_versioned(api: Api) -> None:
    a1 = str(api.world.zones["A1"])
    mgr = api.as_("ehs_manager")
    r = mgr.patch(
        f"/api/v1/zones/{a1}",
        {
            "event_id": str(uuid4()),
            "expected_version": 1,
            "allowed_categories": ["hw34"],
            "gas_collection": True,
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["allowed_categories"] == ["HW34"] and r.json()["version"] == 2
    stale = mgr.patch(
        f"/api/v1/zones/{a1}",
        {"event_id": str(uuid4()), "expected_version": 1, "gas_collection": False},
    )
    assert stale.status_code == 409
    bad = mgr.patch(
        f"/api/v1/zones/{a1}",
        {"event_id": str(uuid4()), "expected_version": 2, "allowed_categories": ["acid"]},
    )
    assert bad.status_code == 422
    assert (
        api.as_("operator")
        .patch(
            f"/api/v1/zones/{a1}",
            {"event_id": str(uuid4()), "expected_version": 2, "gas_collection": False},
        )
        .status_code
        == 403
    )


def test_repacking_checks_the_new_container(api: Api) -> None:
    op = api.as_("operator")
    acid = op.step(labelled(api, **ACID), "inspect", condition="leaking")
    r = op.act(
        acid,
        "repack",
        container={"type": "drum", "volume_l": "200", "material": "steel"},
        reason="换桶",
    )
    assert refused(r, "R23")["citation"]["clause"] == "7.1"
    acid = op.step(
        acid,
        "repack",
        container={"type": "drum", "volume_l": "200", "material": "HDPE"},
        reason="换新的塑料桶",
    )
    assert acid["needs_repack"] is False
