"""Property-based fuzzing of the app's own OpenAPI document with schemathesis.

Every operation is called with generated inputs, signed in as each given role (device routes
with a device session token), and every response is checked: no 5xx, and the body conforms
to the schema the operation documents for that status. Failures are collected per operation,
not raised at the first one, so a run lists everything it found.

    python -m tests.security.fuzz --examples 50            # what `make fuzz` runs
"""

from __future__ import annotations

import argparse
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
    statuses: Counter[int] = field(default_factory=Counter)
    failures: dict[str, str] = field(default_factory=dict)  # "role METHOD path" -> first failure
    seconds: float = 0.0

    def summary(self) -> str:
        top = ", ".join(f"{k}: {v}" for k, v in sorted(self.statuses.items()))
        return (
            f"{self.operations} operations, {self.examples} examples in {self.seconds:.0f} s; "
            f"statuses {top}; {len(self.failures)} failing (role, operation) pairs"
        )


def run(
    app: Any,
    tokens: dict[str, str],
    *,
    device_token: str | None,
    examples: int,
    seed: int = 0,
) -> Report:
    import schemathesis
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import response_schema_conformance

    checks = [not_a_server_error, response_schema_conformance]
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    report = Report()
    started = time.monotonic()
    for result in schema.get_all_operations():
        op = result.ok()
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

            _fuzz_one(op, key, headers, examples, seed, report, checks)
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
) -> None:
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
        report.examples += 1
        try:
            response = case.call_and_validate(headers=headers, checks=checks)
            report.statuses[response.status_code] += 1
        except (Exception, BaseExceptionGroup) as exc:  # a failed check: keep the first per key
            text = [line for line in str(exc).strip().splitlines() if line.strip()]
            report.failures.setdefault(key, " | ".join(text[:8])[:800])

    fuzz()


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
    tokens, device = fuzz_tokens(api)
    report = run(api.app, tokens, device_token=device, examples=args.examples, seed=args.seed)
    print(report.summary())
    for key, failure in sorted(report.failures.items()):
        print(f"FAIL {key}: {failure}")
    raise SystemExit(1 if report.failures else 0)


def fuzz_tokens(api: Any, roles: tuple[str, ...] | None = None) -> tuple[dict[str, str], str]:
    """User tokens per role, and a device session token for `operator` at site A."""
    from tests.support.world import PASSWORD

    roles = roles or ("admin", "ehs_manager", "operator", "auditor", "handler", "transporter")
    tokens = {r: api.token(r) for r in roles}
    r = api.as_("admin").post(
        "/mobile/v1/devices", {"site_id": str(api.world.site_a), "name": "PDA-FUZZ"}
    )
    enrolment = r.json()["device_token"]
    r = api.client.post(
        "/mobile/v1/auth/sign-in",
        json={"username": "operator", "password": PASSWORD},
        headers={"Authorization": f"Bearer {enrolment}"},
    )
    return tokens, r.json()["access_token"]


if __name__ == "__main__":  # pragma: no cover
    main()
