"""Schemathesis against the app's own OpenAPI document: every operation, signed in as several
roles (device routes with a device session), a few generated examples each, on both databases
(PostgreSQL refuses what SQLite takes: a NUL in text, an integer past its column). No 5xx and
no response outside its documented schema. `make fuzz` runs the long version (SQLite)."""

from __future__ import annotations

from tests.security.fuzz import (
    console_sessions,
    fuzz_tokens,
    fuzz_world,
    ids_by_name,
    run,
    run_console,
)
from tests.support.client import Api

ROLES = ("admin", "operator", "auditor", "handler")
EXAMPLES = 2


def test_every_operation_survives_generated_input(api: Api) -> None:
    fuzz_world(api)
    tokens, device, keep_out = fuzz_tokens(api, ROLES)
    report = run(api.app, tokens, device_token=device, examples=EXAMPLES, keep_out=keep_out)
    print(report.summary())
    assert report.operations >= 120
    assert report.examples >= report.operations
    assert report.real_paths > 0  # the paths' ids reach past the 404
    assert not report.failures, "\n".join(f"{k}: {v}" for k, v in sorted(report.failures.items()))


def test_every_console_route_survives_generated_input(api: Api) -> None:
    """The console's pages and forms (not in the API's OpenAPI document) the same way: query
    parameters and form fields generated, the session's CSRF token carried, ids that exist in
    half the paths. No 5xx."""
    fuzz_world(api)
    tokens, _, keep_out = fuzz_tokens(api, ("admin",))
    ids = ids_by_name(api.app, tokens["admin"], keep_out)
    sessions = console_sessions(api, ROLES)
    report = run_console(api.app, sessions, examples=EXAMPLES, ids=ids)
    print(report.summary())
    assert report.operations >= 35
    assert report.real_paths > 0
    assert not report.failures, "\n".join(f"{k}: {v}" for k, v in sorted(report.failures.items()))


def test_every_console_form_mutated_field_by_field_answers_below_500(api: Api) -> None:
    """Each console form as the console posts it, then each field replaced by an awkward value
    (the first `QUICK` of `NASTY`), dropped or sent twice: a page with the reason, never a 500.
    It found a declaration's blank receipt number and an inspection's over-long notes raising
    the schema's ValidationError out of the route, and on PostgreSQL a NUL in any text field
    (`app.core.routing`). Both databases."""
    from tests.security.mutate import run_forms

    fuzz_world(api)
    report = run_forms(api)
    print(report.summary())
    assert report.sent >= 800
    assert report.statuses[303] > 0 and report.statuses[422] > 0  # both went through and refused
    assert not report.failures, "\n".join(f"{k}: {v}" for k, v in sorted(report.failures.items()))


def test_every_api_command_mutated_field_by_field_answers_below_500(api: Api) -> None:
    """The API's and the handheld's main commands (lot generation and actions, a manifest
    draft, a sync batch, a handheld action, site and vehicle patches, a declaration filing,
    scorecard inputs, a zone inspection) as a client sends them, then each field, and each of
    their fields one level down, replaced by a value of the wrong kind or range (the first
    `QUICK_JSON` of `NASTY_JSON`, NaN as a bare token) or dropped: never a 500. Both
    databases: PostgreSQL cannot hold a NUL in text, SQLite can."""
    from tests.security.mutate import run_bodies

    fuzz_world(api)
    _, device, _ = fuzz_tokens(api, ("admin",))
    report = run_bodies(api, device)
    print(report.summary())
    assert report.sent >= 800
    assert report.statuses[200] + report.statuses[201] > 0 and report.statuses[422] > 0
    assert not report.failures, "\n".join(f"{k}: {v}" for k, v in sorted(report.failures.items()))
