"""An API client for tests: the real app on a real database, tokens per demo role."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from fastapi.testclient import TestClient
from httpx import Response

from app.core.security import create_token
from app.main import create_app
from tests.support.world import JWT_SECRET, World, make_settings


class Api:
    def __init__(self, client: TestClient, world: World, url: str) -> None:
        self.client = client
        self.world = world
        self.url = url
        self.role = "admin"

    @classmethod
    def start(cls, url: str, world: World, tmp: Path) -> Api:
        app = create_app(make_settings(url, tmp))
        return cls(TestClient(app), world, url)

    @property
    def app(self) -> Any:
        return self.client.app

    @property
    def ctx(self) -> Any:
        return self.client.app.state.ctx  # type: ignore[attr-defined]

    def close(self) -> None:
        self.ctx.db.dispose()
        self.client.close()

    def token(self, username: str, **overrides: Any) -> str:
        now = datetime.now(UTC)
        return create_token(
            secret=overrides.pop("secret", JWT_SECRET),
            subject=self.world.users[username],
            token_type=overrides.pop("token_type", "user"),
            audience=overrides.pop("audience", "hazchain-api"),
            issuer="hazchain",
            now=overrides.pop("now", now),
            ttl=overrides.pop("ttl", timedelta(hours=1)),
        )

    def as_(self, username: str) -> Api:
        other = Api(self.client, self.world, self.url)
        other.role = username
        return other

    def _headers(self, headers: dict[str, str] | None) -> dict[str, str]:
        h = {"Authorization": f"Bearer {self.token(self.role)}"} if self.role else {}
        h.update(headers or {})
        return h

    def get(self, path: str, **kw: Any) -> Response:
        return self.client.get(path, headers=self._headers(kw.pop("headers", None)), **kw)

    def post(self, path: str, json: Any = None, **kw: Any) -> Response:
        return self.client.post(
            path, json=json, headers=self._headers(kw.pop("headers", None)), **kw
        )

    def patch(self, path: str, json: Any = None, **kw: Any) -> Response:
        return self.client.patch(
            path, json=json, headers=self._headers(kw.pop("headers", None)), **kw
        )

    # ------------------------------------------------------------ scenario helpers

    def generate(self, site: UUID | None = None, **overrides: Any) -> dict[str, Any]:
        r = self.post("/api/v1/lots", lot_body(site or self.world.site_a, **overrides))
        assert r.status_code == 201, r.text
        return r.json()["lot"]

    def act(self, lot: dict[str, Any], action: str, **body: Any) -> Response:
        payload = {"event_id": str(uuid4()), "expected_version": lot["version"], **body}
        return self.post(f"/api/v1/lots/{lot['lot_id']}/{action}", payload)

    def step(self, lot: dict[str, Any], action: str, **body: Any) -> dict[str, Any]:
        r = self.act(lot, action, **body)
        assert r.status_code == 200, r.text
        return r.json()["lot"]


def lot_body(site_id: UUID, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "event_id": str(uuid4()),
        "site_id": str(site_id),
        "kind": "hazardous",
        "name": "废活性炭",
        "waste_code": "900-039-49",
        "physical_form": "solid",
        "container": {"type": "bag", "volume_l": "200", "material": "PP"},
        "weight_kg": "125.5",
        "main_components": "活性炭、有机物",
        "harmful_components": "挥发性有机物",
        "precautions": "防潮、防火，远离热源",
    }
    body.update(overrides)
    return body
