"""Login throttling: failed sign-ins per username and per client address in a sliding window
give 429 with Retry-After, on the API token route, the web sign-in and the handheld sign-in."""

from __future__ import annotations

import re

from app.core.throttle import LoginThrottle
from tests.support.client import Api
from tests.support.world import PASSWORD


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def _throttle(api: Api, *, per_user: int = 3, per_client: int = 6) -> FakeClock:
    clock = FakeClock()
    api.ctx.__dict__["login_throttle"] = LoginThrottle(
        per_username=per_user, per_client=per_client, window_seconds=600, clock=clock
    )
    return clock


def _token(api: Api, username: str, password: str) -> object:
    return api.client.post("/api/v1/auth/token", data={"username": username, "password": password})


def test_token_route_locks_a_username_then_the_window_slides(sqlite_api: Api) -> None:
    api = sqlite_api
    clock = _throttle(api)
    for _ in range(3):
        assert _token(api, "operator", "guess").status_code == 401
    r = _token(api, "operator", PASSWORD)  # even the right password waits
    assert r.status_code == 429, r.text
    assert r.json()["error"] == "too_many_attempts"
    assert 1 <= int(r.headers["retry-after"]) <= 600
    assert r.json()["retry_after"] == int(r.headers["retry-after"])
    # usernames are case-insensitive: no way around the lock
    assert _token(api, "OPERATOR", PASSWORD).status_code == 429
    # another user from the same address is not locked yet
    assert _token(api, "admin", PASSWORD).status_code == 200
    clock.t += 601
    assert _token(api, "operator", PASSWORD).status_code == 200


def test_success_clears_the_username_failures(sqlite_api: Api) -> None:
    api = sqlite_api
    _throttle(api)
    for _ in range(2):
        assert _token(api, "operator", "guess").status_code == 401
    assert _token(api, "operator", PASSWORD).status_code == 200
    for _ in range(2):
        assert _token(api, "operator", "guess").status_code == 401
    assert _token(api, "operator", PASSWORD).status_code == 200


def test_one_address_spraying_many_usernames_is_locked(sqlite_api: Api) -> None:
    api = sqlite_api
    _throttle(api, per_user=100, per_client=6)
    for i in range(6):
        assert _token(api, f"ghost{i}", "guess").status_code == 401
    r = _token(api, "admin", PASSWORD)
    assert r.status_code == 429 and "retry-after" in r.headers


def test_mobile_sign_in_is_throttled(sqlite_api: Api) -> None:
    api = sqlite_api
    r = api.as_("admin").post(
        "/mobile/v1/devices", {"site_id": str(api.world.site_a), "name": "PDA"}
    )
    device = {"Authorization": f"Bearer {r.json()['device_token']}"}
    _throttle(api)

    def sign_in(password: str) -> object:
        return api.client.post(
            "/mobile/v1/auth/sign-in",
            json={"username": "operator", "password": password},
            headers=device,
        )

    for _ in range(3):
        assert sign_in("guess").status_code == 401
    r = sign_in(PASSWORD)
    assert r.status_code == 429 and r.json()["error"] == "too_many_attempts"
    assert "retry-after" in r.headers
    # the lock is per username across every sign-in route
    assert _token(api, "operator", PASSWORD).status_code == 429


def test_web_sign_in_is_throttled(sqlite_api: Api) -> None:
    api = sqlite_api
    _throttle(api)
    form = api.client.get("/login")
    m = re.search(r'name="csrf" value="([^"]+)"', form.text)
    csrf = m.group(1) if m else ""

    def login(password: str) -> object:
        return api.client.post(
            "/login",
            data={"username": "operator", "password": password, "csrf": csrf},
            follow_redirects=False,
        )

    for _ in range(3):
        assert login("guess").status_code == 401
    r = login(PASSWORD)
    assert r.status_code == 429, r.text[:300]
    assert _token(api, "operator", PASSWORD).status_code == 429
