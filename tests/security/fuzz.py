"""Property-based fuzzing of the app's own OpenAPI document with schemathesis.

Every operation is called with generated inputs, signed in as each given role (device routes
with a device session token), and every response is checked: no 5xx, and the body conforms
to the schema the operation documents for that status. Failures are collected per operation,
not raised at the first one, so a run lists everything it found.

A generated UUID names nothing, so an id in the path would only ever reach the 404. Half the
examples take the path's ids from what exists instead (`real_ids`: read from the collection
above each path as admin), so the generated bodies reach the code behind the lookup.

    python -m tests.security.fuzz --examples 50            # what `make fuzz` runs

The console's routes (kept out of the API's document) are fuzzed the same way from a document
of their own (`console_schema`), signed in through the form, every form carrying the session's
CSRF token (`run_console`); `tests.security.mutate` mutates valid console forms and API
commands field by field.
"""

from __future__ import annotations

import argparse
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import hypothesis
from hypothesis import HealthCheck, Phase
from hypothesis import strategies as st


@dataclass
class Report:
    operations: int = 0
    examples: int = 0
    real_paths: int = 0  # examples whose path named something that exists
    statuses: Counter[int] = field(default_factory=Counter)
    failures: dict[str, str] = field(default_factory=dict)  # "role METHOD path" -> first failure
    seconds: float = 0.0

    def summary(self) -> str:
        top = ", ".join(f"{k}: {v}" for k, v in sorted(self.statuses.items()))
        return (
            f"{self.operations} operations, {self.examples} examples ({self.real_paths} on "
            f"existing ids) in {self.seconds:.0f} s; "
            f"statuses {top}; {len(self.failures)} failing (role, operation) pairs"
        )


def run(
    app: Any,
    tokens: dict[str, str],
    *,
    device_token: str | None,
    examples: int,
    seed: int = 0,
    keep_out: frozenset[str] | None = None,
) -> Report:
    """`keep_out`: ids the path may not take (the fuzzing users and device: revoked or
    deactivated, they would end the run's coverage); without it, paths are all generated."""
    import schemathesis
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import response_schema_conformance

    checks = [not_a_server_error, response_schema_conformance]
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    report = Report()
    started = time.monotonic()
    ops = [result.ok() for result in schema.get_all_operations()]
    pools = real_ids(app, [op.path for op in ops], tokens["admin"], keep_out) if keep_out else {}
    for op in ops:
        report.operations += 1
        security = [k for s in (op.definition.raw.get("security") or []) for k in s]
        if "DeviceToken" in security:
            callers = {"device": device_token}
        elif security:
            callers = dict(tokens)
        else:
            callers = {"anonymous": None}
        for role, token in callers.items():
            key = f"{role} {op.method.upper()} {op.path}"
            headers = {"Authorization": f"Bearer {token}"} if token else {}

            ids = {name: pools.get(f"{op.path} {name}", []) for name in PARAM.findall(op.path)}
            _fuzz_one(op, key, headers, examples, seed, report, checks, ids)
    report.seconds = time.monotonic() - started
    return report


def console_schema() -> dict[str, Any]:
    """An OpenAPI document of the console's own routes (kept out of the API's): their query
    parameters and form fields, for the fuzzer. Signing in and out are left out (the session
    is the fuzzer's own; a wrong password only feeds the throttle)."""
    import copy

    from fastapi.openapi.utils import get_openapi

    from app.web import routes, routes_admin, routes_manifests
    from app.web.render import WebRoute

    pages = []
    for route in [r for m in (routes, routes_admin, routes_manifests) for r in m.router.routes]:
        if isinstance(route, WebRoute) and route.path not in ("/login", "/logout"):
            shown = copy.copy(route)
            shown.include_in_schema = True
            pages.append(shown)
    return get_openapi(title="hazchain console", version="0", routes=pages)


