"""Control characters (C0, other than tab and the line breaks) are refused at the door on both
databases: in a JSON body at any depth, a query, a path, a console form. PostgreSQL cannot hold
NUL in text (it failed deep in a flush, a 500) and the ledger's XLSX cannot hold the others.
A file uploaded as evidence is not text and keeps its bytes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote
from uuid import uuid4

from fastapi.routing import APIRoute

from app.core.routing import CheckedRoute
from tests.support.client import Api, lot_body
from tests.web.support import Web


def _loc(r: Any) -> list[Any]:
    """Where the 422 says the control character stands."""
    j = r.json()
    assert r.status_code == 422 and j["error"] == "validation_error", r.text
    assert "control characters" in j["detail"], j
    (field,) = j["fields"]
    return field["loc"]  # type: ignore[no-any-return]


def _lots(api: Api) -> int:
    r = api.as_("admin").get("/api/v1/lots", params={"site_id": str(api.world.site_a)})
    return int(r.json()["total"])


def test_a_control_character_anywhere_in_a_body_is_a_422_naming_where(api: Api) -> None:
    before = _lots(api)
    op = api.as_("operator")
    for where, body, loc in [
        ("a name", lot_body(api.world.site_a, name="废活性炭\x00"), ["body", "name"]),
        (
            "an object's field",
            lot_body(
                api.world.site_a,
                container={"type": "bag", "volume_l": "200", "material": "P\x1fP"},
            ),
            ["body", "container", "material"],
        ),
        ("a key", {**lot_body(api.world.site_a), "x\x07": 1}, ["body", "x\x07"]),
    ]:
        assert _loc(op.post("/api/v1/lots", body)) == loc, where
    assert _lots(api) == before  # nothing went in
    # a handheld batch: the item and its field are named
    lot = op.generate()
    item = {
        "action": "inspect",
        "event_id": str(uuid4()),
        "occurred_at": datetime.now(UTC).isoformat(),
        "lot_id": lot["lot_id"],
        "expected_version": lot["version"],
        "condition": "intact",
        "notes": "ok\x00",
    }
    device = _device_token(api)
    r = api.client.post(
        "/mobile/v1/sync",
        json={"items": [item]},
        headers={"Authorization": f"Bearer {device}"},
    )
    assert _loc(r) == ["body", "items", 0, "notes"]
    # tab and line breaks are text: a note on two lines goes in
    r = op.post(
        f"/api/v1/lots/{lot['lot_id']}/inspect",
        {
            "event_id": str(uuid4()),
            "expected_version": lot["version"],
            "condition": "intact",
            "notes": "桶盖\t完好\r\n标签清晰",
        },
    )
    assert r.status_code == 200, r.text


def test_queries_paths_and_console_forms_are_refused_alike(api: Api) -> None:
    admin = api.as_("admin")
    r = admin.get("/api/v1/lots", params={"site_id": str(api.world.site_a), "code": "a\x00"})
    assert _loc(r) == ["query", "code"]
    lot = api.as_("operator").generate()
    r = admin.get(f"/api/v1/zones/{api.world.zones['A1']}%00")
    assert r.status_code in (404, 422), r.text  # not an id either way, never a 500
    # a scanner's payload is the exception: normalise_scan cleans it (GS, NUL), and looks up
    scanned = quote(f"{lot['digital_id']}\x1d\x00", safe="")
    assert admin.get(f"/api/v1/lots/by-code/{scanned}").json()["lot_id"] == lot["lot_id"]
    web = Web(api, "ehs_manager")
    page = web.get("/lots", params={"q": "a\x00b"})  # was a 500 on PostgreSQL
    assert page.status_code == 422 and "control characters" in page.text
    year = datetime.now(UTC).year
    form = {
        "site": str(api.world.site_a),
        "period": str(year - 1),
        "filed_on": f"{year}-01-10",
        "receipt_no": "SB\x00001",
        "event_id": str(uuid4()),
    }
    r = web.post("/exports/declaration/filings", form)
    assert r.status_code == 422 and "control characters" in r.text
    cal = admin.get(
        "/api/v1/exports/declaration/filings", params={"site_id": str(api.world.site_a)}
    ).json()
    assert not any(p["filings"] for p in cal["periods"])  # nothing filed


def test_an_evidence_file_keeps_its_bytes(api: Api) -> None:
    data = {
        "event_id": str(uuid4()),
        "site_id": str(api.world.site_a),
        "year": "2025",
        "criterion": "s_compliance",
    }
    content = b"%PDF-1.4\x00\x01\x1f binary"
    r = api.client.post(
        "/api/v1/scorecard/evidence",
        data=data,
        files={"file": ("permit.pdf", content, "application/pdf")},
        headers={"Authorization": f"Bearer {api.token('ehs_manager')}"},
    )
    assert r.status_code == 201, r.text
    got = api.as_("ehs_manager").get(r.json()["download_url"])
    assert got.status_code == 200 and got.content == content
    # its text fields are checked like any form's
    r = api.client.post(
        "/api/v1/scorecard/evidence",
        data={**data, "event_id": str(uuid4()), "description": "许可证\x00"},
        files={"file": ("permit.pdf", content, "application/pdf")},
        headers={"Authorization": f"Bearer {api.token('ehs_manager')}"},
    )
    assert _loc(r) == ["body", "description"]


def test_every_route_checks_what_it_is_sent(api: Api) -> None:
    """A router created without `route_class=CheckedRoute` would let control characters
    through: every route the app serves is one (the console's `WebRoute` is a subclass)."""

    def routes(router: Any) -> list[Any]:
        out = []
        for r in router.routes:
            original = getattr(r, "original_router", None)
            out += routes(original) if original is not None else [r]
        return out

    served = [r for r in routes(api.app.router) if isinstance(r, APIRoute)]
    assert len(served) > 150
    unchecked = [r.path for r in served if not isinstance(r, CheckedRoute)]
    assert unchecked == [], unchecked


def _device_token(api: Api) -> str:
    from tests.support.world import PASSWORD

    r = api.as_("admin").post(
        "/mobile/v1/devices", {"site_id": str(api.world.site_a), "name": "PDA-CTRL"}
    )
    r = api.client.post(
        "/mobile/v1/auth/sign-in",
        json={"username": "operator", "password": PASSWORD},
        headers={"Authorization": f"Bearer {r.json()['device_token']}"},
    )
    return str(r.json()["access_token"])
