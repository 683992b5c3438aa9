"""Mutation fuzzing: each console form and API command as a client would send it (every field
valid, the session's CSRF token, ids that exist, current versions), then one field at a time
replaced by a value a person, a browser extension, a handheld with a bad clock or a hostile
client could send: empty, huge, negative, not a number, impossible dates, the wrong id, very
long, control characters, the wrong type; dropped; or (forms) sent twice. Every answer must be
below 500: a page or a JSON error with the reason, or success.

Generated inputs (`fuzz.run`, `fuzz.run_console`) rarely look like a command: a random
`action` is only "unknown action", a random sync item fails its schema at the first field.
Starting from a valid one, each mutation reaches the code behind the other fields' checks.

    python -m tests.security.mutate           # every value (what `make fuzz` runs as well)
"""

from __future__ import annotations

import json
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
    "\x00\x1f",
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
    "中文\u202e",
    "null",
    "'; DROP TABLE site; --",
)
QUICK = 11


# The same for JSON bodies, where a value may also be of the wrong type; NaN and Infinity are
# sent as the bare tokens Python's json writes (not JSON: the parser must refuse them).
NASTY_JSON: tuple[Any, ...] = (
    None,
    "",
    "\x00\x1f",
    -1,
    10**30,
    float("nan"),
    "0001-01-01T00:00:00+14:00",
    str(uuid4()),
    "x" * 5000,
    [],
    {},
    " ",
    0,
    -(10**30),
    1e308,
    float("inf"),
    1.5,
    True,
    "9999-12-31",
    "2026-02-30",
    "中文\u202e",
)
QUICK_JSON = 11


@dataclass
class MutationReport:
    sent: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    failures: dict[str, str] = field(default_factory=dict)  # "role path mutation" -> why
    seconds: float = 0.0

    def summary(self) -> str:
        top = ", ".join(f"{k}: {v}" for k, v in sorted(self.statuses.items()))
        return (
            f"{self.sent} requests in {self.seconds:.0f} s; statuses {top}; "
            f"{len(self.failures)} failing"
        )

    def record(self, key: str, send: Callable[..., Any], *args: Any, **kw: Any) -> None:
        """Send one request (`send(*args, **kw)`); a 5xx, or an exception the app let out, is
        a failure."""
        self.sent += 1
        try:  # the test client raises what the app did not answer
            status = send(*args, **kw).status_code
        except Exception as exc:
            lines = " | ".join(line.strip() for line in str(exc).splitlines()[:3])
            status, why = 500, f"{type(exc).__name__}: {lines[:300]}"
        else:
            why = str(status)
        self.statuses[status] += 1
        if status >= 500:
            self.failures.setdefault(key, why)


Form = list[tuple[str, str]]


def free_lots(api: Any) -> list[dict[str, Any]]:
    """Two of site A's lots in storage and on no manifest, oldest first (`fuzz_world` leaves
    four: the forms' wizard takes one onto a manifest, the API's draft another)."""
    params = {"site_id": str(api.world.site_a), "status": "stored"}
    items = api.as_("admin").get("/api/v1/lots", params=params).json()["items"]
    assert len(items) >= 2, items
    return sorted(items, key=lambda x: x["generated_at"])[:2]


