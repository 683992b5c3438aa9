"""Scenario helpers for manifest tests: parties with licences, stored lots, manifests
driven through their lifecycle over the API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from tests.support.client import Api

TODAY = datetime.now(UTC).date()


@dataclass
class Parties:
    licence: str
    carrier_licence: str
    vehicle: str
    driver: str
    escort: str
    facility: str


def uid() -> str:
    return str(uuid4())


def ok(r: Any, code: int = 200) -> dict[str, Any]:
    assert r.status_code == code, r.text
    return r.json()  # type: ignore[no-any-return]


def setup_parties(api: Api, **licence_overrides: Any) -> Parties:
    """Handler licence (HW49/HW06/HW34 with methods), carrier licence, vehicle, crew,
    contracts, this year's plan, and a storage facility behind zones A1 and A2."""
    w = api.world
    admin = api.as_("admin")
    lic_body = {
        "enterprise_id": str(w.handler_org),
        "licence_no": "JSSZ0506OOD001-3",
        "kind": "comprehensive",
        "division_code": "320506",
        "facility_address": "苏州市吴中区处置路 1 号",
        "issuer": "江苏省生态环境厅",
        "valid_from": str(TODAY - timedelta(days=400)),
        "valid_to": str(TODAY + timedelta(days=800)),
        "items": [
            {"category": "HW49", "methods": ["D10", "R15"], "annual_capacity_t": "5000"},
            {"category": "HW06", "methods": ["R2", "D10"], "annual_capacity_t": "3000"},
            {
                "category": "HW34",
                "waste_codes": ["900-349-34"],
                "methods": ["D9"],
                "annual_capacity_t": "1000",
            },
        ],
    }
    lic_body.update(licence_overrides)
    lic = ok(admin.post("/api/v1/parties/handler-licences", lic_body), 201)
    cl = ok(
        admin.post(
            "/api/v1/parties/carrier-licences",
            {
                "enterprise_id": str(w.carrier_org),
                "licence_no": "苏交运管许可苏字320500001234号",
                "dg_classes": ["3", "6.1", "8", "9"],
                "valid_from": str(TODAY - timedelta(days=300)),
                "valid_to": str(TODAY + timedelta(days=700)),
            },
        ),
        201,
    )
    vehicle = ok(
        admin.post(
            "/api/v1/parties/vehicles",
            {
                "enterprise_id": str(w.carrier_org),
                "plate": "苏E·D1234",
                "transport_cert_no": "苏交运管苏字320500012345号",
                "vehicle_type": "dg_van",
                "dg_classes": ["3", "6.1", "8", "9"],
                "valid_to": str(TODAY + timedelta(days=300)),
            },
        ),
        201,
    )
    crew = {}
    for role, name in [("driver", "周师傅"), ("escort", "吴押运")]:
        crew[role] = ok(
            admin.post(
                "/api/v1/parties/crew",
                {
                    "enterprise_id": str(w.carrier_org),
                    "name": name,
                    "role": role,
                    "qualification_no": f"3205001990{role[:2]}",
                    "valid_to": str(TODAY + timedelta(days=500)),
                },
            ),
            201,
        )
    for kind, org in [("handler", w.handler_org), ("carrier", w.carrier_org)]:
        ok(
            admin.post(
                "/api/v1/parties/contracts",
                {
                    "consignor_enterprise_id": str(w.plant),
                    "counterparty_enterprise_id": str(org),
                    "kind": kind,
                    "contract_no": f"HT-{kind}-2026",
                    "valid_from": str(TODAY - timedelta(days=100)),
                    "valid_to": str(TODAY + timedelta(days=300)),
                },
            ),
            201,
        )
    ok(
        admin.post(
            "/api/v1/parties/plans",
            {
                "site_id": str(w.site_a),
                "year": TODAY.year,
                "filing_no": f"320571-{TODAY.year}-0001",
                "filed_on": str(date(TODAY.year, 3, 1)),
                "items": [
                    {
                        "waste_code": c,
                        "handler_enterprise_id": str(w.handler_org),
                        "planned_t": "50",
                    }
                    for c in ("900-039-49", "900-402-06", "900-349-34", "900-041-49")
                ],
            },
        ),
        201,
    )
    fac = ok(
        admin.post(
            "/api/v1/facilities",
            {
                "event_id": uid(),
                "site_id": str(w.site_a),
                "code": "WH1",
                "name": "危险废物贮存库",
                "type": "storage_warehouse",
                "surface_antiseepage": True,
            },
        ),
        201,
    )
    for code in ("A1", "A2"):
        zone = ok(admin.get(f"/api/v1/zones/{w.zones[code]}"))
        ok(
            admin.patch(
                f"/api/v1/zones/{w.zones[code]}",
                {
                    "event_id": uid(),
                    "expected_version": zone["version"],
                    "facility_id": fac["facility_id"],
                },
            )
        )
    return Parties(
        licence=lic["id"],
        carrier_licence=cl["id"],
        vehicle=vehicle["id"],
        driver=crew["driver"]["id"],
        escort=crew["escort"]["id"],
        facility=fac["facility_id"],
    )


