"""Schemathesis against the app's own OpenAPI document: every operation, signed in as several
roles (device routes with a device session), a few generated examples each, on SQLite. No 5xx
and no response outside its documented schema. `make fuzz` runs the long version."""

from __future__ import annotations

from tests.security.fuzz import fuzz_tokens, fuzz_world, run
from tests.support.client import Api

ROLES = ("admin", "operator", "auditor", "handler")
EXAMPLES = 2


def test_every_operation_survives_generated_input(sqlite_api: Api) -> None:
    fuzz_world(sqlite_api)
    tokens, device, keep_out = fuzz_tokens(sqlite_api, ROLES)
    report = run(sqlite_api.app, tokens, device_token=device, examples=EXAMPLES, keep_out=keep_out)
    print(report.summary())
    assert report.operations >= 120
    assert report.examples >= report.operations
    assert report.real_paths > 0  # the paths' ids reach past the 404
    assert not report.failures, "\n".join(f"{k}: {v}" for k, v in sorted(report.failures.items()))
