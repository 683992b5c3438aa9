"""Handheld fixtures: an enrolled device at site SZ01 with `operator` signed in on it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote
from uuid import UUID, uuid4

import pytest
from httpx import Response

from tests.support.client import Api
from tests.support.world import PASSWORD


def now_iso(delta: timedelta = timedelta(0)) -> str:
    return (datetime.now(UTC) + delta).isoformat()


class Handheld:
    """A device session: enrolled by admin, `username` signed in on it."""

    def __init__(self, api: Api, site: UUID, username: str, admin: str = "admin") -> None:
        self.api = api
        r = api.as_(admin).post("/mobile/v1/devices", {"site_id": str(site), "name": "PDA-01"})
        assert r.status_code == 201, r.text
        self.device_id = UUID(r.json()["device_id"])
        self.device_token = r.json()["device_token"]
        r = self.client.post(
            "/mobile/v1/auth/sign-in",
            json={"username": username, "password": PASSWORD},
            headers=self._auth(self.device_token),
        )
        assert r.status_code == 200, r.text
        self.session = r.json()
        self.token = self.session["access_token"]

    @property
    def client(self) -> Any:
        return self.api.client

    @staticmethod
    def _auth(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def get(self, path: str, **kw: Any) -> Response:
        return self.client.get(path, headers=self._auth(self.token), **kw)

    def post(self, path: str, json: Any = None) -> Response:
        return self.client.post(path, json=json, headers=self._auth(self.token))

    def scan(self, code: str, **params: Any) -> Response:
        return self.get(f"/mobile/v1/scan/{quote(code, safe='')}", params=params)

    def act(self, action: str, **body: Any) -> Response:
        return self.post("/mobile/v1/actions", item(action, **body))

    def sync(self, items: list[dict[str, Any]]) -> Response:
        return self.post("/mobile/v1/sync", {"items": items})


def item(action: str, lot: dict[str, Any] | None = None, **body: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"action": action, "event_id": str(uuid4()), "occurred_at": now_iso()}
    if lot is not None:
        out["lot_id"] = lot["lot_id"]
        out["expected_version"] = lot["version"]
    out.update(body)
    return out


def generate_item(**body: Any) -> dict[str, Any]:
    base = {
        "name": "废活性炭",
        "waste_code": "900-039-49",
        "physical_form": "solid",
        "container": {"type": "bag", "volume_l": "200"},
        "weight_kg": "50",
        "main_components": "活性炭",
        "harmful_components": "有机物",
        "precautions": "防火",
    }
    base.update(body)
    return item("generate", **base)


@pytest.fixture
def pda(api: Api) -> Handheld:
    return Handheld(api, api.world.site_a, "operator")