def base_forms(api: Any) -> list[tuple[str, str, Callable[[], Form]]]:
    """(role, path, a fresh valid form) for each console form. The forms read the current
    versions each time, so a mutation that went through does not turn the rest into 409s.
    Needs `fuzz.fuzz_world` (parties, free stored lots, a draft manifest)."""
    w = api.world
    admin = api.as_("admin")
    lots = free_lots(api)
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
            for x in lots[1:]:  # lots[0] is the lot the other forms act on
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
            f"/admin/sites/{w.site_b}/profile",
            lambda: [
                ("licensed_operator", "on"),
                ("own_disposal_facility", "on"),
                ("spot_max_days", "30"),
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


def run_forms(api: Any, values: tuple[str, ...] = NASTY[:QUICK]) -> MutationReport:
    from tests.web.support import Web

    report = MutationReport()
    started = time.monotonic()
    sessions: dict[str, Web] = {}
    for role, path, fresh in base_forms(api):
        if role not in sessions:
            sessions[role] = Web(api, role)
        web = sessions[role]
        for what, _ in mutations(fresh(), values):
            # rebuild from a fresh form (current versions, new event ids), then mutate alike
            form = dict(mutations(fresh(), values))[what]
            report.record(f"{role} {path} {what}", web.post, path, form)
    report.seconds = time.monotonic() - started
    return report


Body = dict[str, Any]


def base_bodies(api: Any, device_token: str) -> list[tuple[str, str, str, Callable[[], Body]]]:
    """(caller, method, path, a fresh valid body) for the API's and the handheld's main
    commands. Needs `fuzz.fuzz_world`."""
    from tests.support.client import lot_body

    w = api.world
    admin = api.as_("admin")
    lots = free_lots(api)
    lot = lots[0]["lot_id"]
    (vehicle,) = admin.get("/api/v1/parties/vehicles").json()
    today = datetime.now(UTC).date()

    def version() -> int:
        return int(admin.get(f"/api/v1/lots/{lot}").json()["version"])

    def act(**body: Any) -> Callable[[], Body]:
        return lambda: {"event_id": str(uuid4()), "expected_version": version(), **body}

    def item(action: str, **body: Any) -> Body:
        return {
            "action": action,
            "event_id": str(uuid4()),
            "occurred_at": datetime.now(UTC).isoformat(),
            "lot_id": lot,
            "expected_version": version(),
            **body,
        }

    def draft() -> Body:
        return {
            "event_id": str(uuid4()),
            "site_id": str(w.site_a),
            "handler_enterprise_id": str(w.handler_org),
            "carrier_enterprise_id": str(w.carrier_org),
            "planned_date": str(today),
            "emergency_measures": "泄漏时用吸附棉围堵",
            "lines": [
                {
                    "waste_code": lots[1]["waste_code"],
                    "lot_ids": [lots[1]["lot_id"]],
                    "planned_method": "D10",
                    "un_number": "UN3077",
                    "dg_class": "9",
                }
            ],
        }

    return [
        ("operator", "POST", "/api/v1/lots", lambda: lot_body(w.site_a)),
        ("operator", "POST", f"/api/v1/lots/{lot}/weigh", act(weight_kg="120.5")),
        ("operator", "POST", f"/api/v1/lots/{lot}/move", act(zone_id=str(w.zones["A2"]))),
        ("operator", "POST", f"/api/v1/lots/{lot}/inspect", act(condition="leaking")),
        (
            "operator",
            "POST",
            f"/api/v1/lots/{lot}/repack",
            act(container={"type": "drum", "volume_l": "200", "material": "HDPE"}, reason="破损"),
        ),
        ("ehs_manager", "POST", "/api/v1/manifests", draft),
        (
            "device",
            "POST",
            "/mobile/v1/sync",
            lambda: {
                "items": [item("weigh", weight_kg="99.5"), item("inspect", condition="intact")]
            },
        ),
        (
            "device",
            "POST",
            "/mobile/v1/actions",
            lambda: item("move", zone_code="A1"),  # back from A2, where the API moved it
        ),
        (
            "admin",
            "PATCH",
            f"/api/v1/sites/{w.site_a}",
            lambda: {"contact_name": "陈工", "spot_max_days": 30, "own_disposal_facility": False},
        ),
        (
            "admin",
            "PATCH",
            f"/api/v1/parties/vehicles/{vehicle['id']}",
            lambda: {"valid_to": str(today + timedelta(days=300)), "dg_classes": ["3", "9"]},
        ),
        (
            "ehs_manager",
            "POST",
            "/api/v1/exports/declaration/filings",
            lambda: {
                "event_id": str(uuid4()),
                "site_id": str(w.site_a),
                "period": str(today.year - 1),
                "filed_on": str(today),
                "receipt_no": "SB-0001",
            },
        ),
        (
            "ehs_manager",
            "POST",
            "/api/v1/scorecard/inputs",
            lambda: {
                "event_id": str(uuid4()),
                "site_id": str(w.site_a),
                "year": today.year,
                "values": {
                    "output_value_10k_cny": "12500.5",
                    "product_t": {"synthesis": "800"},
                    "own_disposal_facility": False,
                },
                "self_assessed": {"s_trainings": "5", "s_ems_certified": True},
                "note": "年报",
            },
        ),
        (
            "operator",
            "POST",
            f"/api/v1/zones/{w.zones['A1']}/inspections",
            lambda: {"event_id": str(uuid4()), "items": [], "notes": "地面无渗漏"},
        ),
    ]


def body_mutations(body: Body, values: tuple[Any, ...]) -> list[tuple[str, Body]]:
    """Each field replaced by each value, and dropped; one level down too (an object's fields,
    a list's first element's). The body as it is first."""
    out: list[tuple[str, Body]] = [("as sent", body)]

    def at(path: tuple[Any, ...], value: Any, drop: bool = False) -> Body:
        copy = json.loads(json.dumps(body))
        holder = copy
        for step in path[:-1]:
            holder = holder[step]
        if drop:
            del holder[path[-1]]
        else:
            holder[path[-1]] = value
        return copy  # type: ignore[no-any-return]

    paths: list[tuple[Any, ...]] = []
    for key, value in body.items():
        paths.append((key,))
        if isinstance(value, dict):
            paths += [(key, k) for k in value]
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            paths += [(key, 0, k) for k in value[0]]
    for path in paths:
        name = ".".join(str(p) for p in path)
        for v in values:
            out.append((f"{name}={json.dumps(v, ensure_ascii=False)[:24]}", at(path, v)))
        out.append((f"no {name}", at(path, None, drop=True)))
    return out


def run_bodies(
    api: Any, device_token: str, values: tuple[Any, ...] = NASTY_JSON[:QUICK_JSON]
) -> MutationReport:
    report = MutationReport()
    started = time.monotonic()
    tokens = {"device": device_token}
    for caller, method, path, fresh in base_bodies(api, device_token):
        if caller not in tokens:
            tokens[caller] = api.token(caller)
        token = tokens[caller]
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        for what, _ in body_mutations(fresh(), values):
            body = dict(body_mutations(fresh(), values))[what]
            content = json.dumps(body, ensure_ascii=False).encode()  # NaN as a bare token
            key = f"{caller} {method} {path} {what}"
            report.record(key, api.client.request, method, path, content=content, headers=headers)
    report.seconds = time.monotonic() - started
    return report


def main() -> None:  # pragma: no cover - `python -m tests.security.mutate`
    import os
    import tempfile
    from pathlib import Path

    os.environ["APP_ENV"] = "testing"
    from app.migrate import upgrade
    from tests.security.fuzz import fuzz_tokens, fuzz_world
    from tests.support.client import Api
    from tests.support.world import build_world

    tmp = Path(tempfile.mkdtemp(prefix="hazchain-mutate-"))
    url = f"sqlite:///{tmp / 'mutate.db'}"
    upgrade(url)
    api = Api.start(url, build_world(url, tmp), tmp)
    fuzz_world(api)
    _, device, _ = fuzz_tokens(api, ("admin",))
    forms = run_forms(api, NASTY)
    print("console forms:", forms.summary())
    bodies = run_bodies(api, device, NASTY_JSON)
    print("API bodies:", bodies.summary())
    failures = {**forms.failures, **bodies.failures}
    for key, why in sorted(failures.items()):
        print(f"FAIL {key}: {why}")
    raise SystemExit(1 if failures else 0)


if __name__ == "__main__":  # pragma: no cover
    main()