def run_console(
    app: Any,
    sessions: dict[str, tuple[str, str]],
    *,
    examples: int,
    ids: dict[str, list[str]],
    seed: int = 0,
) -> Report:
    """Every console route, as each signed-in role (`sessions`: role -> (cookie header, CSRF
    token)); every form carries the session's CSRF token, so the generated fields reach the
    code behind the check. `ids`: parameter name -> ids that exist. No 5xx (the pages are
    HTML: no schema to conform to)."""
    import schemathesis
    from schemathesis.checks import not_a_server_error

    schema = schemathesis.openapi.from_dict(console_schema())
    schema.app = app
    report = Report()
    started = time.monotonic()
    for result in schema.get_all_operations():
        op = result.ok()
        report.operations += 1
        for role, (cookie, csrf) in sessions.items():
            own = {name: ids.get(name, []) for name in PARAM.findall(op.path)}
            key = f"{role} {op.method.upper()} {op.path}"
            form = {"csrf": csrf} if op.method.upper() == "POST" else None
            _fuzz_one(
                op, key, {"Cookie": cookie}, examples, seed, report, [not_a_server_error], own, form
            )
    report.seconds = time.monotonic() - started
    return report


def _fuzz_one(
    op: Any,
    key: str,
    headers: dict[str, str],
    examples: int,
    seed: int,
    report: Report,
    checks: Any,
    ids: dict[str, list[str]],
    form: dict[str, str] | None = None,
) -> None:
    """`ids`: path parameter -> ids that exist, taken by half the examples; `form`: fields
    every form body carries as given (the console's CSRF token)."""
    own = {name: pool for name, pool in ids.items() if pool}

    @hypothesis.settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    @hypothesis.seed(seed)
    @hypothesis.given(data=st.data())
    def fuzz(data: st.DataObject) -> None:
        case = data.draw(op.as_strategy())
        real = {
            n: data.draw(st.sampled_from(ids)) for n, ids in own.items() if data.draw(st.booleans())
        }
        if real:
            case.path_parameters = {**case.path_parameters, **real}
            report.real_paths += 1
        if form is not None:  # a form read whole by its route has no fields in the schema
            case.body = {**(case.body if isinstance(case.body, dict) else {}), **form}
            case.media_type = case.media_type or "application/x-www-form-urlencoded"
        report.examples += 1
        try:
            response = case.call_and_validate(headers=headers, checks=checks)
            report.statuses[response.status_code] += 1
        except (Exception, BaseExceptionGroup) as exc:  # a failed check: keep the first per key
            text = [line for line in str(exc).strip().splitlines() if line.strip()]
            report.failures.setdefault(key, " | ".join(text[:8])[:800])

    fuzz()


PARAM = re.compile(r"\{(\w+_id)\}")


def real_ids(
    app: Any, paths: list[str], admin_token: str, keep_out: frozenset[str]
) -> dict[str, list[str]]:
    """For each `{…_id}` of each path ("path name" -> ids): the ids the collection above it
    lists (`/api/v1/parties/vehicles` for `/api/v1/parties/vehicles/{row_id}`), as admin.
    A collection that itself needs an id, or lists none, leaves the parameter generated."""
    from fastapi.testclient import TestClient

    client = TestClient(app)
    headers = {"Authorization": f"Bearer {admin_token}"}
    listed: dict[str, list[dict[str, Any]]] = {}
    pools: dict[str, list[str]] = {}
    for path in paths:
        for m in PARAM.finditer(path):
            name, collection = m.group(1), path[: m.start()].rstrip("/")
            pools[f"{path} {name}"] = []
            if "{" in collection:
                continue
            if collection not in listed:
                r = client.get(collection, headers=headers)
                body = r.json() if r.status_code == 200 else []
                rows = body.get("items", []) if isinstance(body, dict) else body
                listed[collection] = [x for x in rows if isinstance(x, dict)]
            ids = {str(x.get(name) or x.get("id") or "") for x in listed[collection]}
            pools[f"{path} {name}"] = sorted(i for i in ids - keep_out if i)
    return pools


def ids_by_name(app: Any, admin_token: str, keep_out: frozenset[str]) -> dict[str, list[str]]:
    """The ids that exist per path parameter name (`lot_id` -> every lot the API lists...), for
    routes without a collection of their own to read (the console's)."""
    paths = list(app.openapi()["paths"])
    out: dict[str, set[str]] = {}
    for key, ids in real_ids(app, paths, admin_token, keep_out).items():
        out.setdefault(key.rsplit(" ", 1)[1], set()).update(ids)
    return {name: sorted(ids) for name, ids in out.items()}


