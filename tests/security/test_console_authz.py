"""Authorisation of the web console and the handheld page: every page × every demo role, on both
databases (the API's table is `test_authz_matrix.py`).

`CONSOLE` is the table: each route the app registers outside the OpenAPI document (the console's
pages and form posts, the handheld page, static files, the API's own docs), with the outcome for
an anonymous browser and for a browser signed in through the sign-in form as each demo role:
a status, a redirect (`LOGIN`: to the sign-in form with `next`; `→/path`: elsewhere). The two
form posts that carry many operations (`/lots/{lot_id}/act`, `/manifests/{manifest_id}/act`)
have one row per action. The first test checks that the table names every such route, so a new
page has to be added here, and that together with the API's table it covers every route.

Form posts: a caller the table refuses (403, or the sign-in redirect) sends a form that would
really write (the current version, real ids), and the test checks that nothing was written; a
caller the table lets through sends the same form made inert after the permission checks (a
stale version: 409; an unknown id: 404; a field the service refuses: 422), so it also writes
nothing. Reads use real ids, so permitted pages really render.

`CROSS` is the scope table: a console user of one site opening another site's lot, zone,
manifest, scorecard or export, a handler opening a manifest that does not name it, and the
handler and carrier a draft names opening it before it is submitted.

The world is built once per backend (module-scoped), as in `test_authz_matrix.py`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from httpx import Response

from app.manifests import service as manifest_service
from tests.conftest import _PG_PROBLEM, _template
from tests.manifests.support import draft, setup_parties, step, stored_lot
from tests.support.client import Api
from tests.web.support import Web

# the callers of every row, in the order of the outcome columns
CALLERS = ["anonymous", "admin", "ehs_manager", "operator", "auditor", "handler", "transporter"]

LOGIN = "login"  # 303 to /login?next=<the page>
D = "→/dashboard"
M = "→/manifests"
X = 403
OK = 200
ALL_OK = (OK,) * 7
PLANT = (LOGIN, OK, OK, OK, OK, X, X)  # dashboard, lots, zones: plant roles and the regulator
MANAGERS = (LOGIN, OK, OK, X, OK, X, X)  # parties, scorecard, exports, audit
LOT_WRITE = (LOGIN, 409, 409, 409, X, X, X)  # lot:write, then a stale version
CONSIGNOR = (LOGIN, 409, 409, 409, X, X, X)  # the consignor's manifest steps
HANDLER = (LOGIN, X, X, X, X, 409, X)  # the handler's steps (the admin is the consignor here)
SHIPPER = (LOGIN, 409, 409, 409, X, X, 409)  # consignor or carrier
ANY_PARTY = (LOGIN, 409, 409, 409, X, 409, 409)  # every named party, not the regulator

LOT_ACTIONS = ("label", "store", "move", "weigh", "inspect", "reprint", "discard")

# (method, path[?query], action, outcomes in CALLERS order)
CONSOLE: list[tuple[str, str, str, tuple[Any, ...]]] = [
    # sign-in and language
    ("GET", "/", "", (LOGIN, D, D, D, D, M, M)),
    ("GET", "/login", "", ALL_OK),
    ("POST", "/login", "", (401, D, D, D, D, M, M)),  # anonymous: a wrong password
    ("POST", "/logout", "", (LOGIN, *("→/login",) * 6)),
    ("GET", "/lang?to=zh&next=/lots", "", ("→/lots",) * 7),
    # dashboard, lots, zones
    ("GET", "/dashboard", "", (LOGIN, OK, OK, OK, OK, M, M)),
    ("GET", "/lots", "", PLANT),
    ("GET", "/lots/{lot_id}", "", PLANT),
    *[("POST", "/lots/{lot_id}/act", a, LOT_WRITE) for a in LOT_ACTIONS],
    # a storage extension (延期贮存) is an EHS manager's (lot:correct), not an operator's
    ("POST", "/lots/{lot_id}/act", "extend", (LOGIN, 409, 409, X, X, X, X)),
    ("GET", "/lots/{lot_id}/label.pdf", "", PLANT),
    ("GET", "/lots/{lot_id}/qr.png", "", PLANT),
    ("GET", "/lots/{lot_id}/barcode.svg", "", PLANT),
    ("GET", "/zones", "", PLANT),
    ("POST", "/zones/{zone_id}/inspect", "", (LOGIN, 404, 404, 404, X, X, X)),  # unknown zone
    ("GET", "/zones/{zone_id}/sign.pdf", "", PLANT),
    ("GET", "/facilities/{facility_id}/sign.pdf", "", PLANT),
    # manifests: the list and a manifest for every role (the handler and carrier are named)
    ("GET", "/manifests", "", (LOGIN, *(OK,) * 6)),
    ("GET", "/manifests/new", "", (LOGIN, OK, OK, OK, X, X, X)),
    ("POST", "/manifests/new/check", "", (LOGIN, OK, OK, OK, X, X, X)),  # a dry run
    ("POST", "/manifests/new", "", (LOGIN, OK, OK, OK, X, X, X)),  # the wizard's check step
    ("GET", "/manifests/{manifest_id}", "", (LOGIN, *(OK,) * 6)),
    ("GET", "/manifests/{manifest_id}/manifest.pdf", "", (LOGIN, *(OK,) * 6)),
    # the roadside check opened from the PDF's QR code: anyone holding the paper's link
    ("GET", "/check/{token}", "", ALL_OK),
    ("POST", "/manifests/{manifest_id}/act", "submit", CONSIGNOR),
    ("POST", "/manifests/{manifest_id}/act", "cancel", CONSIGNOR),
    ("POST", "/manifests/{manifest_id}/act", "close", CONSIGNOR),
    ("POST", "/manifests/{manifest_id}/act", "return", CONSIGNOR),
    ("POST", "/manifests/{manifest_id}/act", "load", SHIPPER),
    ("POST", "/manifests/{manifest_id}/act", "dispatch", SHIPPER),
    ("POST", "/manifests/{manifest_id}/act", "sign", ANY_PARTY),
    ("POST", "/manifests/{manifest_id}/act", "correction", ANY_PARTY),
    # a one-time code for the dispatch handover: the consignor's and the carrier's, not before
    # the manifest is loaded (this one is submitted: 409); the handler does not sign it (422)
    ("POST", "/manifests/{manifest_id}/act", "challenge", (LOGIN, 409, 409, 409, X, 422, 409)),
    ("POST", "/manifests/{manifest_id}/act", "receive", HANDLER),
    ("POST", "/manifests/{manifest_id}/act", "confirm", HANDLER),
    ("POST", "/manifests/{manifest_id}/act", "dispose", HANDLER),
    ("GET", "/parties", "", MANAGERS),
    # scorecard, exports, audit
    ("GET", "/scorecard", "", MANAGERS),
    ("POST", "/scorecard/inputs", "", (LOGIN, 422, 422, X, X, X, X)),  # no site picked
    ("POST", "/scorecard/evidence", "", (LOGIN, 422, 422, X, X, X, X)),  # a refused file type
    ("GET", "/scorecard/evidence/{evidence_id}", "", MANAGERS),
    ("GET", "/scorecard/items/{criterion}/lots?year={year}&site={site_a}", "", MANAGERS),
    ("GET", "/exports", "", MANAGERS),
    ("POST", "/exports/declaration/filings", "", (LOGIN, 422, 422, X, X, X, X)),  # no site
    ("GET", "/exports/ledger.xlsx?site={site_a}", "", MANAGERS),
    ("GET", "/exports/log.jsonl?site={site_a}", "", MANAGERS),
    ("GET", "/audit", "", MANAGERS),
    # verifying is open to the regulator; the world's run makes every later one too soon (429)
    ("POST", "/audit/verify", "", (LOGIN, 429, 429, X, 429, X, X)),
    # administration
    ("GET", "/admin", "", (LOGIN, OK, X, X, X, X, X)),
    ("POST", "/admin/users", "", (LOGIN, 409, X, X, X, X, X)),  # a username taken
    ("POST", "/admin/devices", "", (LOGIN, 422, X, X, X, X, X)),  # a device without a name
    ("POST", "/admin/devices/{device_id}/revoke", "", (LOGIN, 404, X, X, X, X, X)),
    ("POST", "/admin/sites/{site_id}/profile", "", (LOGIN, 422, X, X, X, X, X)),  # "七天"
    # the handheld page and its files (its data needs a device token: the API's table)
    ("GET", "/m", "", ALL_OK),
    ("GET", "/m/sw.js", "", ALL_OK),
    ("GET", "/m/static/{path}", "", ALL_OK),
    # the console's files and the API's documentation
    ("GET", "/static/{path}", "", ALL_OK),
    ("GET", "/openapi.json", "", ALL_OK),
    ("GET", "/docs", "", ALL_OK),
    ("GET", "/docs/oauth2-redirect", "", ALL_OK),
    ("GET", "/redoc", "", ALL_OK),
]


class Console:
    """The module's world: lots at both sites, a draft manifest of site A naming `handler` and
    `transporter`, evidence at both sites, a device, a recorded verification, and a browser
    signed in through the form for each user."""

    def __init__(self, api: Api) -> None:
        w = api.world
        self.api = api
        self.parties = setup_parties(api)
        self.lot = stored_lot(api)  # site A, in A1, on no manifest
        self.mlot = stored_lot(api)
        self.manifest = step(api, "ehs_manager", draft(api, [self.mlot]), "submit")
        self.draft = draft(api, [stored_lot(api)])  # the consignor's alone until submitted
        ob = api.as_("operator_b")
        lot_b = ob.step(ob.generate(site=w.site_b), "label")
        self.lot_b = ob.step(lot_b, "store", zone_id=str(w.zones["B1"]))
        self.year = (api.ctx.clock.now() + timedelta(hours=8)).year
        self.evidence = {site: self._evidence(site) for site in (w.site_a, w.site_b)}
        r = api.as_("admin").post("/mobile/v1/devices", {"site_id": str(w.site_a), "name": "PDA"})
        assert r.status_code == 201, r.text
        self.device_id = r.json()["device_id"]
        r = api.as_("admin").post("/api/v1/audit/verifications")
        assert r.status_code == 201, r.text
        self.browsers = {name: Web(api, name) for name in [*CALLERS[1:], "operator_b", "handler2"]}
        self.browsers["anonymous"] = Web(api)

    def _evidence(self, site: Any) -> str:
        r = self.api.client.post(
            "/api/v1/scorecard/evidence",
            data={
                "event_id": str(uuid4()),
                "site_id": str(site),
                "year": str(self.year),
                "criterion": "s_compliance",
            },
            files={"file": ("licence.pdf", b"%PDF-1.4 evidence", "application/pdf")},
            headers={"Authorization": f"Bearer {self.api.token('ehs_manager')}"},
        )
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    # ------------------------------------------------------------ paths and forms

    def fill(self, template: str) -> str:
        w = self.api.world
        values = {
            "lot_id": self.lot["lot_id"],
            "lot_b": self.lot_b["lot_id"],
            "zone_id": str(w.zones["A1"]),
            "zone_b": str(w.zones["B1"]),
            "facility_id": self.parties.facility,
            "manifest_id": self.manifest["manifest_id"],
            "evidence_id": self.evidence[w.site_a],
            "evidence_b": self.evidence[w.site_b],
            "criterion": "e_label_coverage",
            "device_id": self.device_id,
            "year": str(self.year),
            "site_a": str(w.site_a),
            "site_b": str(w.site_b),
            "path": "app.js" if template.startswith("/m/") else "console.css",
            "code_b": self.lot_b["digital_id"],
            "number": self.manifest["number"],
            "draft_id": self.draft["manifest_id"],
            "draft_number": self.draft["number"],
            "token": manifest_service.roadside_token(
                self.api.ctx, self.manifest["number"], self.manifest["manifest_id"]
            ),
        }
        out = template
        for key, value in values.items():
            out = out.replace("{" + key + "}", str(value))
        return out

    def form(
        self, path: str, action: str, live: bool
    ) -> tuple[str, list[tuple[str, str]], dict[str, Any] | None]:
        """(path, form, files) for a post. `live`: the form would write if it were let through;
        else the same form made inert after the permission checks."""
        w = self.api.world
        eid = str(uuid4())
        today = self.api.ctx.clock.now().date().isoformat()
        if path.startswith("/lots/") and path.endswith("/act"):
            lot = self.lot_b if "lot_b" in path else self.lot
            version = lot["version"] if live else 999
            zone = "B1" if lot is self.lot_b else "A2"
            fields = {
                "label": [],
                "store": [("zone_id", str(w.zones[zone]))],
                "move": [("zone_id", str(w.zones[zone]))],
                "weigh": [("weight_kg", "130")],
                "inspect": [("condition", "intact")],
                "reprint": [("reason", "标签污损")],
                "discard": [("discarded_on", today), ("note", "随生活垃圾清运")],
                "extend": [
                    ("approval_no", "苏环危延〔2026〕1号"),
                    ("authority", "苏州市生态环境局"),
                    ("approved_on", today),
                    (
                        "extended_until",
                        (date.fromisoformat(today) + timedelta(days=180)).isoformat(),
                    ),
                ],
            }[action]
            form = [("action", action), ("event_id", eid), ("expected_version", str(version))]
            return self.fill(path), form + fields, None
        if path.endswith("/act"):  # a manifest
            return self.fill(path), self._manifest_form(action, live), None
        if path.startswith("/zones/"):
            zone = path if live else path.replace("{zone_id}", str(uuid4()))
            return self.fill(zone), [("event_id", eid), ("notes", "巡检")], None
        if path.startswith("/manifests/new"):
            lot = self.lot
            form = [
                ("site_id", str(w.site_a)),
                ("handler_enterprise_id", str(w.handler_org)),
                ("carrier_enterprise_id", str(w.carrier_org)),
                ("planned_date", today),
                ("emergency_measures", "泄漏时用吸附棉围堵"),
                ("event_id", eid),
                ("step", "submit" if live else "check"),
                ("lot", f"{lot['lot_id']}|{lot['waste_code']}"),
                (f"method_{lot['waste_code']}", "D10"),
            ]
            return path, form, None
        if path == "/scorecard/inputs":
            site = str(w.site_a) if live else ""
            form = [("site", site), ("year", str(self.year)), ("event_id", eid)]
            return path, [*form, ("in_paper_manifests", "7")], None
        if path == "/scorecard/evidence":
            form = [
                ("site", str(w.site_a)),
                ("year", str(self.year)),
                ("event_id", eid),
                ("criterion", "s_compliance"),
            ]
            kind = ("a.pdf", b"%PDF-1.4 a", "application/pdf") if live else ("a.exe", b"MZ", "x")
            return path, form, {"file": kind}
        if path == "/exports/declaration/filings":
            form = [
                ("site", str(w.site_a) if live else ""),
                ("period", str(self.year - 1)),
                ("filed_on", today),
                ("receipt_no", "SB-0001"),
                ("event_id", eid),
            ]
            return path, form, None
        if path == "/admin/users":
            form = [
                ("username", f"u{eid[:8]}" if live else "operator"),
                ("display_name", "新用户"),
                ("password", "another long password"),
                ("role", "operator"),
                ("enterprise_id", str(w.plant)),
                ("site_ids", str(w.site_a)),
            ]
            return path, form, None
        if path == "/admin/devices":
            return path, [("site_id", str(w.site_a)), ("name", "PDA-2" if live else " ")], None
        if path.endswith("/profile"):
            days = "30" if live else "七天"
            return path.replace("{site_id}", str(w.site_a)), [("spot_max_days", days)], None
        if path.endswith("/revoke"):
            device = path if live else path.replace("{device_id}", str(uuid4()))
            return self.fill(device), [], None
        return self.fill(path), [], None  # /logout, /audit/verify

    def _manifest_form(self, action: str, live: bool) -> list[tuple[str, str]]:
        p, w = self.parties, self.api.world
        mlot = self.mlot["lot_id"]
        version = self.manifest["version"] if live else 999
        today = self.api.ctx.clock.now().date().isoformat()
        form = [("action", action), ("event_id", str(uuid4())), ("version", str(version))]
        extra: dict[str, list[tuple[str, str]]] = {
            "cancel": [("reason", "计划变更")],
            "return": [("return_lot", mlot), ("zone_id", str(w.zones["A1"])), ("reason", "退回")],
            "load": [
                ("scanned", self.mlot["digital_id"]),
                ("vehicle_id", p.vehicle),
                ("driver_id", p.driver),
                ("escort_id", p.escort),
            ],
            "sign": [("step", "dispatch")],
            "challenge": [("step", "dispatch")],
            "correction": [("field", "route"), ("value", "G2 高速"), ("reason", "改道")],
            "receive": [("lot_id", mlot), (f"received_{mlot}", "125.5")],
            "confirm": [("lot_id", mlot), (f"outcome_{mlot}", "accepted")],
            "dispose": [
                ("dispose_lot", mlot),
                (f"method_{mlot}", "D10"),
                (f"completed_{mlot}", today),
            ],
        }
        return form + extra.get(action, [])

    # ------------------------------------------------------------ calls

    def call(self, who: str, method: str, path: str, action: str, want: Any) -> Response:
        web = self.browsers[who]
        if path in ("/login", "/logout", "/lang?to=zh&next=/lots"):
            web = _twin(web)  # signing in or out again, or a language: not the table's session
        if method == "GET":
            return web.get(self.fill(path))
        if path == "/login":
            if who == "anonymous":
                return web.login("nobody", "a wrong password")
            return web.login(who)
        live = want in (X, LOGIN)
        url, form, files = self.form(path, action, live)
        if files:
            return web.post(url, dict(form), files=files)
        return web.post(url, form)

    def written(self) -> tuple[int, ...]:
        """Counts that any write of these pages moves: the log, users, devices and revocations,
        one-time codes, verification runs."""
        tables = [
            "SELECT count(*) FROM stored_event",
            "SELECT count(*) FROM app_user",
            "SELECT count(*) FROM device",
            "SELECT count(*) FROM device WHERE revoked_at IS NOT NULL",
            "SELECT count(*) FROM handover_challenge",
            "SELECT count(*) FROM verification_run",
        ]
        with self.api.ctx.db.session(write=False) as session:
            return tuple(int(session.execute(sa.text(q)).scalar_one()) for q in tables)


def _twin(web: Web) -> Web:
    twin = Web(web.api)
    twin.client.cookies.update(web.client.cookies)
    twin.csrf = web.csrf
    return twin


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def console(
    request: pytest.FixtureRequest, _template_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Console]:
    from app.main import create_app
    from tests.support.world import make_settings

    if request.param == "postgresql" and _PG_PROBLEM:
        pytest.skip(f"PostgreSQL tests skipped: {_PG_PROBLEM}")
    tpl = _template(request.param, _template_dir)
    url, handle = tpl.clone()
    assert tpl.world is not None
    # a recorded verification holds "verify now" off for a day: the table's answer is 429
    settings = make_settings(url, tmp_path_factory.mktemp("console")).model_copy(
        update={"verify_cooldown_seconds": 86_400}
    )
    api = Api(TestClient(create_app(settings)), tpl.world, url)
    try:
        yield Console(api)
    finally:
        api.close()
        tpl.drop(handle)


# ---------------------------------------------------------------- the table is complete


def _registered(tmp: Path) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """(routes in the OpenAPI document, every other route) as (method, path)."""
    from fastapi.routing import APIRoute
    from starlette.routing import Mount, Route

    from app.main import create_app
    from tests.support.world import make_settings

    def walk(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
        for r in routes:
            if hasattr(r, "original_router"):  # FastAPI's lazily included router
                ctx_prefix = getattr(r.include_context, "prefix", "")
                yield from walk(r.original_router.routes, prefix + ctx_prefix)
            else:
                yield prefix, r

    app = create_app(make_settings(f"sqlite:///{tmp / 'routes.db'}", tmp))
    api: set[tuple[str, str]] = set()
    other: set[tuple[str, str]] = set()
    for prefix, r in walk(app.router.routes):
        if isinstance(r, Mount):
            other.add(("GET", prefix + r.path + "/{path}"))
        elif isinstance(r, APIRoute) and r.include_in_schema:
            api |= {(m, prefix + r.path) for m in r.methods}
        elif isinstance(r, Route):
            other |= {(m, prefix + r.path) for m in r.methods or () if m != "HEAD"}
        else:
            raise AssertionError(f"a route of an unknown kind: {r!r}")
    return api, other


def test_the_table_names_every_console_route(tmp_path: Path) -> None:
    from tests.security.test_authz_matrix import ROUTES

    api, other = _registered(tmp_path)
    table = {(m, p.split("?")[0]) for m, p, _, _ in CONSOLE}
    assert not other - table, f"routes missing from CONSOLE: {sorted(other - table)}"
    assert not table - other, f"CONSOLE names what the app does not: {sorted(table - other)}"
    # the API's table holds the rest (its own first test checks them): no route is in both
    assert not api & other
    # the two posts carrying many operations: every action the page accepts has its row
    from app.web.routes import LOT_ACTIONS as lot_actions
    from app.web.routes_manifests import ACTIONS as manifest_actions

    for route, accepted in [
        ("/lots/{lot_id}/act", lot_actions),
        ("/manifests/{manifest_id}/act", manifest_actions),
    ]:
        assert {a for _, p, a, _ in CONSOLE if p == route} == set(accepted), route
    assert not table & {(m, p) for m, p, _ in ROUTES}
    assert len(CONSOLE) == len({(m, p, a) for m, p, a, _ in CONSOLE})
    assert all(len(outcomes) == len(CALLERS) for *_, outcomes in CONSOLE)


# ---------------------------------------------------------------- every page × every role


def _matches(r: Response, want: Any) -> bool:
    location = r.headers.get("location", "")
    if want == LOGIN:
        return r.status_code == 303 and location.startswith("/login?next=")
    if isinstance(want, str):
        return r.status_code == 303 and location == want.removeprefix("→")
    return r.status_code == want


@pytest.mark.parametrize(
    ("method", "path", "action", "outcomes"),
    CONSOLE,
    ids=[f"{m} {p}{' ' + a if a else ''}" for m, p, a, _ in CONSOLE],
)
def test_console_matrix(
    console: Console, method: str, path: str, action: str, outcomes: tuple[Any, ...]
) -> None:
    failures = []
    for who, want in zip(CALLERS, outcomes, strict=True):
        before = console.written() if method == "POST" else None
        r = console.call(who, method, path, action, want)
        if not _matches(r, want):
            where = r.headers.get("location", "") or r.text[:300]
            failures.append(f"{who}: expected {want}, got {r.status_code} {where}")
            continue
        # a refusal is the refusal page, not the page itself (a manifest's refused step is
        # shown on the manifest, which the caller may read)
        page = path.startswith("/manifests/{manifest_id}/act") or 'class="card errorpage"' in r.text
        if want == X and not page:
            failures.append(f"{who}: 403, but not the refusal page: {r.text[:300]}")
        if before is not None:
            after = console.written()
            if after != before:
                failures.append(f"{who}: answered {r.status_code} but wrote {before} → {after}")
    assert not failures, f"{method} {path} {action}:\n" + "\n".join(failures)


# ---------------------------------------------------------------- across sites and organisations

# (who, method, path, action, expected status, text the answer must not contain). The lot, zone
# and evidence `_b` are site B's (TZ02); the others and the manifest are site A's (SZ01), the
# manifest naming `handler` and `transporter`. `operator` and `auditor` see site A only,
# `operator_b` site B only, `handler2` is another handler organisation.
CROSS: list[tuple[str, str, str, str, int, str]] = [
    # site A's operator: site B's lot, its label files, a step on it, site B's zone
    ("operator", "GET", "/lots/{lot_b}", "", 404, "{code_b}"),
    ("operator", "GET", "/lots/{lot_b}/label.pdf", "", 404, ""),
    ("operator", "GET", "/lots/{lot_b}/qr.png", "", 404, ""),
    ("operator", "GET", "/lots/{lot_b}/barcode.svg", "", 404, ""),
    ("operator", "POST", "/lots/{lot_b}/act", "move", 404, "{code_b}"),
    ("operator", "POST", "/lots/{lot_b}/act", "weigh", 404, "{code_b}"),
    ("operator", "GET", "/zones/{zone_b}/sign.pdf", "", 404, ""),
    ("operator", "POST", "/zones/{zone_b}/inspect", "", 404, ""),
    # lists and pages asked for site B show nothing of it
    ("operator", "GET", "/lots?site={site_b}", "", 200, "{lot_b}"),
    ("operator", "GET", "/lots?q={code_b}", "", 200, "{lot_b}"),
    ("operator", "GET", "/zones?site={site_b}", "", 200, "B1 区"),
    ("operator", "GET", "/dashboard?site={site_b}", "", 200, "TZ02"),
    ("operator", "GET", "/manifests/new?site={site_b}", "", 200, "{code_b}"),
    # site B's operator: site A's lot and manifest, a draft for site A
    ("operator_b", "GET", "/lots/{lot_id}", "", 404, ""),
    ("operator_b", "POST", "/lots/{lot_id}/act", "weigh", 404, ""),
    ("operator_b", "GET", "/manifests", "", 200, "{number}"),
    ("operator_b", "GET", "/manifests/{manifest_id}", "", 404, "{number}"),
    ("operator_b", "GET", "/manifests/{manifest_id}/manifest.pdf", "", 404, ""),
    ("operator_b", "POST", "/manifests/{manifest_id}/act", "cancel", 404, "{number}"),
    ("operator_b", "POST", "/manifests/{manifest_id}/act", "challenge", 404, "{number}"),
    ("operator_b", "POST", "/manifests/new", "", 403, ""),
    # the regulator of site A: site B's lot, evidence, scorecard, exports
    ("auditor", "GET", "/lots/{lot_b}", "", 404, "{code_b}"),
    ("auditor", "GET", "/dashboard?site={site_b}", "", 200, "TZ02"),
    ("auditor", "GET", "/scorecard/evidence/{evidence_b}", "", 404, ""),
    ("auditor", "GET", "/scorecard?site={site_b}&year={year}", "", 404, "TZ02"),
    ("auditor", "GET", "/scorecard/items/{criterion}/lots?year={year}&site={site_b}", "", 404, ""),
    ("auditor", "GET", "/exports?site={site_b}", "", 404, "TZ02"),
    ("auditor", "GET", "/exports/ledger.xlsx?site={site_b}", "", 404, ""),
    ("auditor", "GET", "/exports/log.jsonl?site={site_b}", "", 404, ""),
    # another handler organisation: a manifest that does not name it
    ("handler2", "GET", "/manifests", "", 200, "{number}"),
    ("handler2", "GET", "/manifests/{manifest_id}", "", 404, "{number}"),
    ("handler2", "GET", "/manifests/{manifest_id}/manifest.pdf", "", 404, ""),
    ("handler2", "POST", "/manifests/{manifest_id}/act", "sign", 404, "{number}"),
    ("handler2", "POST", "/manifests/{manifest_id}/act", "receive", 404, "{number}"),
    ("handler2", "POST", "/manifests/{manifest_id}/act", "challenge", 404, "{number}"),
    # the handler and the carrier a draft names: not theirs to see until it is submitted
    ("handler", "GET", "/manifests", "", 200, "{draft_number}"),
    ("handler", "GET", "/manifests/{draft_id}", "", 404, "{draft_number}"),
    ("transporter", "GET", "/manifests/{draft_id}/manifest.pdf", "", 404, ""),
    ("transporter", "POST", "/manifests/{draft_id}/act", "challenge", 404, "{draft_number}"),
]


@pytest.mark.parametrize(
    ("who", "method", "path", "action", "expected", "absent"),
    CROSS,
    ids=[f"{w} {m} {p}{' ' + a if a else ''}" for w, m, p, a, _, _ in CROSS],
)
def test_another_sites_or_organisations_objects(
    console: Console, who: str, method: str, path: str, action: str, expected: int, absent: str
) -> None:
    before = console.written()
    web = console.browsers[who]
    if method == "GET":
        r = web.get(console.fill(path))
    else:
        url, form, _ = console.form(path, action, live=True)  # it would write if let through
        r = web.post(url, form)
    assert r.status_code == expected, r.text[:2000]
    if absent:
        assert console.fill(absent) not in r.text
    assert console.written() == before
