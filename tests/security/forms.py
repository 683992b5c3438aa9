"""Mutation fuzzing of the console's forms: each form as the console itself would post it
(every field valid, the session's CSRF token, ids that exist), then one field at a time replaced
by a value a person, a browser extension or a hostile client could send: empty, huge, negative,
not a number, impossible dates, the wrong id, very long, control characters; dropped; or sent
twice. Every answer must be below 500 (a page with the reason, 303 on success).

Generated fields (`fuzz.run_console`) rarely look like a form: a random `action` is just
"unknown action". Starting from a valid form, each mutation reaches the code behind the other
fields' checks.

    python -m tests.security.forms            # every value (what `make fuzz` runs as well)
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

# What replaces a field, in the order tried: the first `QUICK` run in `make test`.
NASTY: tuple[str, ...] = (
    "",
    " ",
    "-1",
    "99999999999999999999999",
    "1e309",
    "NaN",
    "0001-01-01",
    "2026-02-30",
    str(uuid4()),
    "x" * 5000,
    "0",
    "-99999999999999999999",
    "Infinity",
    "1.5",
    "9999-12-31",
    "00000000-0000-0000-0000-000000000000",
    "\x00\x1f",
    "中文\u202e",
    "null",
    "'; DROP TABLE site; --",
)
QUICK = 10


@dataclass
class FormReport:
    posts: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    failures: dict[str, str] = field(default_factory=dict)  # "role path field=value" -> status
    seconds: float = 0.0

    def summary(self) -> str:
        top = ", ".join(f"{k}: {v}" for k, v in sorted(self.statuses.items()))
        return (
            f"{self.posts} form posts in {self.seconds:.0f} s; statuses {top}; "
            f"{len(self.failures)} failing"
        )


Form = list[tuple[str, str]]


def base_forms(api: Any) -> list[tuple[str, str, Callable[[], Form]]]:
    """(role, path, a fresh valid form) for each console form. The forms read the current
    versions each time, so a mutation that went through does not turn the rest into 409s.
    Needs `fuzz.fuzz_world` (parties, two stored lots, a draft manifest)."""
    w = api.world
    admin = api.as_("admin")
    lots = admin.get("/api/v1/lots", params={"site_id": str(w.site_a)}).json()["items"]
    lot = lots[0]["lot_id"]
    (manifest,) = admin.get("/api/v1/manifests").json()["items"]
    today = datetime.now(UTC).date()

    def version(kind: str, ident: str) -> str:
        return str(admin.get(f"/api/v1/{kind}/{ident}").json().get("version", 1))

    def lot_act(**fields: str) -> Callable[[], Form]:
        return lambda: [
            ("event_id", str(uuid4())),
            ("expected_version", version("lots", lot)),
            *fields.items(),
        ]

    def wizard(step: str) -> Callable[[], Form]:
        def form() -> Form:
            out = [
                ("site_id", str(w.site_a)),
                ("handler_enterprise_id", str(w.handler_org)),
                ("carrier_enterprise_id", str(w.carrier_org)),
                ("planned_date", str(today)),
                ("emergency_measures", "泄漏时用吸附棉围堵"),
                ("event_id", str(uuid4())),
                ("step", step),
            ]
            for x in lots:
                out += [
                    ("lot", f"{x['lot_id']}|{x['waste_code']}"),
                    (f"method_{x['waste_code']}", "D10"),
                    (f"un_{x['waste_code']}", "UN3077"),
                ]
            return out

        return form

    def manifest_act(action: str, **fields: str) -> Callable[[], Form]:
        m = manifest["manifest_id"]
        return lambda: [
            ("action", action),
            ("event_id", str(uuid4())),
            ("version", version("manifests", m).split(".")[0]),
            *fields.items(),
        ]

    m = f"/manifests/{manifest['manifest_id']}/act"
    return [
        ("operator", f"/lots/{lot}/act", lot_act(action="weigh", weight_kg="120.5")),
        ("operator", f"/lots/{lot}/act", lot_act(action="move", zone_id=str(w.zones["A2"]))),
        ("operator", f"/lots/{lot}/act", lot_act(action="inspect", condition="leaking")),
        (
            "ehs_manager",
            f"/lots/{lot}/act",
            lot_act(
                action="extend",
                approval_no="苏环危延〔2026〕1号",
                authority="苏州市生态环境局",
                approved_on=str(today - timedelta(days=3)),
                extended_until=str(today + timedelta(days=90)),
                note="处置单位检修",
            ),
        ),
        (
            "ehs_manager",
            f"/lots/{lot}/act",
            lot_act(action="discard", discarded_on=str(today), reason="误登记"),
        ),
        (
            "operator",
            f"/zones/{w.zones['A1']}/inspect",
            lambda: [("event_id", str(uuid4())), ("notes", "地面无渗漏")],
        ),
        (
            "ehs_manager",
            "/exports/declaration/filings",
            lambda: [
                ("site", str(w.site_a)),
                ("period", str(today.year - 1)),
                ("filed_on", str(today)),
                ("receipt_no", "SB-0001"),
                ("event_id", str(uuid4())),
            ],
        ),
        (
            "ehs_manager",
            "/scorecard/inputs",
            lambda: [
                ("site", str(w.site_a)),
                ("year", str(today.year)),
                ("event_id", str(uuid4())),
                ("in_output_value_10k_cny", "12500.5"),
                ("in_product_t.synthesis", "800"),
                ("in_waste_share_pct.synthesis", "100"),
                ("in_own_disposal_facility", "no"),
                ("in_base_year", str(today.year - 1)),
                ("note", "年报"),
            ],
        ),
        ("ehs_manager", "/manifests/new/check", wizard("check")),
        ("ehs_manager", "/manifests/new", wizard("create")),
        ("ehs_manager", m, manifest_act("cancel", reason="计划变更")),
        ("ehs_manager", m, manifest_act("correction", field="planned_date", value=str(today))),
        ("ehs_manager", m, manifest_act("challenge", step="load")),
        (
            "admin",
            "/admin/users",
            lambda: [
                ("username", f"u{uuid4().hex[:8]}"),
                ("display_name", "新同事"),
                ("password", "a long enough passphrase"),
                ("role", "operator"),
                ("enterprise_id", str(w.plant)),
                ("site_ids", str(w.site_a)),
            ],
        ),
        (
            "admin",
            "/admin/devices",
            lambda: [("site_id", str(w.site_a)), ("name", f"PDA-{uuid4().hex[:6]}")],
        ),
    ]


def mutations(form: Form, values: tuple[str, ...]) -> list[tuple[str, Form]]:
    """Each field replaced by each value, dropped, and sent twice; the form as it is first."""
    out: list[tuple[str, Form]] = [("as posted", form)]
    for i, (name, _) in enumerate(form):
        for v in values:
            out.append((f"{name}={v[:24]!r}", [*form[:i], (name, v), *form[i + 1 :]]))
        out.append((f"no {name}", [*form[:i], *form[i + 1 :]]))
        out.append((f"{name} twice", [*form[: i + 1], form[i], *form[i + 1 :]]))
    return out


def run_forms(api: Any, values: tuple[str, ...] = NASTY[:QUICK]) -> FormReport:
    from tests.web.support import Web

    report = FormReport()
    started = time.monotonic()
    sessions: dict[str, Web] = {}
    for role, path, fresh in base_forms(api):
        web = sessions.setdefault(role, Web(api, role))
        template = fresh()
        for what, _ in mutations(template, values):
            # rebuild from a fresh form (current versions, new event ids), then mutate alike
            form = dict(mutations(fresh(), values))[what]
            report.posts += 1
            try:  # the test client raises what the app did not answer
                status = web.post(path, form).status_code
            except Exception as exc:
                lines = " | ".join(line.strip() for line in str(exc).splitlines()[:3])
                status, why = 500, f"{type(exc).__name__}: {lines[:300]}"
            else:
                why = str(status)
            report.statuses[status] += 1
            if status >= 500:
                report.failures.setdefault(f"{role} {path} {what}", why)
    report.seconds = time.monotonic() - started
    return report


def main() -> None:  # pragma: no cover - `python -m tests.security.forms`
    import os
    import tempfile
    from pathlib import Path

    os.environ["APP_ENV"] = "testing"
    from app.migrate import upgrade
    from tests.security.fuzz import fuzz_world
    from tests.support.client import Api
    from tests.support.world import build_world

    tmp = Path(tempfile.mkdtemp(prefix="hazchain-forms-"))
    url = f"sqlite:///{tmp / 'forms.db'}"
    upgrade(url)
    api = Api.start(url, build_world(url, tmp), tmp)
    fuzz_world(api)
    report = run_forms(api, NASTY)
    print(report.summary())
    for key, status in sorted(report.failures.items()):
        print(f"FAIL {key}: {status}")
    raise SystemExit(1 if report.failures else 0)


if __name__ == "__main__":  # pragma: no cover
    main()