def console_sessions(api: Any, roles: tuple[str, ...]) -> dict[str, tuple[str, str]]:
    """Signed-in console sessions per role: (cookie header, CSRF token)."""
    from tests.web.support import Web

    out = {}
    for role in roles:
        web = Web(api, role)
        cookie = "; ".join(f"{k}={v}" for k, v in web.client.cookies.items())
        out[role] = (cookie, web.csrf)
    return out


def main() -> None:  # pragma: no cover - `make fuzz`
    import os
    import tempfile
    from pathlib import Path

    os.environ["APP_ENV"] = "testing"
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--examples", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    from app.migrate import upgrade
    from tests.support.client import Api
    from tests.support.world import build_world

    tmp = Path(tempfile.mkdtemp(prefix="hazchain-fuzz-"))
    url = f"sqlite:///{tmp / 'fuzz.db'}"
    upgrade(url)
    world = build_world(url, tmp)
    api = Api.start(url, world, tmp)
    fuzz_world(api)
    tokens, device, keep_out = fuzz_tokens(api)
    # signed in before the API's token route has fed the sign-in throttle its wrong passwords
    sessions = console_sessions(api, tuple(tokens))
    report = run(
        api.app,
        tokens,
        device_token=device,
        examples=args.examples,
        seed=args.seed,
        keep_out=keep_out,
    )
    print("API:", report.summary())
    ids = ids_by_name(api.app, tokens["admin"], keep_out)
    console = run_console(
        api.app,
        sessions,
        examples=args.examples,
        ids=ids,
        seed=args.seed,
    )
    print("console:", console.summary())
    failures = {**report.failures, **{f"console {k}": v for k, v in console.failures.items()}}
    for key, failure in sorted(failures.items()):
        print(f"FAIL {key}: {failure}")
    raise SystemExit(1 if failures else 0)


def fuzz_tokens(
    api: Any, roles: tuple[str, ...] | None = None
) -> tuple[dict[str, str], str, frozenset[str]]:
    """User tokens per role, a device session token for `operator` at site A, and the ids the
    paths must not take: the world's users and that device."""
    from tests.support.world import PASSWORD

    roles = roles or ("admin", "ehs_manager", "operator", "auditor", "handler", "transporter")
    tokens = {r: api.token(r) for r in roles}
    r = api.as_("admin").post(
        "/mobile/v1/devices", {"site_id": str(api.world.site_a), "name": "PDA-FUZZ"}
    )
    enrolment, device_id = r.json()["device_token"], r.json()["device_id"]
    r = api.client.post(
        "/mobile/v1/auth/sign-in",
        json={"username": "operator", "password": PASSWORD},
        headers={"Authorization": f"Bearer {enrolment}"},
    )
    keep_out = frozenset({device_id, *(str(u) for u in api.world.users.values())})
    return tokens, r.json()["access_token"], keep_out


def fuzz_world(api: Any) -> None:
    """Something for real ids to name: the parties of a transfer, two lots stored in zone A1
    on a draft manifest and four more free, a user and a device the fuzzing does not sign in
    with (and the world's sites and zones)."""
    from tests.manifests.support import draft, setup_parties, stored_lot

    setup_parties(api)
    draft(api, [stored_lot(api), stored_lot(api)])
    for _ in range(4):  # and four free to act on (`tests.security.mutate`)
        stored_lot(api)
    admin = api.as_("admin")
    r = admin.post(
        "/api/v1/users",
        {
            "enterprise_id": str(api.world.plant),
            "username": "fuzz.extra",
            "display_name": "模糊测试",
            "password": "a fuzzing passphrase",
            "role": "operator",
            "site_ids": [str(api.world.site_a)],
        },
    )
    assert r.status_code == 201, r.text
    r = admin.post("/mobile/v1/devices", {"site_id": str(api.world.site_a), "name": "PDA-EXTRA"})
    assert r.status_code == 201, r.text


if __name__ == "__main__":  # pragma: no cover
    main()
