"""Limits: request body size (413, declared and streamed), a larger limit for evidence uploads,
sync batch size and page size (422), each with a clear error body."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import uuid4

from tests.support.client import Api, lot_body


def _auth(api: Api, user: str = "admin") -> dict[str, str]:
    return {"Authorization": f"Bearer {api.token(user)}", "Content-Type": "application/json"}


def test_declared_body_over_the_limit_is_413_before_reading(sqlite_api: Api) -> None:
    api = sqlite_api
    limit = api.ctx.settings.limits.body_max_bytes
    body = b'{"x":"' + b"a" * limit + b'"}'
    r = api.client.post("/api/v1/lots", content=body, headers=_auth(api))
    assert r.status_code == 413, r.text
    j = r.json()
    assert j["error"] == "too_large" and j["limit_bytes"] == limit
    assert str(limit) in j["detail"]


def test_streamed_body_over_the_limit_is_413(sqlite_api: Api) -> None:
    api = sqlite_api
    limit = api.ctx.settings.limits.body_max_bytes

    def chunks() -> Iterator[bytes]:
        yield b'{"x":"'
        for _ in range(limit // 65536 + 2):
            yield b"a" * 65536
        yield b'"}'

    r = api.client.post("/api/v1/lots", content=chunks(), headers=_auth(api))
    assert "content-length" not in {k.lower() for k in r.request.headers}
    assert r.status_code == 413, r.text
    assert r.json()["error"] == "too_large"
    # nothing was written
    assert api.get("/api/v1/lots").json()["items"] == []


def test_normal_bodies_pass_and_uploads_get_the_larger_limit(sqlite_api: Api) -> None:
    api = sqlite_api
    assert api.post("/api/v1/lots", lot_body(api.world.site_a)).status_code == 201
    lim = api.ctx.settings.limits
    size = lim.body_max_bytes + 1024  # above the JSON limit, below the upload limit
    assert size < lim.upload_max_bytes
    files = {"file": ("evidence.txt", b"x" * size, "text/plain")}
    data = {
        "event_id": str(uuid4()),
        "site_id": str(api.world.site_a),
        "year": "2025",
        "criterion": "s_compliance",
    }
    r = api.client.post(
        "/api/v1/scorecard/evidence",
        data=data,
        files=files,
        headers={"Authorization": f"Bearer {api.token('admin')}"},
    )
    assert r.status_code != 413, r.text
    # the same size elsewhere is refused
    r = api.client.post(
        "/api/v1/lots",
        files=files,
        headers={"Authorization": f"Bearer {api.token('admin')}"},
    )
    assert r.status_code == 413


def test_page_size_over_the_maximum_is_422(sqlite_api: Api) -> None:
    for path in ("/api/v1/lots", "/api/v1/manifests", "/api/v1/alerts", "/api/v1/waste-codes"):
        r = sqlite_api.get(path, params={"limit": 501})
        assert r.status_code == 422, (path, r.text)
        j = r.json()
        assert j["error"] == "validation_error" and "limit" in j["detail"], j
        assert sqlite_api.get(path, params={"limit": 500}).status_code == 200, path


def test_an_offset_past_the_maximum_is_422_on_every_list(sqlite_api: Api) -> None:
    """Every operation paging with `offset` (found in the OpenAPI document, so a new list is
    covered) and the console's lists refuse one past what the database's integers hold with a
    422 naming it; SQLite raised an overflow there (500)."""
    from app.deps import MAX_OFFSET
    from tests.web.support import Web

    spec = sqlite_api.client.get("/openapi.json").json()
    paged = [
        path
        for path, ops in spec["paths"].items()
        if any(p["name"] == "offset" for p in ops.get("get", {}).get("parameters", []))
    ]
    assert len(paged) >= 7, paged
    site = str(sqlite_api.world.site_a)
    for path in paged:
        path = path.replace("{criterion}", "e_label_coverage")
        params = {"site_id": site, "year": 2026}
        r = sqlite_api.get(path, params={**params, "offset": 2**63})
        assert r.status_code == 422 and "offset" in r.json()["detail"], (path, r.text)
        r = sqlite_api.get(path, params={**params, "offset": MAX_OFFSET})
        assert r.status_code == 200, (path, r.text)
    web = Web(sqlite_api, "admin")
    for page in ("/lots", "/manifests", "/scorecard/items/e_label_coverage/lots"):
        r = web.get(page, params={"site": site, "year": 2026, "offset": 2**63})
        assert r.status_code == 422, (page, r.status_code)
        ok = web.get(page, params={"site": site, "year": 2026, "offset": MAX_OFFSET})
        assert ok.status_code == 200, (page, ok.status_code)


def test_sync_batch_over_the_maximum_is_422_with_the_limit(sqlite_api: Api) -> None:
    from tests.mobile.conftest import Handheld, item

    api = sqlite_api
    pda = Handheld(api, api.world.site_a, "operator")
    api.ctx.settings.mobile.max_batch = 3
    lot = api.as_("operator").step(api.as_("operator").generate(), "label")
    r = pda.sync([item("weigh", lot, weight_kg="1") for _ in range(4)])
    assert r.status_code == 422
    j = r.json()
    assert j["error"] == "batch_too_large" and j["max_batch"] == 3 and "at most 3" in j["detail"]
