"""Sign-in, tokens, roles and site scope; enterprises, sites and users administration."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from tests.support.client import Api
from tests.support.world import PASSWORD


def test_password_flow_token_works_and_wrong_password_is_401(api: Api) -> None:
    r = api.client.post("/api/v1/auth/token", data={"username": "operator", "password": PASSWORD})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "bearer" and body["role"] == "operator"
    me = api.client.get(
        "/api/v1/users/me", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert me.status_code == 200 and me.json()["username"] == "operator"
    bad = api.client.post("/api/v1/auth/token", data={"username": "operator", "password": "nope"})
    assert bad.status_code == 401 and bad.json()["error"] == "unauthenticated"
    ghost = api.client.post("/api/v1/auth/token", data={"username": "ghost", "password": "nope"})
    assert ghost.status_code == 401 and ghost.json()["detail"] == bad.json()["detail"]


@pytest.mark.parametrize(
    "variant",
    ["missing", "expired", "wrong_secret", "wrong_audience", "device_type", "alg_none", "garbage"],
)
def test_bad_tokens_are_401(api: Api, variant: str) -> None:
    now = datetime.now(UTC)
    token = {
        "missing": None,
        "expired": api.token("admin", now=now - timedelta(hours=3), ttl=timedelta(hours=1)),
        "wrong_secret": api.token("admin", secret="another-secret-of-sufficient-length-xx"),
        "wrong_audience": api.token("admin", audience="someone-else"),
        "device_type": api.token("admin", token_type="device"),
        "alg_none": jwt.encode(
            {
                "sub": str(api.world.users["admin"]),
                "typ": "user",
                "aud": "hazchain-api",
                "iss": "hazchain",
                "exp": int((now + timedelta(hours=1)).timestamp()),
                "iat": int(now.timestamp()),
            },
            None,
            algorithm="none",
        ),
        "garbage": "not.a.token",
    }[variant]
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    r = api.client.get("/api/v1/lots", headers=headers)
    assert r.status_code == 401, r.text
    assert r.json()["error"] == "unauthenticated"
    assert r.headers["www-authenticate"] == "Bearer"


def test_disabled_user_is_refused(api: Api) -> None:
    r = api.patch(f"/api/v1/users/{api.world.users['operator']}", {"is_active": False})
    assert r.status_code == 200 and r.json()["is_active"] is False
    assert api.as_("operator").get("/api/v1/lots").status_code == 401


@pytest.mark.parametrize(
    ("role", "method", "path", "expected"),
    [
        ("operator", "get", "/api/v1/users", 403),
        ("ehs_manager", "get", "/api/v1/users", 403),
        ("auditor", "post", "/api/v1/lots", 403),
        ("handler", "get", "/api/v1/lots", 403),
        ("transporter", "get", "/api/v1/audit/verify", 403),
        ("auditor", "get", "/api/v1/audit/verify", 200),
        ("auditor", "post", "/api/v1/audit/checkpoints", 403),
        ("ehs_manager", "post", "/api/v1/audit/checkpoints", 201),
        ("operator", "post", "/api/v1/zones", 403),
        ("handler", "get", "/api/v1/waste-codes", 200),
        ("admin", "get", "/api/v1/users", 200),
    ],
)
def test_role_matrix(api: Api, role: str, method: str, path: str, expected: int) -> None:
    caller = api.as_(role)
    r = caller.get(path) if method == "get" else caller.post(path, {})
    if expected == 403:
        assert r.status_code == 403 and r.json()["error"] == "permission_denied", r.text
    elif method == "post" and expected != 201:
        assert r.status_code in (expected, 422)
    else:
        assert r.status_code == expected, r.text


def test_operator_of_site_b_cannot_see_or_move_a_lot_of_site_a(api: Api) -> None:
    lot = api.as_("operator").generate()
    other = api.as_("operator_b")
    assert other.get(f"/api/v1/lots/{lot['lot_id']}").status_code == 404
    assert other.get(f"/api/v1/lots/{lot['lot_id']}/events").status_code == 404
    r = other.act(lot, "label")
    assert r.status_code == 404
    r = other.post("/api/v1/lots", {**_body(api), "site_id": str(api.world.site_a)})
    assert r.status_code == 403 and r.json()["error"] == "permission_denied"
    assert api.as_("operator").get(f"/api/v1/lots/{lot['lot_id']}").json()["version"] == 1


def _body(api: Api) -> dict:  # type: ignore[type-arg]
    from tests.support.client import lot_body

    return lot_body(api.world.site_b)


def test_admin_creates_enterprise_site_and_user(api: Api) -> None:
    r = api.post(
        "/api/v1/enterprises",
        {
            "name": "新处置公司",
            "uscc": "91350100M000100Y43",
            "kind": "handler",
            "division_code": "350100",
        },
    )
    assert r.status_code == 201, r.text
    ent = r.json()
    dup = api.post(
        "/api/v1/enterprises",
        {"name": "x", "uscc": "91350100M000100Y43", "kind": "handler", "division_code": "350100"},
    )
    assert dup.status_code == 409
    bad = api.post(
        "/api/v1/enterprises",
        {"name": "x", "uscc": "91350100M000100Y44", "kind": "handler", "division_code": "350100"},
    )
    assert bad.status_code == 422 and "check character" in bad.json()["detail"]
    bad_div = api.post(
        "/api/v1/sites",
        {"enterprise_id": ent["id"], "code": "X1", "name": "x", "division_code": "990100"},
    )
    assert bad_div.status_code == 422 and "province" in bad_div.json()["detail"]
    site = api.post(
        "/api/v1/sites",
        {"enterprise_id": ent["id"], "code": "FZ01", "name": "福州基地", "division_code": "350104"},
    )
    assert site.status_code == 201
    assert (site.json()["province_code"], site.json()["city_code"]) == ("35", "01")
    key = api.client.get(f"/api/v1/sites/{site.json()['id']}/public-key")
    assert key.status_code == 200 and key.json()["jwk"]["crv"] == "Ed25519"
    user = api.post(
        "/api/v1/users",
        {
            "username": "fz_op",
            "display_name": "福州仓管",
            "password": "long-enough-pw",
            "role": "operator",
            "enterprise_id": ent["id"],
            "site_ids": [site.json()["id"]],
        },
    )
    assert user.status_code == 201 and user.json()["site_ids"] == [site.json()["id"]]
    weak = api.post(
        "/api/v1/users",
        {
            "username": "weak",
            "display_name": "w",
            "password": "short",
            "role": "operator",
            "enterprise_id": ent["id"],
        },
    )
    assert weak.status_code == 422
    taken = api.post(
        "/api/v1/users",
        {
            "username": "fz_op",
            "display_name": "x",
            "password": "long-enough-pw",
            "role": "operator",
            "enterprise_id": ent["id"],
        },
    )
    assert taken.status_code == 409


def test_admin_cannot_disable_itself(api: Api) -> None:
    r = api.patch(f"/api/v1/users/{api.world.users['admin']}", {"is_active": False})
    assert r.status_code == 409


def test_sites_list_is_scoped(api: Api) -> None:
    codes = {s["code"] for s in api.as_("operator_b").get("/api/v1/sites").json()}
    assert "TZ02" in codes
    assert {s["code"] for s in api.as_("auditor").get("/api/v1/sites").json()} == {"SZ01"}