def stored_lot(api: Api, zone: str = "A1", **overrides: Any) -> dict[str, Any]:
    op = api.as_("operator")
    lot = op.generate(**overrides)
    lot = op.step(lot, "label")
    return op.step(lot, "store", zone_id=str(api.world.zones[zone]))


def draft(
    api: Api, lots: list[dict[str, Any]], method: str = "D10", **overrides: Any
) -> dict[str, Any]:
    by_code: dict[str, list[str]] = {}
    for lot in lots:
        by_code.setdefault(lot["waste_code"], []).append(lot["lot_id"])
    body = {
        "event_id": uid(),
        "site_id": str(api.world.site_a),
        "handler_enterprise_id": str(api.world.handler_org),
        "carrier_enterprise_id": str(api.world.carrier_org),
        "planned_date": str(TODAY),
        "emergency_measures": "泄漏时用吸附棉围堵，联系 0512-62880000",
        "lines": [
            {
                "waste_code": code,
                "lot_ids": ids,
                "planned_method": method,
                "un_number": "UN3077",
                "dg_class": "9",
            }
            for code, ids in by_code.items()
        ],
    }
    body.update(overrides)
    return ok(api.as_("ehs_manager").post("/api/v1/manifests", body), 201)["manifest"]


def act(api: Api, user: str, m: dict[str, Any], action: str, **body: Any) -> Any:
    payload = {"event_id": uid(), "expected_version": m["version"], **body}
    return api.as_(user).post(f"/api/v1/manifests/{m['manifest_id']}/{action}", payload)


def step(api: Api, user: str, m: dict[str, Any], action: str, **body: Any) -> dict[str, Any]:
    return ok(act(api, user, m, action, **body))["manifest"]  # type: ignore[no-any-return]


def load_body(p: Parties, m: dict[str, Any], **over: Any) -> dict[str, Any]:
    body = {
        "scanned": [lot["digital_id"] for lot in m["lots"]],
        "vehicle_id": p.vehicle,
        "driver_id": p.driver,
        "escort_id": p.escort,
        "dg_waybill_no": "YD20261121001",
    }
    body.update(over)
    return body


def to_in_transit(api: Api, p: Parties, m: dict[str, Any]) -> dict[str, Any]:
    m = step(api, "ehs_manager", m, "submit")
    m = step(api, "operator", m, "load", **load_body(p, m))
    code = ok(
        api.as_("transporter").post(
            f"/api/v1/manifests/{m['manifest_id']}/challenges", {"step": "dispatch"}
        ),
        201,
    )
    return step(api, "operator", m, "dispatch", counterpart_code=code["qr_payload"])


def to_received(
    api: Api, p: Parties, m: dict[str, Any], weights: dict[str, str] | None = None
) -> dict[str, Any]:
    m = to_in_transit(api, p, m)
    m = step(api, "transporter", m, "sign", step="receipt")
    lots = [
        {
            "lot_id": lot["lot_id"],
            "received_kg": (weights or {}).get(lot["lot_id"], lot["weight_kg"]),
        }
        for lot in m["lots"]
    ]
    return step(api, "handler", m, "receive", lots=lots)


def lot_of(api: Api, lot_id: str) -> dict[str, Any]:
    return ok(api.as_("admin").get(f"/api/v1/lots/{lot_id}"))


def _id(x: Any) -> UUID:
    return UUID(str(x))
