"""Authorisation matrix: every route of the API × every role of the test world, on both databases.

`ROUTES` is the table: each operation with what it requires (a permission, one of several
permissions "a|b", any signed-in user, a device token, or nothing). The first test checks that
the table names every route with the requirement the route really declares, so a new or changed
route has to be added here. The matrix test then calls every route as every role (and without a
token): a role holding the permission (one of them) is never refused (no 401/403), a role
without it gets 403 `permission_denied` (writes are called with unknown ids, so that 403 comes
before any object lookup), a user token on a device route gets 401, and nothing answers 500.
Object-level scope (another site's lot, another handler's manifest, a party acting for another)
and bad tokens have their own tables below. The web console's pages are in
`test_console_authz.py`.

The data is built once per backend (module-scoped): refused calls write nothing, and the calls
that pass use empty bodies (422) or unknown ids (404) except for harmless reads.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import jwt
import pytest

from app.domain.values import Role
from app.identity.permissions import ROLE_PERMISSIONS, Permission
from tests.conftest import _PG_PROBLEM, _template
from tests.support.client import Api
from tests.support.world import JWT_SECRET, PASSWORD

# Any one of several permissions ("a|b"): a step more than one party may take. The route refuses
# a role holding none of them; the service then checks the caller's party on that manifest.
SHIPPER = "manifest:carry|manifest:write"  # the consignor or the carrier
ANY_PARTY = "manifest:carry|manifest:receive|manifest:write"  # consignor, carrier or handler

ROUTES: list[tuple[str, str, str]] = [
    ("POST", "/api/v1/auth/token", "public"),
    ("GET", "/api/v1/users/me", "user"),
    ("GET", "/api/v1/users", "user:admin"),
    ("POST", "/api/v1/users", "user:admin"),
    ("GET", "/api/v1/users/{user_id}", "user:admin"),
    ("PATCH", "/api/v1/users/{user_id}", "user:admin"),
    ("GET", "/api/v1/enterprises", "site:admin"),
    ("POST", "/api/v1/enterprises", "site:admin"),
    ("GET", "/api/v1/sites", "site:read"),
    ("POST", "/api/v1/sites", "site:admin"),
    ("GET", "/api/v1/sites/{site_id}", "site:read"),
    ("PATCH", "/api/v1/sites/{site_id}", "site:admin"),
    ("GET", "/api/v1/sites/{site_id}/public-key", "public"),
    ("POST", "/api/v1/lots", "lot:write"),
    ("GET", "/api/v1/lots", "lot:read"),
    ("GET", "/api/v1/lots/by-code/{code}", "lot:read"),
    ("GET", "/api/v1/lots/{lot_id}", "lot:read"),
    ("GET", "/api/v1/lots/{lot_id}/events", "lot:read"),
    ("POST", "/api/v1/lots/{lot_id}/label", "lot:write"),
    ("POST", "/api/v1/lots/{lot_id}/label/reprint", "lot:write"),
    ("GET", "/api/v1/lots/{lot_id}/label.pdf", "lot:read"),
    ("GET", "/api/v1/lots/{lot_id}/qr.png", "lot:read"),
    ("GET", "/api/v1/lots/{lot_id}/barcode.svg", "lot:read"),
    ("POST", "/api/v1/lots/{lot_id}/weigh", "lot:write"),
    ("POST", "/api/v1/lots/{lot_id}/store", "lot:write"),
    ("POST", "/api/v1/lots/{lot_id}/move", "lot:write"),
    ("POST", "/api/v1/lots/{lot_id}/inspect", "lot:write"),
    ("POST", "/api/v1/lots/{lot_id}/repack", "lot:write"),
    ("POST", "/api/v1/lots/{lot_id}/correct", "lot:correct"),
    ("POST", "/api/v1/lots/{lot_id}/storage-extension", "lot:correct"),
    ("POST", "/api/v1/lots/{lot_id}/discard", "lot:write"),
    ("POST", "/api/v1/labels/batch", "lot:read"),
    ("POST", "/api/v1/zones", "zone:admin"),
    ("GET", "/api/v1/zones", "zone:read"),
    ("GET", "/api/v1/zones/{zone_id}", "zone:read"),
    ("PATCH", "/api/v1/zones/{zone_id}", "zone:admin"),
    ("POST", "/api/v1/zones/{zone_id}/inspections", "lot:write"),
    ("GET", "/api/v1/zones/{zone_id}/sign.pdf", "zone:read"),
    ("POST", "/api/v1/facilities", "zone:admin"),
    ("GET", "/api/v1/facilities", "zone:read"),
    ("GET", "/api/v1/facilities/{facility_id}", "zone:read"),
    ("GET", "/api/v1/facilities/{facility_id}/sign.pdf", "zone:read"),
    ("PATCH", "/api/v1/facilities/{facility_id}", "zone:admin"),
    ("GET", "/api/v1/rules", "user"),
    ("POST", "/api/v1/checks", "lot:read"),
    ("GET", "/api/v1/alerts", "lot:read"),
    ("POST", "/api/v1/alerts/sweep", "zone:admin"),
    ("GET", "/api/v1/waste-codes", "catalogue:read"),
    ("GET", "/api/v1/waste-codes/{code}", "catalogue:read"),
    ("GET", "/api/v1/audit/verify", "audit:read"),
    ("GET", "/api/v1/audit/verifications", "audit:read"),
    ("POST", "/api/v1/audit/verifications", "audit:read"),
    ("GET", "/api/v1/audit/checkpoints", "audit:read"),
    ("POST", "/api/v1/audit/checkpoints", "audit:sign"),
    ("GET", "/api/v1/audit/changes", "audit:read"),
    ("POST", "/api/v1/manifests", "manifest:write"),
    ("GET", "/api/v1/manifests", "manifest:read"),
    ("GET", "/api/v1/manifests/alerts", "manifest:read"),
    ("GET", "/api/v1/manifests/{manifest_id}.pdf", "manifest:read"),
    ("GET", "/api/v1/manifests/{manifest_id}", "manifest:read"),
    ("GET", "/api/v1/manifests/{manifest_id}/events", "manifest:read"),
    ("POST", "/api/v1/manifests/{manifest_id}/submit", "manifest:write"),
    ("POST", "/api/v1/manifests/{manifest_id}/load", SHIPPER),
    ("POST", "/api/v1/manifests/{manifest_id}/challenges", ANY_PARTY),
    ("POST", "/api/v1/manifests/{manifest_id}/sign", ANY_PARTY),
    ("POST", "/api/v1/manifests/{manifest_id}/dispatch", SHIPPER),
    ("POST", "/api/v1/manifests/{manifest_id}/receive", "manifest:receive"),
    ("POST", "/api/v1/manifests/{manifest_id}/confirm", "manifest:receive"),
    ("POST", "/api/v1/manifests/{manifest_id}/returns", "manifest:write"),
    ("POST", "/api/v1/manifests/{manifest_id}/track", SHIPPER),
    ("GET", "/api/v1/manifests/{manifest_id}/track", "manifest:read"),
    ("POST", "/api/v1/manifests/{manifest_id}/dispose", "manifest:receive"),
    ("POST", "/api/v1/manifests/{manifest_id}/close", "manifest:write"),
    ("POST", "/api/v1/manifests/{manifest_id}/cancel", "manifest:write"),
    ("POST", "/api/v1/manifests/{manifest_id}/corrections", ANY_PARTY),
    (
        "POST",
        "/api/v1/manifests/{manifest_id}/corrections/{correction_id}/decision",
        ANY_PARTY,
    ),
    ("POST", "/api/v1/parties/handler-licences", "party:admin"),
    ("GET", "/api/v1/parties/handler-licences", "party:read"),
    ("GET", "/api/v1/parties/handler-licences/{row_id}", "party:read"),
    ("PATCH", "/api/v1/parties/handler-licences/{row_id}", "party:admin"),
    ("POST", "/api/v1/parties/carrier-licences", "party:admin"),
    ("GET", "/api/v1/parties/carrier-licences", "party:read"),
    ("GET", "/api/v1/parties/carrier-licences/{row_id}", "party:read"),
    ("PATCH", "/api/v1/parties/carrier-licences/{row_id}", "party:admin"),
    ("POST", "/api/v1/parties/vehicles", "party:admin"),
    ("GET", "/api/v1/parties/vehicles", "party:read"),
    ("GET", "/api/v1/parties/vehicles/{row_id}", "party:read"),
    ("PATCH", "/api/v1/parties/vehicles/{row_id}", "party:admin"),
    ("POST", "/api/v1/parties/crew", "party:admin"),
    ("GET", "/api/v1/parties/crew", "party:read"),
    ("GET", "/api/v1/parties/crew/{row_id}", "party:read"),
    ("PATCH", "/api/v1/parties/crew/{row_id}", "party:admin"),
    ("POST", "/api/v1/parties/contracts", "party:admin"),
    ("GET", "/api/v1/parties/contracts", "party:read"),
    ("GET", "/api/v1/parties/contracts/{row_id}", "party:read"),
    ("PATCH", "/api/v1/parties/contracts/{row_id}", "party:admin"),
    ("POST", "/api/v1/parties/approvals", "party:admin"),
    ("GET", "/api/v1/parties/approvals", "party:read"),
    ("GET", "/api/v1/parties/approvals/{row_id}", "party:read"),
    ("PATCH", "/api/v1/parties/approvals/{row_id}", "party:admin"),
    ("POST", "/api/v1/parties/plans", "party:admin"),
    ("GET", "/api/v1/parties/plans", "party:read"),
    ("GET", "/api/v1/parties/plans/{row_id}", "party:read"),
    ("PATCH", "/api/v1/parties/plans/{row_id}", "party:admin"),
    ("GET", "/api/v1/parties/changes", "party:admin"),
    ("GET", "/api/v1/exports/ledger.xlsx", "export:read"),
    ("GET", "/api/v1/exports/ledger.csv", "export:read"),
    ("GET", "/api/v1/exports/declaration", "export:read"),
    ("GET", "/api/v1/exports/declaration/filings", "export:read"),
    ("POST", "/api/v1/exports/declaration/filings", "declaration:file"),
    ("GET", "/api/v1/exports/log.jsonl", "export:read"),
    ("GET", "/api/v1/exports/verify_export.py", "public"),
    ("GET", "/api/v1/scorecard", "scorecard:read"),
    ("GET", "/api/v1/scorecard/items/{criterion}/lots", "scorecard:read"),
    ("GET", "/api/v1/scorecard/inputs", "scorecard:read"),
    ("POST", "/api/v1/scorecard/inputs", "scorecard:write"),
    ("POST", "/api/v1/scorecard/evidence", "scorecard:write"),
    ("GET", "/api/v1/scorecard/evidence/{evidence_id}", "scorecard:read"),
    ("GET", "/api/v1/scorecard/report.pdf", "scorecard:read"),
    ("GET", "/api/v1/scorecard/report.xlsx", "scorecard:read"),
    ("POST", "/mobile/v1/devices", "site:admin"),
    ("GET", "/mobile/v1/devices", "site:admin"),
    ("POST", "/mobile/v1/devices/{device_id}/revoke", "site:admin"),
    ("POST", "/mobile/v1/auth/sign-in", "device"),
    ("GET", "/mobile/v1/context", "device:lot:read"),
    ("GET", "/mobile/v1/scan/{code:path}", "device:lot:read"),
    ("POST", "/mobile/v1/actions", "device:lot:write"),
    ("POST", "/mobile/v1/sync", "device:lot:write"),
    ("GET", "/mobile/v1/lots/{lot_id}/label.pdf", "device:lot:read"),
    ("GET", "/healthz", "public"),
]

USERS = {
    "admin": Role.admin,
    "ehs_manager": Role.ehs_manager,
    "operator": Role.operator,
    "operator_b": Role.operator,
    "auditor": Role.auditor,
    "handler": Role.handler,
    "handler2": Role.handler,
    "transporter": Role.transporter,
}


class Matrix:
    """The module's world: lots at both sites, a submitted manifest naming `handler` and
    `transporter` and a draft naming them too, a device."""

    def __init__(self, api: Api) -> None:
        from tests.manifests.support import draft, setup_parties, step, stored_lot

        self.api = api
        setup_parties(api)
        self.lot_a = stored_lot(api)
        self.manifest = step(api, "ehs_manager", draft(api, [self.lot_a]), "submit")
        self.draft = draft(api, [stored_lot(api)])  # not submitted: the consignor's alone
        self.lot_a = api.as_("operator").get(f"/api/v1/lots/{self.lot_a['lot_id']}").json()
        ob = api.as_("operator_b")
        self.lot_b = ob.step(ob.generate(site=api.world.site_b), "label")
        r = api.as_("admin").post(
            "/mobile/v1/devices", {"site_id": str(api.world.site_a), "name": "PDA-M"}
        )
        assert r.status_code == 201, r.text
        self.device_token = r.json()["device_token"]
        r = api.client.post(
            "/mobile/v1/auth/sign-in",
            json={"username": "operator", "password": PASSWORD},
            headers={"Authorization": f"Bearer {self.device_token}"},
        )
        assert r.status_code == 200, r.text
        self.session_token = r.json()["access_token"]

    def path(self, method: str, template: str) -> str:
        """Real ids for reads (so a permitted read really runs); unknown ids for writes."""
        w = self.api.world
        real = method == "GET"
        values = {
            "lot_id": self.lot_a["lot_id"] if real else str(uuid4()),
            "zone_id": str(w.zones["A1"]) if real else str(uuid4()),
            "manifest_id": self.manifest["manifest_id"] if real else str(uuid4()),
            "site_id": str(w.site_a) if real else str(uuid4()),
            "user_id": str(w.users["operator"]) if real else str(uuid4()),
            "code": "900-039-49" if "waste-codes" in template else self.lot_a["digital_id"],
            "criterion": "s_compliance",
        }
        out = template
        for part in [p.split("}")[0] for p in template.split("{")[1:]]:
            name = part.split(":")[0]  # `{code:path}`
            out = out.replace("{" + part + "}", values.get(name, str(uuid4())))
        return out

    def call(self, method: str, path: str, token: str | None, body: Any = None) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if method == "GET":
            return self.api.client.get(path, headers=headers)
        return self.api.client.request(method, path, json=body or {}, headers=headers)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def matrix(
    request: pytest.FixtureRequest, _template_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Matrix]:
    if request.param == "postgresql" and _PG_PROBLEM:
        pytest.skip(f"PostgreSQL tests skipped: {_PG_PROBLEM}")
    tpl = _template(request.param, _template_dir)
    url, handle = tpl.clone()
    assert tpl.world is not None
    api = Api.start(url, tpl.world, tmp_path_factory.mktemp("matrix"))
    try:
        yield Matrix(api)
    finally:
        api.close()
        tpl.drop(handle)


def _declared_routes(tmp: Path) -> list[tuple[str, str, str]]:
    from fastapi.routing import APIRoute

    from app.identity.deps import RequireAnyPermission, RequirePermission
    from app.main import create_app
    from tests.support.world import make_settings

    def walk(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, APIRoute]]:
        for r in routes:
            if hasattr(r, "original_router"):  # FastAPI's lazily included router
                ctx_prefix = getattr(r.include_context, "prefix", "")
                yield from walk(r.original_router.routes, prefix + ctx_prefix)
            elif isinstance(r, APIRoute):
                yield prefix, r

    def deps(d: Any) -> list[Any]:
        return [d.call, *(c for s in d.dependencies for c in deps(s))]

    app = create_app(make_settings(f"sqlite:///{tmp / 'routes.db'}", tmp))
    out = []
    for prefix, r in walk(app.router.routes):
        if not r.include_in_schema:
            continue
        calls = deps(r.dependant)
        names = {getattr(c, "__name__", "") for c in calls}
        perms = [c.permission.value for c in calls if isinstance(c, RequirePermission)]
        perms += [
            "|".join(sorted(p.value for p in c.permissions))
            for c in calls
            if isinstance(c, RequireAnyPermission)
        ]
        if perms:
            kind = perms[0]
        elif "get_reader" in names or "get_device_read" in names:
            kind = "device:lot:read"
        elif "get_writer" in names:
            kind = "device:lot:write"
        elif "get_device" in names:
            kind = "device"
        elif "get_current_user" in names:
            kind = "user"
        else:
            kind = "public"
        out += [(m, prefix + r.path, kind) for m in sorted(r.methods)]
    return out


def test_the_table_names_every_route_with_what_it_declares(tmp_path: Path) -> None:
    declared = set(_declared_routes(tmp_path))
    table = set(ROUTES)
    assert not declared - table, f"routes missing from ROUTES: {sorted(declared - table)}"
    assert not table - declared, f"ROUTES names what the app does not: {sorted(table - declared)}"


def _expected(requirement: str, role: Role | None) -> str:
    """'pass' (never 401/403), 'forbidden' (403), or 'unauthenticated' (401)."""
    if requirement == "public":
        return "pass"
    if role is None or requirement.startswith("device"):
        return "unauthenticated"  # no token, or a user token on a device route
    if requirement == "user":
        return "pass"
    held = ROLE_PERMISSIONS[role]
    return "pass" if any(Permission(p) in held for p in requirement.split("|")) else "forbidden"


@pytest.mark.parametrize(("method", "template", "requirement"), ROUTES)
def test_role_matrix(matrix: Matrix, method: str, template: str, requirement: str) -> None:
    path = matrix.path(method, template)
    callers: list[tuple[str, Role | None, str | None]] = [("anonymous", None, None)]
    callers += [(u, role, matrix.api.token(u)) for u, role in USERS.items()]
    failures = []
    for name, role, token in callers:
        r = matrix.call(method, path, token)
        want = _expected(requirement, role)
        ok = {
            "pass": r.status_code not in (401, 403, 500),
            "forbidden": r.status_code == 403 and r.json().get("error") == "permission_denied",
            "unauthenticated": r.status_code == 401 and r.json().get("error") == "unauthenticated",
        }[want]
        if not ok:
            failures.append(f"{name}: expected {want}, got {r.status_code} {r.text[:200]}")
    assert not failures, f"{method} {path}:\n" + "\n".join(failures)


# ---------------------------------------------------------------- object-level scope

# (who, method, path, body, expected status). `{lot_a}` is at SZ01 (site A), `{lot_b}` at TZ02
# (site B); the manifest (submitted) and the draft are SZ01's, naming `handler` and `transporter`.
SCOPE_CASES: list[tuple[str, str, str, str, int]] = [
    # an operator of site B cannot read or move a lot of site A, and the reverse
    ("operator_b", "GET", "/api/v1/lots/{lot_a}", "", 404),
    ("operator_b", "GET", "/api/v1/lots/{lot_a}/events", "", 404),
    ("operator_b", "GET", "/api/v1/lots/{lot_a}/label.pdf", "", 404),
    ("operator_b", "GET", "/api/v1/lots/by-code/{code_a}", "", 404),
    ("operator_b", "POST", "/api/v1/lots/{lot_a}/move", "move_b", 404),
    ("operator_b", "POST", "/api/v1/lots/{lot_a}/weigh", "weigh_a", 404),
    ("operator", "GET", "/api/v1/lots/{lot_b}", "", 404),
    ("operator", "POST", "/api/v1/lots/{lot_b}/store", "store_b", 404),
    ("operator", "POST", "/api/v1/lots", "generate_b", 403),
    ("operator", "GET", "/api/v1/zones/{zone_b}", "", 404),
    # the regulator of site A reads site A only
    ("auditor", "GET", "/api/v1/lots/{lot_a}", "", 200),
    ("auditor", "GET", "/api/v1/lots/{lot_b}", "", 404),
    # managers with every site
    ("ehs_manager", "GET", "/api/v1/lots/{lot_b}", "", 200),
    ("admin", "GET", "/api/v1/lots/{lot_a}", "", 200),
    # manifests: the named handler and carrier read it, another handler does not see it
    ("handler", "GET", "/api/v1/manifests/{manifest}", "", 200),
    ("transporter", "GET", "/api/v1/manifests/{manifest}", "", 200),
    ("handler2", "GET", "/api/v1/manifests/{manifest}", "", 404),
    ("handler2", "GET", "/api/v1/manifests/{manifest}.pdf", "", 404),
    ("handler2", "GET", "/api/v1/manifests/{manifest}/events", "", 404),
    ("handler2", "POST", "/api/v1/manifests/{manifest}/sign", "sign", 404),
    ("handler2", "POST", "/api/v1/manifests/{manifest}/receive", "version", 404),
    ("operator_b", "GET", "/api/v1/manifests/{manifest}", "", 404),
    ("operator_b", "POST", "/api/v1/manifests/{manifest}/cancel", "cancel", 404),
    ("operator_b", "POST", "/api/v1/manifests/{manifest}/sign", "sign", 404),
    # a draft is the consignor's work in progress: the handler and carrier it names see it
    # once it is submitted, not before
    ("handler", "GET", "/api/v1/manifests/{draft}", "", 404),
    ("handler", "GET", "/api/v1/manifests/{draft}.pdf", "", 404),
    ("transporter", "GET", "/api/v1/manifests/{draft}", "", 404),
    ("transporter", "GET", "/api/v1/manifests/{draft}/events", "", 404),
    ("transporter", "POST", "/api/v1/manifests/{draft}/challenges", "challenge", 404),
    ("ehs_manager", "GET", "/api/v1/manifests/{draft}", "", 200),
    ("auditor", "GET", "/api/v1/manifests/{draft}", "", 200),
    # a role that never takes a step is refused before the lookup, named on it or not
    ("handler2", "POST", "/api/v1/manifests/{manifest}/cancel", "cancel", 403),
    ("handler", "POST", "/api/v1/manifests/{manifest}/submit", "version", 403),
    ("transporter", "POST", "/api/v1/manifests/{manifest}/cancel", "cancel", 403),
    ("auditor", "POST", "/api/v1/manifests/{manifest}/submit", "version", 403),
    ("auditor", "POST", "/api/v1/manifests/{manifest}/sign", "sign", 403),
    # a role that may take a step, but is another party on this manifest: the admin's role
    # holds the handler's and the carrier's permissions, yet here the admin is the consignor
    ("admin", "POST", "/api/v1/manifests/{manifest}/receive", "version", 403),
    ("admin", "POST", "/api/v1/manifests/{manifest}/dispose", "dispose", 403),
    # a site is visible as in the site list: own sites and own enterprise's, not others'
    ("operator", "GET", "/api/v1/sites/{site_b}", "", 200),
    ("handler", "GET", "/api/v1/sites/{site_b}", "", 404),
    ("transporter", "GET", "/api/v1/sites/{site_b}", "", 404),
    ("auditor", "GET", "/api/v1/sites/{site_b}", "", 404),
]


def _scope_body(m: Matrix, kind: str) -> dict[str, Any] | None:
    w = m.api.world
    base = {"event_id": str(uuid4())}
    lot_a, lot_b = m.lot_a, m.lot_b
    bodies: dict[str, dict[str, Any]] = {
        "move_b": {**base, "expected_version": lot_a["version"], "zone_id": str(w.zones["B1"])},
        "weigh_a": {**base, "expected_version": lot_a["version"], "weight_kg": "1"},
        "store_b": {**base, "expected_version": lot_b["version"], "zone_id": str(w.zones["A1"])},
        "cancel": {**base, "expected_version": m.manifest["version"], "reason": "试图作废"},
        "version": {**base, "expected_version": m.manifest["version"]},
        "sign": {**base, "expected_version": m.manifest["version"], "step": "dispatch"},
        "challenge": {"step": "dispatch"},
        "dispose": {
            **base,
            "expected_version": m.manifest["version"],
            "lots": [
                {
                    "lot_id": lot_a["lot_id"],
                    "method_code": "D10",
                    "completed_on": datetime.now(UTC).date().isoformat(),
                }
            ],
        },
    }
    if kind == "generate_b":
        from tests.support.client import lot_body

        return lot_body(w.site_b)
    return bodies.get(kind)


@pytest.mark.parametrize(("who", "method", "template", "body", "expected"), SCOPE_CASES)
def test_object_scope(
    matrix: Matrix, who: str, method: str, template: str, body: str, expected: int
) -> None:
    w = matrix.api.world
    path = template.format(
        lot_a=matrix.lot_a["lot_id"],
        lot_b=matrix.lot_b["lot_id"],
        code_a=matrix.lot_a["digital_id"],
        manifest=matrix.manifest["manifest_id"],
        draft=matrix.draft["manifest_id"],
        zone_b=w.zones["B1"],
        site_b=w.site_b,
    )
    r = matrix.call(method, path, matrix.api.token(who), _scope_body(matrix, body))
    assert r.status_code == expected, r.text
    # a refusal wrote nothing: the objects keep their versions
    owner = matrix.api.as_("admin")
    assert (
        owner.get(f"/api/v1/lots/{matrix.lot_a['lot_id']}").json()["version"]
        == (matrix.lot_a["version"])
    )
    assert (
        owner.get(f"/api/v1/lots/{matrix.lot_b['lot_id']}").json()["version"]
        == (matrix.lot_b["version"])
    )
    got = owner.get(f"/api/v1/manifests/{matrix.manifest['manifest_id']}").json()
    assert got["version"] == matrix.manifest["version"]


# ---------------------------------------------------------------- tokens


def _claims(m: Matrix, **over: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    claims = {
        "sub": str(m.api.world.users["admin"]),
        "typ": "user",
        "aud": "hazchain-api",
        "iss": "hazchain",
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(hours=1)).timestamp()),
    }
    claims.update(over)
    return claims


def _bad_token(m: Matrix, variant: str) -> str:
    now = datetime.now(UTC)
    past = int((now - timedelta(hours=1)).timestamp())
    return {
        "expired": lambda: jwt.encode(_claims(m, exp=past), JWT_SECRET, algorithm="HS256"),
        "wrong_signature": lambda: jwt.encode(
            _claims(m), "another-secret-of-sufficient-length-0123456789", algorithm="HS256"
        ),
        "tampered_payload": lambda: _tamper(jwt.encode(_claims(m), JWT_SECRET, "HS256")),
        "alg_none": lambda: jwt.encode(_claims(m), None, algorithm="none"),
        "wrong_audience": lambda: jwt.encode(_claims(m, aud="other"), JWT_SECRET, "HS256"),
        "wrong_issuer": lambda: jwt.encode(_claims(m, iss="other"), JWT_SECRET, "HS256"),
        "no_expiry": lambda: jwt.encode(
            {k: v for k, v in _claims(m).items() if k != "exp"}, JWT_SECRET, "HS256"
        ),
        "unknown_user": lambda: jwt.encode(_claims(m, sub=str(uuid4())), JWT_SECRET, "HS256"),
        "not_a_uuid": lambda: jwt.encode(_claims(m, sub="admin"), JWT_SECRET, "HS256"),
        "web_session_type": lambda: jwt.encode(_claims(m, typ="web"), JWT_SECRET, "HS256"),
        "device_enrolment_token": lambda: m.device_token,
        "device_session_token": lambda: m.session_token,
        "garbage": lambda: "not.a.token",
    }[variant]()


def _tamper(token: str) -> str:
    import base64
    import json

    head, body, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["role"] = "admin"
    claims["sub"] = claims["sub"][:-1] + ("0" if claims["sub"][-1] != "0" else "1")
    raw = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{head}.{raw}.{sig}"


BAD_TOKENS = [
    "expired",
    "wrong_signature",
    "tampered_payload",
    "alg_none",
    "wrong_audience",
    "wrong_issuer",
    "no_expiry",
    "unknown_user",
    "not_a_uuid",
    "web_session_type",
    "device_enrolment_token",
    "device_session_token",
    "garbage",
]
USER_ROUTES = [
    ("GET", "/api/v1/users/me"),
    ("GET", "/api/v1/lots"),
    ("POST", "/api/v1/lots"),
    ("GET", "/api/v1/manifests"),
    ("GET", "/api/v1/audit/verify"),
    ("GET", "/mobile/v1/devices"),
]


@pytest.mark.parametrize("variant", BAD_TOKENS)
def test_bad_user_tokens_are_401_everywhere(matrix: Matrix, variant: str) -> None:
    token = _bad_token(matrix, variant)
    for method, path in USER_ROUTES:
        r = matrix.call(method, path, token)
        assert r.status_code == 401, (variant, method, path, r.text)
        assert r.json()["error"] == "unauthenticated"


def test_user_token_on_device_routes_is_401(matrix: Matrix) -> None:
    token = matrix.api.token("operator")
    for method, path in [("GET", "/mobile/v1/context"), ("POST", "/mobile/v1/sync")]:
        r = matrix.call(method, path, token, {"items": []})
        assert r.status_code == 401, r.text


def test_revoked_device_is_refused_at_once(matrix: Matrix) -> None:
    api = matrix.api
    r = api.as_("admin").post(
        "/mobile/v1/devices", {"site_id": str(api.world.site_a), "name": "PDA-R"}
    )
    device_id, enrolment = r.json()["device_id"], r.json()["device_token"]
    r = api.client.post(
        "/mobile/v1/auth/sign-in",
        json={"username": "operator", "password": PASSWORD},
        headers={"Authorization": f"Bearer {enrolment}"},
    )
    session = r.json()["access_token"]
    assert matrix.call("GET", "/mobile/v1/context", session).status_code == 200
    # only a site admin may revoke
    assert (
        matrix.call("POST", f"/mobile/v1/devices/{device_id}/revoke", api.token("operator"))
    ).status_code == 403
    r = matrix.call("POST", f"/mobile/v1/devices/{device_id}/revoke", api.token("admin"))
    assert r.status_code == 200, r.text
    for token in (session, enrolment):
        r = matrix.call("GET", "/mobile/v1/context", token)
        assert r.status_code == 401 and "revoked" in r.json()["detail"]
    r = api.client.post(
        "/mobile/v1/auth/sign-in",
        json={"username": "operator", "password": PASSWORD},
        headers={"Authorization": f"Bearer {enrolment}"},
    )
    assert r.status_code == 401
    lot = matrix.lot_a
    r = matrix.call(
        "POST",
        "/mobile/v1/sync",
        session,
        {"items": [{"action": "weigh", "event_id": str(uuid4()), "lot_id": lot["lot_id"]}]},
    )
    assert r.status_code == 401
