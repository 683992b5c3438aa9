"""The console's pages on both databases: who may open what, sign-in, CSRF, the rules' answer
on the lot page, and the manifest wizard, all through the same services as the API."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from uuid import UUID, uuid4

import pytest
import sqlalchemy as sa
from fastapi import APIRouter
from sqlmodel import select

from app.deps import SessionDep
from app.domain.errors import InvalidInput
from app.eventstore.models import StoredEvent
from app.web.render import WebRoute
from tests.manifests.support import draft, setup_parties, stored_lot
from tests.support.world import PASSWORD
from tests.web.support import Web

PAGES = [
    "/dashboard",
    "/lots",
    "/zones",
    "/manifests",
    "/parties",
    "/scorecard",
    "/exports",
    "/audit",
    "/admin",
]
PLANT = {"/dashboard", "/lots", "/zones", "/manifests"}
MANAGER = PLANT | {"/parties", "/scorecard", "/exports", "/audit"}
ALLOWED = {
    "admin": set(PAGES),
    "ehs_manager": MANAGER,
    "auditor": MANAGER,
    "operator": PLANT,
    "handler": {"/manifests"},
    "transporter": {"/manifests"},
}


def nav_links(html: str) -> set[str]:
    nav = re.search(r'<nav class="main" id="nav">(.*?)</nav>', html, re.S)
    assert nav, html[:500]
    return set(re.findall(r'href="([^"]+)"', nav.group(1)))


@pytest.mark.parametrize("role", sorted(ALLOWED))
def test_each_role_sees_its_pages_and_is_refused_the_rest(api, role: str) -> None:  # type: ignore[no-untyped-def]
    web = Web(api, role)
    allowed = ALLOWED[role]
    home = web.get("/manifests")
    assert home.status_code == 200, home.text
    assert nav_links(home.text) == allowed
    for path in PAGES:
        r = web.get(path)
        if path in allowed:
            assert r.status_code == 200, (path, r.text[:2000])
            assert "<html" in r.text and 'lang="zh-CN"' in r.text
        elif path == "/dashboard" and role in ("handler", "transporter"):
            assert (r.status_code, r.headers["location"]) == (303, "/manifests")
        else:
            assert r.status_code == 403, (path, r.status_code)
            assert "无权访问" in r.text


def test_anonymous_pages_redirect_to_sign_in(api) -> None:  # type: ignore[no-untyped-def]
    web = Web(api)
    for path in [*PAGES, "/", "/manifests/new", f"/lots/{uuid4()}"]:
        r = web.get(path + "?x=1")
        assert r.status_code == 303, path
        assert r.headers["location"] == "/login?next=" + path + "%3Fx%3D1"


def test_sign_in_cookie_language_and_sign_out(api) -> None:  # type: ignore[no-untyped-def]
    web = Web(api)
    bad = web.login("ehs_manager", "wrong password")
    assert bad.status_code == 401 and "用户名或密码错误" in bad.text
    r = web.login("ehs_manager")
    assert (r.status_code, r.headers["location"]) == (303, "/dashboard")
    cookie = r.headers["set-cookie"]
    assert "hz_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "总览" in web.get("/dashboard").text
    en = web.get("/lang?to=en&next=/lots")
    assert en.headers["location"] == "/lots"
    assert ">Lots</a>" in web.get("/lots").text
    assert web.get("/lots?lang=zh").text.count("废物批次") >= 1
    # sign-in honours `next`, never an off-site one
    r = web.login("ehs_manager")
    assert Web(api).client.get("/login?next=//evil.example").status_code == 200
    out = web.post("/logout")
    assert (out.status_code, out.headers["location"]) == (303, "/login")
    web.client.cookies.clear()
    assert web.get("/dashboard").status_code == 303


def test_a_forged_or_foreign_session_cookie_is_refused(api) -> None:  # type: ignore[no-untyped-def]
    web = Web(api)
    web.client.cookies.set("hz_session", api.token("admin"))  # an API token is not a web session
    assert web.get("/dashboard").status_code == 303
    web.client.cookies.set("hz_session", "not-a-jwt")
    assert web.get("/dashboard").status_code == 303


def test_form_posts_without_the_csrf_token_are_refused(api) -> None:  # type: ignore[no-untyped-def]
    op = api.as_("operator")
    lot = op.step(op.generate(), "label")
    web = Web(api, "operator")
    body = {
        "action": "store",
        "event_id": str(uuid4()),
        "expected_version": str(lot["version"]),
        "zone_id": str(api.world.zones["A1"]),
    }
    r = web.post(f"/lots/{lot['lot_id']}/act", body, csrf=False)
    assert r.status_code == 403
    r = web.post(f"/lots/{lot['lot_id']}/act", {**body, "csrf": "forged"}, csrf=False)
    assert r.status_code == 403
    assert len(op.get(f"/api/v1/lots/{lot['lot_id']}/events").json()) == 2
    assert web.post("/logout", csrf=False).status_code == 403
    # the sign-in form itself needs its double-submit token
    fresh = Web(api)
    r = fresh.client.post("/login", data={"username": "operator", "password": "x", "csrf": "nope"})
    assert r.status_code == 403
    # with the token the step is recorded, once, even when the form is sent twice
    assert web.post(f"/lots/{lot['lot_id']}/act", body).status_code == 303
    assert web.post(f"/lots/{lot['lot_id']}/act", body).status_code == 303
    events = op.get(f"/api/v1/lots/{lot['lot_id']}/events").json()
    assert [e["type"] for e in events] == ["lot.generated", "lot.labelled", "lot.stored"]


def test_a_blocked_storage_shows_its_citation_on_the_lot_page(api) -> None:  # type: ignore[no-untyped-def]
    op = api.as_("operator")
    lot = op.step(op.generate(), "label")
    web = Web(api, "operator")
    page = web.get(f"/lots/{lot['lot_id']}")
    assert page.status_code == 200 and 'id="store-form"' in page.text
    r = web.post(
        f"/lots/{lot['lot_id']}/act",
        {
            "action": "store",
            "event_id": str(uuid4()),
            "expected_version": str(lot["version"]),
            "zone_id": str(api.world.zones["G1"]),
        },
    )
    assert r.status_code == 422, r.text
    refusal = re.search(r'<section class="card refused".*?</section>', r.text, re.S)
    assert refusal, r.text
    check = (
        api.as_("operator")
        .post(
            "/api/v1/checks",
            {"action": "store", "lot_id": lot["lot_id"], "zone_id": str(api.world.zones["G1"])},
        )
        .json()
    )
    blocks = [f for f in check["findings"] if f["severity"] == "block"]
    assert blocks
    for f in blocks:
        assert f["rule_id"] in refusal.group(0)
        assert f["citation"]["document"] in refusal.group(0)
    assert len(op.get(f"/api/v1/lots/{lot['lot_id']}/events").json()) == 2


def test_the_lot_page_shows_the_timeline_override_and_label(api) -> None:  # type: ignore[no-untyped-def]
    op = api.as_("operator")
    lot = stored_lot(api)
    lot = op.step(lot, "weigh", weight_kg="130.5")
    op.step(lot, "move", zone_id=str(api.world.zones["A2"]))
    web = Web(api, "ehs_manager")
    page = web.get(f"/lots/{lot['lot_id']}").text
    for text in ("产生", "贴标", "入库", "称重", "130.5 kg", "label.pdf", "qr.png"):
        assert text in page, text
    # zones by their codes, form and container in Chinese
    assert re.search(r"入库</b>.*?→ A1", page, re.S) and re.search(r"移库</b>.*?→ A2", page, re.S)
    assert "<dd>固态</dd>" in page and "<dd>袋 · 200 L · PP</dd>" in page
    assert web.get(f"/lots/{lot['lot_id']}/label.pdf").headers["content-type"] == (
        "application/pdf"
    )
    assert web.get(f"/lots/{lot['lot_id']}/qr.png").headers["content-type"] == "image/png"
    # a list filter finds it, another one does not
    assert lot["digital_id"] in web.get(f"/lots?q={lot['digital_id'][-8:]}").text
    assert lot["digital_id"] not in web.get("/lots?status=disposed").text
    # by kind: hazardous waste or general industrial solid waste
    hazardous = web.get("/lots?kind=hazardous").text
    assert lot["digital_id"] in hazardous and '<option value="hazardous" selected>' in hazardous
    assert lot["digital_id"] not in web.get("/lots?kind=general").text
    assert lot["digital_id"] in web.get("/lots?kind=nonsense").text  # ignored, as status is


def test_auditors_get_no_write_buttons_and_writes_are_refused(api) -> None:  # type: ignore[no-untyped-def]
    op = api.as_("operator")
    lot = op.step(op.generate(), "label")
    web = Web(api, "auditor")
    page = web.get(f"/lots/{lot['lot_id']}").text
    assert "只读" in page and 'action="/lots/' not in page
    assert "/manifests/new" not in web.get("/manifests").text
    r = web.post(
        f"/lots/{lot['lot_id']}/act",
        {
            "action": "weigh",
            "event_id": str(uuid4()),
            "expected_version": str(lot["version"]),
            "weight_kg": "1",
        },
    )
    assert r.status_code == 403
    assert len(op.get(f"/api/v1/lots/{lot['lot_id']}/events").json()) == 2
    assert web.get("/manifests/new").status_code == 403


def test_another_sites_lot_is_not_found(api) -> None:  # type: ignore[no-untyped-def]
    lot = api.as_("operator_b").generate(site=api.world.site_b)
    r = Web(api, "operator").get(f"/lots/{lot['lot_id']}")
    assert r.status_code == 404 and "未找到" in r.text


def test_dashboard_renders_tiles_and_charts(api) -> None:  # type: ignore[no-untyped-def]
    stored_lot(api)
    stored_lot(api, zone="A2")
    html = Web(api, "ehs_manager").get("/dashboard").text
    for chart in ("capacity", "histogram", "trend"):
        assert f'data-chart="{chart}"' in html
    tiles = re.search(r'<section class="tiles" id="tiles">(.*?)</section>', html, re.S)
    assert tiles and "<b>2</b>" in tiles.group(1)  # two lots in storage
    assert html.count('class="bar"') >= 3  # capacity bars and histogram bars drawn


def test_the_monthly_trend_counts_this_months_generation_per_site(api) -> None:  # type: ignore[no-untyped-def]
    """The trend's twelve China-time months end with this one; a lot generated now is in it,
    at its site only, and the chart draws it."""
    from app.dashboard import service as dashboard
    from app.domain.values import CHINA_TZ
    from app.identity.service import principal_for

    stored_lot(api)  # 125.5 kg at site A
    stored_lot(api, weight_kg="74.5")
    w = api.world
    now = datetime.now(UTC)
    this = now.astimezone(CHINA_TZ).strftime("%Y-%m")
    with api.ctx.db.session(write=False) as s:
        actor = principal_for(session=s, user_id=w.users["ehs_manager"])
        rows = dashboard.monthly_trend(session=s, actor=actor, now=now)
        only_b = dashboard.monthly_trend(session=s, actor=actor, now=now, site_id=w.site_b)
    assert len(rows) == 12 and rows[-1].month == this, rows
    assert rows[-1].generated_kg == 200 and rows[-1].shipped_kg == 0
    assert all(r.generated_kg == 0 for r in rows[:-1])
    assert all(r.generated_kg == 0 for r in only_b)
    html = Web(api, "ehs_manager").get("/dashboard").text
    assert 'data-chart="trend"' in html and this[2:] in html  # the month's axis label


def test_dashboard_alerts_name_their_site_when_several_are_in_view(api) -> None:  # type: ignore[no-untyped-def]
    """Zone codes repeat across sites (A1 at both): with every site in view, each alert says
    whose it is; with one picked, it need not."""
    from app.alerts import service as alert_service

    w = api.world
    two_days_ago = (datetime.now(UTC) - timedelta(days=2)).isoformat()
    for site in (w.site_a, w.site_b):  # unlabelled for two days: R09 at each
        api.as_("admin").generate(site=site, occurred_at=two_days_ago)
    with api.ctx.db.session() as s:
        alert_service.sweep(session=s, ctx=api.ctx)
    web = Web(api, "ehs_manager")

    def r09(url: str) -> list[str]:
        html = web.get(url).text
        items = re.findall(r'<li class="sev-\w+"><b class="rule">R09</b> (.*?)</li>', html, re.S)
        return sorted(re.sub(r"\s+", " ", re.sub("<[^>]+>", "", i)).split(" ")[0] for i in items)

    assert r09("/dashboard") == ["SZ01", "TZ02"]
    (only,) = r09(f"/dashboard?site={w.site_b}")
    assert only not in ("SZ01", "TZ02")  # the message itself comes first


def test_dashboard_and_manifest_list_follow_the_site_picked(api) -> None:  # type: ignore[no-untyped-def]
    from tests.manifests.support import draft

    setup_parties(api)
    mf = draft(api, [stored_lot(api)])  # consigned by site A
    w = api.world
    web = Web(api, "ehs_manager")  # both sites in scope

    def open_tile(url: str) -> str:
        tiles = re.search(
            r'<section class="tiles" id="tiles">(.*?)</section>', web.get(url).text, re.S
        )
        assert tiles, url
        tile = re.search(r'<a class="tile" href="(/manifests[^"]*)"><b>(\d+)</b>', tiles.group(1))
        assert tile, tiles.group(1)
        return f"{tile.group(2)} {tile.group(1)}"

    assert open_tile("/dashboard") == "1 /manifests"
    assert open_tile(f"/dashboard?site={w.site_a}") == f"1 /manifests?site={w.site_a}"
    assert open_tile(f"/dashboard?site={w.site_b}") == f"0 /manifests?site={w.site_b}"
    assert mf["number"] in web.get(f"/manifests?site={w.site_a}").text
    other = web.get(f"/manifests?site={w.site_b}").text
    assert mf["number"] not in other and 'id="manifest-site"' in other
    assert f'href="/manifests?status=draft&amp;site={w.site_b}"' in other
    assert web.get("/manifests?site=nonsense").status_code == 422


def _wizard_form(api, lots, method: str = "D10", step: str = "create") -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    w = api.world
    form = [
        ("site_id", str(w.site_a)),
        ("handler_enterprise_id", str(w.handler_org)),
        ("carrier_enterprise_id", str(w.carrier_org)),
        ("planned_date", str(__import__("datetime").date.today())),
        ("emergency_measures", "泄漏时用吸附棉围堵"),
        ("event_id", str(uuid4())),
        ("step", step),
    ]
    for lot in lots:
        form.append(("lot", f"{lot['lot_id']}|{lot['waste_code']}"))
        form.append((f"method_{lot['waste_code']}", method))
        form.append((f"un_{lot['waste_code']}", "UN3077"))
        form.append((f"dg_{lot['waste_code']}", "9"))
    return form


def test_wizard_checks_live_then_creates_and_lists_the_manifest(api) -> None:  # type: ignore[no-untyped-def]
    setup_parties(api)
    lots = [stored_lot(api), stored_lot(api)]
    web = Web(api, "ehs_manager")
    page = web.get("/manifests/new")
    assert page.status_code == 200 and lots[0]["digital_id"] in page.text
    # a method the licence does not cover: the live check names the rule and its citation
    bad = web.post("/manifests/new/check", _wizard_form(api, lots, method="D1"))
    assert bad.status_code == 200 and "R41" in bad.text and "citation" in bad.text
    good = web.post("/manifests/new/check", _wizard_form(api, lots))
    assert 'id="checks-ok"' in good.text, good.text
    # the checks wrote nothing
    assert api.as_("ehs_manager").get("/api/v1/manifests").json()["total"] == 0
    assert lots[0]["lot_id"] in web.get("/manifests/new").text
    r = web.post("/manifests/new", _wizard_form(api, lots, step="submit"))
    assert r.status_code == 303, r.text
    manifest_id = r.headers["location"].rsplit("/", 1)[1]
    m = api.as_("ehs_manager").get(f"/api/v1/manifests/{manifest_id}").json()
    assert m["status"] == "submitted" and len(m["lots"]) == 2
    listing = web.get("/manifests").text
    assert m["number"] in listing
    page = web.get(f"/manifests/{manifest_id}").text
    assert "创建联单" in page and "提交联单" in page and "manifest.pdf" in page
    pdf = web.get(f"/manifests/{manifest_id}/manifest.pdf")
    assert pdf.headers["content-type"] == "application/pdf"
    # the handler sees it in its portal, without plant navigation
    handler = Web(api, "handler")
    assert m["number"] in handler.get("/manifests").text
    assert handler.get(f"/manifests/{manifest_id}").status_code == 200
    assert Web(api, "handler2").get(f"/manifests/{manifest_id}").status_code == 404


def test_wizard_create_refused_shows_the_reason_and_writes_nothing(api) -> None:  # type: ignore[no-untyped-def]
    setup_parties(api)
    lot = stored_lot(api)
    web = Web(api, "ehs_manager")
    r = web.post("/manifests/new", _wizard_form(api, [lot], method="D1", step="submit"))
    assert r.status_code == 422 and "R41" in r.text
    assert api.as_("ehs_manager").get("/api/v1/manifests").json()["total"] == 0
    assert api.as_("operator").get(f"/api/v1/lots/{lot['lot_id']}").json()["status"] == "stored"


def test_manifest_actions_cancel_from_the_page(api) -> None:  # type: ignore[no-untyped-def]
    setup_parties(api)
    lot = stored_lot(api)
    web = Web(api, "ehs_manager")
    r = web.post("/manifests/new", _wizard_form(api, [lot]))
    manifest_id = r.headers["location"].rsplit("/", 1)[1]
    page = web.get(f"/manifests/{manifest_id}").text
    version = re.search(r'name="version" value="(\d+)"', page).group(1)  # type: ignore[union-attr]
    r = web.post(
        f"/manifests/{manifest_id}/act",
        {"action": "cancel", "event_id": str(uuid4()), "version": version, "reason": "计划变更"},
    )
    assert r.status_code == 303, r.text
    assert "已作废" in web.get(f"/manifests/{manifest_id}").text
    assert api.as_("operator").get(f"/api/v1/lots/{lot['lot_id']}").json()["status"] == "stored"


def test_exports_audit_and_admin_pages(api) -> None:  # type: ignore[no-untyped-def]
    stored_lot(api)
    web = Web(api, "admin")
    assert "尚未校验" in web.get("/audit").text  # no verification recorded yet
    assert "尚未校验" in web.get("/exports").text
    r = web.post("/audit/verify")
    assert (r.status_code, r.headers["location"]) == (303, "/audit#verify")
    audit = web.get("/audit").text
    assert "链完整" in audit and "控制台 admin" in audit
    assert "链完整" in web.get("/exports").text
    assert web.post("/audit/verify", csrf=False).status_code == 403  # a form from elsewhere
    english = web.get("/audit?lang=en").text  # (the language sticks: a cookie)
    assert "chain intact" in english and "Last verified" in english and "console admin" in english
    web.get("/audit?lang=zh")
    x = web.get(f"/exports/ledger.xlsx?site={api.world.site_a}")
    assert x.status_code == 200 and x.content[:2] == b"PK"
    log = web.get(f"/exports/log.jsonl?site={api.world.site_a}")
    assert log.status_code == 200 and log.text.count("\n") >= 3
    none = web.get("/exports/log.jsonl?site=")  # no site picked: the reason (was a 500)
    assert none.status_code == 422 and "pick a site" in none.text
    year = datetime.now(UTC).year
    form = {"site": "", "year": str(year), "criterion": "s_trainings", "event_id": str(uuid4())}
    upload = web.post("/scorecard/evidence", form, files={"file": ("a.pdf", b"%PDF-1.4", "a/b")})
    assert upload.status_code == 422, upload.text  # an empty form field is a missing one
    admin = web.get("/admin").text
    assert "ehs_manager" in admin and "SZ01" in admin and "R1" in admin
    assert Web(api, "auditor").get(f"/exports/log.jsonl?site={api.world.site_b}").status_code in (
        403,
        404,
    )


def test_declaration_reads_as_a_form_in_both_languages(api) -> None:  # type: ignore[no-untyped-def]
    lot = stored_lot(api)
    web = Web(api, "ehs_manager")
    url = f"/exports?site={api.world.site_a}&period={_year(api)}"
    zh = web.get(url).text
    lines = re.search(r'id="declaration-lines".*?</table>', zh, re.S)
    assert lines is not None
    row = re.search(rf"<tr><td class=\"mono\">{lot['waste_code']}</td>.*?</tr>", lines.group(0))
    assert row is not None, lines.group(0)
    # generated this year, still in storage: opening 0, generated = closing, nothing shipped
    kg = f"{float(lot['weight_kg']) / 1000:.3f}"
    cells = re.findall(r'<td class="num">([^<]*)</td>', row.group(0))
    assert cells == ["0.000", kg, "0.000", "0.000", kg]
    head = re.search(r'id="declaration-head".*?</dl>', zh, re.S)
    assert head is not None
    assert "年报" in head.group(0) and "登记管理单位" in head.group(0)
    assert "期初贮存量（吨）" in lines.group(0)
    for raw in ("yearly", "registration", "opening_stock_t"):
        assert raw not in head.group(0) + lines.group(0)
    en = web.get(url + "&lang=en").text
    lines_en = re.search(r'id="declaration-lines".*?</table>', en, re.S)
    head_en = re.search(r'id="declaration-head".*?</dl>', en, re.S)
    assert lines_en is not None and head_en is not None
    assert "opening stock (t)" in lines_en.group(0) and "registration" in head_en.group(0)


def _year(api) -> int:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    return (api.ctx.clock.now() + timedelta(hours=8)).year


def _api_card(api, site, year: int) -> dict:  # type: ignore[no-untyped-def,type-arg]
    r = api.as_("ehs_manager").get(f"/api/v1/scorecard?year={year}&site_id={site}")
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def _inputs(api, site, year: int) -> dict:  # type: ignore[no-untyped-def,type-arg]
    r = api.as_("ehs_manager").get(f"/api/v1/scorecard/inputs?year={year}&site_id={site}")
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def _score_tile(html: str) -> str:
    tile = re.search(r'id="score-tile".*?</section>', html, re.S)
    assert tile, html
    return tile.group(0)


def test_dashboard_scorecard_tile_shows_every_site_and_follows_new_inputs(api) -> None:  # type: ignore[no-untyped-def]
    w, year = api.world, _year(api)
    web = Web(api, "ehs_manager")  # in scope: both sites
    tile = _score_tile(web.get("/dashboard").text)
    for site, code in ((w.site_a, "SZ01"), (w.site_b, "TZ02")):
        total = _api_card(api, site, year)["totals"]["raw_total"]
        assert code in tile and f"?site={site}" in tile
        assert f'<b class="">{total}</b>' in tile, (total, tile)
    # a claim with its evidence through the web: the tile moves at once (new chain position)
    before = _api_card(api, w.site_a, year)["totals"]["raw_total"]
    r = web.post(
        "/scorecard/inputs",
        {
            "site": str(w.site_a),
            "year": str(year),
            "event_id": str(uuid4()),
            "sa_s_site_tidy": "yes",
        },
    )
    assert r.status_code == 303, r.text
    r = web.post(
        "/scorecard/evidence",
        {
            "site": str(w.site_a),
            "year": str(year),
            "event_id": str(uuid4()),
            "criterion": "s_site_tidy",
        },
        files={"file": ("tidy.pdf", b"%PDF-1.4 tidy", "application/pdf")},
    )
    assert r.status_code == 303, r.text
    after = _api_card(api, w.site_a, year)["totals"]["raw_total"]
    assert float(after) == float(before) + 2
    site_a_only = _score_tile(web.get(f"/dashboard?site={w.site_a}").text)
    assert f"<b>{after}</b>" in site_a_only and "TZ02" not in site_a_only
    # an operator has no scorecard: no tile
    assert 'id="score-tile"' not in Web(api, "operator").get("/dashboard").text


def test_scorecard_inputs_form_records_only_changes_and_shows_refusals(api) -> None:  # type: ignore[no-untyped-def]
    w, year = api.world, _year(api)
    web = Web(api, "ehs_manager")
    page = web.get(f"/scorecard?site={w.site_a}&year={year}")
    assert page.status_code == 200
    assert 'id="inputs-form"' in page.text and 'id="evidence-form"' in page.text
    assert "工业总产值（万元）" in page.text and 'name="sa_s_renewables_pct"' in page.text
    form = {
        "site": str(w.site_a),
        "year": str(year),
        "event_id": str(uuid4()),
        "in_output_value_10k_cny": "12500.5",
        "in_product_t.synthesis": "800",
        "in_own_disposal_facility": "no",
        "in_paper_manifests": "3",
        "sa_s_renewables_pct": "20",
        "sa_s_compliance": "yes",
        "note": "2025 年报",
    }
    r = web.post("/scorecard/inputs", form)
    assert r.status_code == 303, r.text
    assert "done=inputs" in r.headers["location"]
    got = _inputs(api, w.site_a, year)
    assert got["entries"] == 1
    assert float(got["values"]["output_value_10k_cny"]) == 12500.5
    assert float(got["values"]["product_t"]["synthesis"]) == 800
    assert got["values"]["own_disposal_facility"] is False
    assert got["values"]["paper_manifests"] == 3
    assert got["self_assessed"]["s_compliance"] is True
    assert float(got["self_assessed"]["s_renewables_pct"]) == 20
    # the self-assessment form alone leaves the period inputs as they are
    r = web.post(
        "/scorecard/inputs",
        {
            "site": str(w.site_a),
            "year": str(year),
            "event_id": str(uuid4()),
            "part": "assessment",
            "sa_s_site_tidy": "no",
        },
    )
    assert r.status_code == 303 and "done=assessment" in r.headers["location"]
    got = _inputs(api, w.site_a, year)
    assert got["entries"] == 2 and got["self_assessed"]["s_site_tidy"] is False
    assert float(got["values"]["product_t"]["synthesis"]) == 800
    # the page shows what is recorded; the same form again records nothing
    page = web.get(f"/scorecard?site={w.site_a}&year={year}").text
    assert 'value="12500.5"' in page
    r = web.post(
        "/scorecard/inputs", {**form, "event_id": str(uuid4()), "note": "", "sa_s_site_tidy": "no"}
    )
    assert r.status_code == 303
    assert _inputs(api, w.site_a, year)["entries"] == 2
    # clearing a field removes it (one more entry)
    r = web.post(
        "/scorecard/inputs",
        {**form, "event_id": str(uuid4()), "note": "", "in_paper_manifests": ""},
    )
    assert r.status_code == 303
    got = _inputs(api, w.site_a, year)
    assert got["entries"] == 3 and "paper_manifests" not in got["values"]
    # the service refuses shares that do not add up: the reason on the page, nothing written
    bad = web.post(
        "/scorecard/inputs",
        {**form, "event_id": str(uuid4()), "in_waste_share_pct.synthesis": "60"},
    )
    assert bad.status_code == 422, bad.text
    assert 'id="inputs-error"' in bad.text and "100" in bad.text
    bad = web.post("/scorecard/inputs", {**form, "in_base_year": "abc"})
    assert bad.status_code == 422 and "base_year" in bad.text
    assert _inputs(api, w.site_a, year)["entries"] == 3
    # without the form's token: refused
    assert web.post("/scorecard/inputs", form, csrf=False).status_code == 403


def test_scorecard_evidence_upload_download_and_roles(api) -> None:  # type: ignore[no-untyped-def]
    w, year = api.world, _year(api)
    web = Web(api, "ehs_manager")
    body = {
        "site": str(w.site_a),
        "year": str(year),
        "event_id": str(uuid4()),
        "criterion": "s_compliance",
        "description": "营业执照",
    }
    r = web.post(
        "/scorecard/evidence", body, files={"file": ("执照.pdf", b"%PDF-1.4 x", "application/pdf")}
    )
    assert r.status_code == 303, r.text
    evidence = _inputs(api, w.site_a, year)["evidence"]
    assert [(e["criterion"], e["filename"]) for e in evidence] == [("s_compliance", "执照.pdf")]
    page = web.get(f"/scorecard?site={w.site_a}&year={year}").text
    link = f"/scorecard/evidence/{evidence[0]['id']}"
    assert link in page and "执照.pdf" in page and "营业执照" in page
    got = web.get(link)
    assert got.status_code == 200 and got.content == b"%PDF-1.4 x"
    assert got.headers["content-type"] == "application/pdf"
    # an unsupported type: the service's reason on the page, nothing attached
    bad = web.post(
        "/scorecard/evidence",
        {**body, "event_id": str(uuid4())},
        files={"file": ("x.exe", b"MZ", "application/x-msdownload")},
    )
    assert bad.status_code == 422 and 'id="evidence-error"' in bad.text
    assert len(_inputs(api, w.site_a, year)["evidence"]) == 1
    # the auditor reads (and downloads) but gets no forms, and writes are refused
    auditor = Web(api, "auditor")
    page = auditor.get(f"/scorecard?site={w.site_a}&year={year}").text
    assert 'id="evidence-form"' not in page and 'id="inputs-save"' not in page
    assert link in page and auditor.get(link).status_code == 200
    r = auditor.post(
        "/scorecard/evidence",
        {**body, "event_id": str(uuid4())},
        files={"file": ("a.txt", b"a", "text/plain")},
    )
    assert r.status_code == 403
    r = auditor.post(
        "/scorecard/inputs", {"site": str(w.site_a), "year": str(year), "sa_s_compliance": "no"}
    )
    assert r.status_code == 403
    # another site's evidence is not found for a user scoped to one site
    other = Web(api, "ehs_manager").post(
        "/scorecard/evidence",
        {**body, "site": str(w.site_b), "event_id": str(uuid4())},
        files={"file": ("b.txt", b"b", "text/plain")},
    )
    assert other.status_code == 303
    b_id = _inputs(api, w.site_b, year)["evidence"][0]["id"]
    assert auditor.get(f"/scorecard/evidence/{b_id}").status_code == 404


def test_scorecard_drill_down_lists_the_items_lots(api) -> None:  # type: ignore[no-untyped-def]
    w, year = api.world, _year(api)
    lots = [stored_lot(api), stored_lot(api)]
    op = api.as_("operator")
    unlabelled = op.generate()
    web = Web(api, "ehs_manager")
    page = web.get(f"/scorecard?site={w.site_a}&year={year}").text
    link = f"/scorecard/items/e_label_coverage/lots?year={year}&site={w.site_a}"
    assert link in page
    api_page = (
        api.as_("ehs_manager")
        .get(f"/api/v1/scorecard/items/e_label_coverage/lots?year={year}&site_id={w.site_a}")
        .json()
    )
    drill = web.get(link)
    assert drill.status_code == 200, drill.text
    assert f'id="den-count">{api_page["denominator_lots"]}<' in drill.text
    assert f'id="num-count">{api_page["numerator_lots"]}<' in drill.text
    for lot in lots:
        assert f"/lots/{lot['lot_id']}" in drill.text
    assert f"/lots/{unlabelled['lot_id']}" in drill.text  # in the denominator only
    num = web.get(link + "&side=numerator").text
    assert f"/lots/{lots[0]['lot_id']}" in num and f"/lots/{unlabelled['lot_id']}" not in num
    # a self-assessed criterion has no lots behind it: a clear 404 page
    assert (
        web.get(f"/scorecard/items/s_compliance/lots?year={year}&site={w.site_a}").status_code
        == 404
    )
    assert Web(api, "operator").get(link).status_code == 403


def test_admin_creates_a_user_who_can_then_sign_in(api) -> None:  # type: ignore[no-untyped-def]
    w = api.world
    web = Web(api, "admin")
    page = web.get("/admin").text
    assert 'id="user-form"' in page and 'id="device-form"' in page
    body = [
        ("username", "op_tz"),
        ("display_name", "泰州操作员"),
        ("password", "a long enough password"),
        ("role", "operator"),
        ("enterprise_id", str(w.plant)),
        ("site_ids", str(w.site_b)),
    ]
    r = web.post("/admin/users", body)
    assert r.status_code == 303, r.text
    users = {u["username"]: u for u in api.as_("admin").get("/api/v1/users").json()}
    assert users["op_tz"]["role"] == "operator"
    assert users["op_tz"]["site_ids"] == [str(w.site_b)] and not users["op_tz"]["all_sites"]
    assert "泰州操作员" in web.get("/admin").text
    # the new user signs in and sees only TZ02's lots
    new = Web(api)
    assert new.login("op_tz", "a long enough password").status_code == 303
    assert new.get("/lots").status_code == 200
    # the same username again: 409 with the reason, the form kept (not the password)
    again = web.post("/admin/users", body)
    assert again.status_code == 409 and 'id="user-error"' in again.text
    assert 'value="op_tz"' in again.text and "a long enough password" not in again.text
    short = web.post("/admin/users", [(k, "short" if k == "password" else v) for k, v in body])
    assert short.status_code == 422 and "password" in short.text
    # only admins; with the form's token
    assert web.post("/admin/users", body, csrf=False).status_code == 403
    assert Web(api, "ehs_manager").post("/admin/users", body).status_code == 403


def test_admin_enrols_a_device_shows_its_token_once_and_revokes_it(api) -> None:  # type: ignore[no-untyped-def]
    w = api.world
    web = Web(api, "admin")
    r = web.post("/admin/devices", {"site_id": str(w.site_a), "name": "PDA-07"})
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    token = re.search(r'id="device-token-value"[^>]*>([^<]+)</textarea>', r.text)
    assert token, r.text
    device_token = token.group(1).strip()
    devices = api.as_("admin").get("/mobile/v1/devices").json()
    assert [(d["name"], d["site_id"]) for d in devices] == [("PDA-07", str(w.site_a))]
    # the token works on the handheld API, and is not shown again
    signin = api.client.post(
        "/mobile/v1/auth/sign-in",
        json={"username": "operator", "password": PASSWORD},
        headers={"Authorization": f"Bearer {device_token}"},
    )
    assert signin.status_code == 200, signin.text
    page = web.get("/admin").text
    assert device_token not in page and "PDA-07" in page
    # revoke: the device's tokens are refused from now on
    device_id = devices[0]["device_id"]
    assert f"/admin/devices/{device_id}/revoke" in page
    r = web.post(f"/admin/devices/{device_id}/revoke")
    assert (r.status_code, r.headers["location"]) == (303, "/admin?done=revoked#devices")
    assert api.as_("admin").get("/mobile/v1/devices").json()[0]["revoked_at"]
    refused = api.client.post(
        "/mobile/v1/auth/sign-in",
        json={"username": "operator", "password": PASSWORD},
        headers={"Authorization": f"Bearer {device_token}"},
    )
    assert refused.status_code == 401
    assert f"/admin/devices/{device_id}/revoke" not in web.get("/admin").text
    # a blank name: the reason on the page; no CSRF token or not an admin: refused
    blank = web.post("/admin/devices", {"site_id": str(w.site_a), "name": " "})
    assert blank.status_code == 422 and 'id="device-error"' in blank.text
    assert (
        web.post("/admin/devices", {"site_id": str(w.site_a), "name": "X"}, csrf=False).status_code
        == 403
    )
    manager = Web(api, "ehs_manager")
    assert (
        manager.post("/admin/devices", {"site_id": str(w.site_a), "name": "X"}).status_code == 403
    )
    assert len(api.as_("admin").get("/mobile/v1/devices").json()) == 1


def _form_version(html: str) -> str:
    found = re.search(r'name="version" value="(\d+)"', html)
    assert found, html[:3000]
    return found.group(1)


def _mf(api, manifest_id: str) -> dict:  # type: ignore[no-untyped-def,type-arg]
    r = api.as_("ehs_manager").get(f"/api/v1/manifests/{manifest_id}")
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def _mf_act(web: Web, manifest_id: str, action: str, body: list | None = None):  # type: ignore[no-untyped-def,type-arg]
    page = web.get(f"/manifests/{manifest_id}").text
    form = [
        ("action", action),
        ("event_id", str(uuid4())),
        ("version", _form_version(page)),
        *(body or []),
    ]
    return web.post(f"/manifests/{manifest_id}/act", form)


def test_custody_steps_load_sign_dispatch_receive_dispose_close_in_the_web(api) -> None:  # type: ignore[no-untyped-def]
    from tests.manifests.support import TODAY

    p = setup_parties(api)
    lots = [stored_lot(api), stored_lot(api)]
    manager, carrier, handler = (
        Web(api, "ehs_manager"),
        Web(api, "transporter"),
        Web(api, "handler"),
    )
    r = manager.post("/manifests/new", _wizard_form(api, lots, step="submit"))
    mid = r.headers["location"].rsplit("/", 1)[1]
    page = manager.get(f"/manifests/{mid}").text
    assert 'id="load-form"' in page and "苏E·D1234" in page and "周师傅" in page
    assert 'id="load-form"' not in handler.get(f"/manifests/{mid}").text  # not the handler's step
    # loading: the lots checked at the vehicle, the carrier's vehicle and crew
    scanned = [("scanned", lot["digital_id"]) for lot in lots]
    crew = [("vehicle_id", p.vehicle), ("driver_id", p.driver), ("escort_id", p.escort)]
    short = _mf_act(manager, mid, "load", [scanned[0], *crew])
    assert short.status_code in (409, 422) and 'id="step-error"' in short.text
    assert _mf(api, mid)["status"] == "submitted"
    r = _mf_act(manager, mid, "load", [*scanned, *crew, ("dg_waybill_no", "YD001")])
    assert r.status_code == 303, r.text
    assert _mf(api, mid)["status"] == "loaded"
    # the dispatch handover: the carrier issues a one-time code, shown once
    page = carrier.get(f"/manifests/{mid}").text
    assert 'id="challenge-form"' in page and "尚未签名" in page
    shown = _mf_act(carrier, mid, "challenge", [("step", "dispatch")])
    assert shown.status_code == 200 and shown.headers["cache-control"] == "no-store"
    code = re.search(r'id="challenge-code">(\d{8})<', shown.text)
    assert code, shown.text
    assert code.group(1) not in carrier.get(f"/manifests/{mid}").text
    # a wrong code is refused with the reason; the right one signs for the carrier
    wrong = _mf_act(manager, mid, "dispatch", [("counterpart_code", "00000000")])
    assert wrong.status_code == 422 and "one-time code is wrong" in wrong.text
    assert _mf(api, mid)["status"] == "loaded"
    r = _mf_act(manager, mid, "dispatch", [("counterpart_code", code.group(1))])
    assert r.status_code == 303, r.text
    m = _mf(api, mid)
    assert m["status"] == "in_transit"
    assert {(s["step"], s["party"], s["method"]) for s in m["signatures"]} == {
        ("dispatch", "consignor", "session"),
        ("dispatch", "carrier", "one_time_code"),
    }
    page = manager.get(f"/manifests/{mid}").text
    assert "一次性验证码" in page and "启运交接" in page
    assert re.search(r'id="track">\s*<span class="muted">未上传', page)
    english = manager.get(f"/manifests/{mid}?lang=en").text
    assert "consignor → carrier (dispatch)" in english and "one time code" in english
    assert "party consignor" not in english and "handover dispatch" not in english
    # the carrier's GPS track appears on the page with its sketch
    now = datetime.now(UTC).replace(microsecond=0)
    fixes = [
        {"at": (now - timedelta(minutes=5 - i)).isoformat(), "lat": f"31.{30 - i}", "lon": "120.7"}
        for i in range(3)
    ]
    track = {"event_id": str(uuid4()), "expected_version": m["version"], "points": fixes}
    r = api.as_("transporter").post(f"/api/v1/manifests/{mid}/track", track)
    assert r.status_code == 200, r.text
    m = r.json()["manifest"]
    page = manager.get(f"/manifests/{mid}?lang=zh").text  # ?lang=en kept English in a cookie
    assert "3 个定位点" in page and "接受人设施未登记坐标" in page
    assert '<svg viewBox="0 0 320 200" class="chart track"' in page
    # the receipt handover: the handler cannot receive before the carrier signs
    early = _mf_act(
        handler,
        mid,
        "receive",
        [("lot_id", x["lot_id"]) for x in m["lots"]]
        + [(f"received_{x['lot_id']}", str(x["weight_kg"])) for x in m["lots"]],
    )
    assert early.status_code in (409, 422), early.text
    assert 'id="step-error"' in early.text
    r = _mf_act(carrier, mid, "sign", [("step", "receipt")])
    assert r.status_code == 303, r.text
    body = [("lot_id", x["lot_id"]) for x in m["lots"]]
    body += [(f"received_{x['lot_id']}", str(x["weight_kg"])) for x in m["lots"]]
    r = _mf_act(handler, mid, "receive", body)
    assert r.status_code == 303, r.text
    m = _mf(api, mid)
    assert m["status"] == "received" and m["discrepancy"] is None
    # disposal by the handler, then the consignor closes
    page = handler.get(f"/manifests/{mid}").text
    assert 'id="dispose-form"' in page
    body = []
    for x in m["lots"]:
        body += [
            ("dispose_lot", x["lot_id"]),
            (f"method_{x['lot_id']}", "D10"),
            (f"completed_{x['lot_id']}", str(TODAY)),
        ]
    r = _mf_act(handler, mid, "dispose", body)
    assert r.status_code == 303, r.text
    assert _mf(api, mid)["status"] == "disposed"
    r = _mf_act(manager, mid, "close")
    assert r.status_code == 303
    assert _mf(api, mid)["status"] == "closed"
    statuses = {
        api.as_("operator").get(f"/api/v1/lots/{x['lot_id']}").json()["status"] for x in lots
    }
    assert statuses == {"disposed"}


def test_rejected_lots_go_back_into_storage_from_the_manifest_page(api) -> None:  # type: ignore[no-untyped-def]
    from tests.manifests.support import draft, to_received

    p = setup_parties(api)
    lots = [stored_lot(api), stored_lot(api)]
    m = draft(api, lots)
    weights = {lots[0]["lot_id"]: str(float(lots[0]["weight_kg"]) - 20)}
    m = to_received(api, p, m, weights)
    assert m["discrepancy"] is not None
    mid = m["manifest_id"]
    handler, manager = Web(api, "handler"), Web(api, "ehs_manager")
    page = handler.get(f"/manifests/{mid}").text
    assert 'id="confirm-form"' in page and 'id="dispose-form"' not in page
    body = [("lot_id", x["lot_id"]) for x in m["lots"]]
    body += [
        (f"outcome_{x['lot_id']}", "rejected" if x["lot_id"] == lots[0]["lot_id"] else "accepted")
        for x in m["lots"]
    ]
    body += [(f"method_{x['lot_id']}", "D10") for x in m["lots"]]
    body += [("consignor_notified_at", f"{date_today()}T09:00"), ("eeb_report_ref", "EEB-1")]
    r = _mf_act(handler, mid, "confirm", body)
    assert r.status_code == 303, r.text
    page = manager.get(f"/manifests/{mid}").text
    assert 'id="return-form"' in page and "拒收" in page
    lot_page = manager.get(f"/lots/{lots[0]['lot_id']}").text
    assert re.search(r"接收</b>.*?· 拒收", lot_page, re.S)  # the receipt says how it ended
    r = _mf_act(
        manager,
        mid,
        "return",
        [
            ("return_lot", lots[0]["lot_id"]),
            ("zone_id", str(api.world.zones["A2"])),
            ("reason", "重量不符"),
        ],
    )
    assert r.status_code == 303, r.text
    back = api.as_("operator").get(f"/api/v1/lots/{lots[0]['lot_id']}").json()
    assert back["status"] == "stored" and back["zone_id"] == str(api.world.zones["A2"])
    assert 'id="return-form"' not in manager.get(f"/manifests/{mid}").text


def date_today() -> str:
    from tests.manifests.support import TODAY

    return str(TODAY)


def test_zones_are_named_with_their_site_when_several_sites_are_in_view(api) -> None:  # type: ignore[no-untyped-def]
    stored_lot(api)
    zones = {z["code"]: z for z in api.as_("admin").get("/api/v1/zones").json()}
    a1 = zones["A1"]
    manager = Web(api, "ehs_manager")  # both sites
    html = manager.get("/dashboard").text
    capacity = re.search(r'data-chart="capacity".*?</svg>', html, re.S)
    assert capacity and f"SZ01 · A1 {a1['name']}" in capacity.group(0)  # whole name, no cut
    assert "TZ02 · B1" in capacity.group(0)
    assert "<td>SZ01 · A1</td>" in manager.get("/lots").text
    assert "SZ01 · A1" in manager.get("/zones").text
    # one site in view: plain zone codes
    operator = Web(api, "operator")
    assert "<td>A1</td>" in operator.get("/lots").text
    assert "SZ01 · A1" not in operator.get("/dashboard").text
    assert "SZ01 · " not in manager.get(f"/dashboard?site={api.world.site_a}").text


def test_every_table_header_is_translated(api) -> None:  # type: ignore[no-untyped-def]
    setup_parties(api)
    stored_lot(api)
    web = Web(api, "admin")
    for path in PAGES:
        html = web.get(path).text
        headers = re.findall(r"<th[^>]*>([^<]*)</th>", html)
        english = [h for h in headers if re.search(r"[A-Za-z]{3,}", h)]
        assert not english, (path, english)
    en = web.get("/admin?lang=en").text
    assert "<th>Username</th>" in en


def test_site_pickers_offer_only_the_sites_in_scope(api) -> None:  # type: ignore[no-untyped-def]
    """operator_b works at site B only: the wizard opens on B and does not offer A (the
    enterprise's other site, which `GET /api/v1/sites` does list)."""
    w = api.world
    listed = {s["id"] for s in api.as_("operator_b").get("/api/v1/sites").json()}
    assert str(w.site_a) in listed  # the API lists the enterprise's sites
    page = Web(api, "operator_b").get("/manifests/new")
    assert page.status_code == 200, page.text
    picker = re.search(r'<select name="site_id".*?</select>', page.text, re.S)
    assert picker is not None
    assert str(w.site_b) in picker.group(0) and str(w.site_a) not in picker.group(0)
    auditor = Web(api, "auditor").get("/exports").text  # the auditor reads site A only
    picker = re.search(r'<select name="site">.*?</select>', auditor, re.S)
    assert picker is not None
    assert str(w.site_a) in picker.group(0) and str(w.site_b) not in picker.group(0)


def test_an_inspection_recorded_from_the_zones_page_lands_once_per_form(api) -> None:  # type: ignore[no-untyped-def]
    """Each zone's form carries its own event id: posting it records one zone.inspected event,
    posting the same form again (a double click) records nothing more."""
    operator = Web(api, "operator")
    html = operator.get("/zones").text
    forms = re.findall(
        r'action="/zones/([0-9a-f-]{36})/inspect".*?name="event_id" value="([^"]+)"', html, re.S
    )
    assert len(forms) >= 2, html
    assert len({eid for _, eid in forms}) == len(forms)  # no two zones share an event id
    zone_id, event_id = forms[0]
    for _ in range(2):
        r = operator.post(f"/zones/{zone_id}/inspect", {"event_id": event_id, "notes": "巡检"})
        assert r.status_code == 303, r.text
    with api.ctx.db.session() as session:
        inspected = session.exec(
            select(StoredEvent.event_id).where(
                StoredEvent.stream_id == UUID(zone_id), StoredEvent.type == "zone.inspected"
            )
        ).all()
    assert [str(e) for e in inspected] == [event_id]
    zone = api.as_("admin").get(f"/api/v1/zones/{zone_id}").json()
    assert zone["last_inspected_at"] is not None
    bad = operator.post(f"/zones/{zone_id}/inspect", {"event_id": "not-a-uuid"})
    assert bad.status_code == 422 and "not an id" in bad.text


def test_the_near_limit_tile_and_the_age_filter_count_days_in_storage(api) -> None:  # type: ignore[no-untyped-def]
    """Both follow the rule set's marks (warning day 300, limit 365), counted as R33 counts a
    generator's year: from generation (tests/web/test_storage_clock.py has the licence
    holder's, from storage-in)."""
    op = api.as_("operator")
    a1 = str(api.world.zones["A1"])
    now = datetime.now(UTC)

    def lot(generated_days: int, stored_days: int, name: str) -> dict:  # type: ignore[type-arg]
        x = op.generate(name=name, occurred_at=(now - timedelta(days=generated_days)).isoformat())
        x = op.step(x, "label", occurred_at=(now - timedelta(days=generated_days - 1)).isoformat())
        at = (now - timedelta(days=stored_days)).isoformat()
        return op.step(x, "store", zone_id=a1, occurred_at=at)

    old = lot(310, 300, "废活性炭-旧")
    lot(20, 7, "废活性炭-新入库")
    web = Web(api, "operator")
    dash = web.get("/dashboard").text
    tile = re.search(r'href="/lots\?due=1"><b>(\d+)</b>', dash)
    assert tile and tile.group(1) == "1"
    for url in ("/lots?min_age=300", "/lots?due=1"):  # the tile's list, and the age filter
        listed = web.get(url).text
        assert "废活性炭-旧" in listed and "废活性炭-新入库" not in listed
        assert old["digital_id"] in listed
        assert re.search(r'<span class="warn">310</span>', listed)
    assert 'id="filter-due" checked' in listed
    # the search box also finds lots by waste code
    assert "废活性炭-新入库" in web.get("/lots?q=900-039-49").text


def test_the_wizard_offers_the_lots_longest_in_storage_first(api, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from app.web import routes_manifests

    setup_parties(api)
    op = api.as_("operator")
    a1 = str(api.world.zones["A1"])
    now = datetime.now(UTC)
    ids = []
    for days in (5, 200, 40):  # stored 5, 200 and 40 days ago
        x = op.generate(occurred_at=(now - timedelta(days=days + 1)).isoformat())
        x = op.step(x, "label", occurred_at=(now - timedelta(days=days + 1)).isoformat())
        x = op.step(x, "store", zone_id=a1, occurred_at=(now - timedelta(days=days)).isoformat())
        ids.append(x["lot_id"])
    monkeypatch.setattr(routes_manifests, "WIZARD_LOTS", 2)
    page = Web(api, "ehs_manager").get(f"/manifests/new?site={api.world.site_a}").text
    offered = re.findall(r'id="lot-([0-9a-f-]{36})"', page)
    assert offered == [ids[1], ids[2]]  # 200 days, then 40; the newest waits for a later page
    assert re.search(r'id="lots-shown">按贮存时间最久优先显示: 2 / 3<', page)


def test_a_page_that_fails_after_writing_keeps_nothing(api) -> None:  # type: ignore[no-untyped-def]
    """A console route turns a domain error into a page before the write session's exit runs
    (FastAPI runs it after the route's handler returns): the request is then rolled back, not
    committed with the error page. Proven with a route that writes and then refuses."""
    router = APIRouter(route_class=WebRoute)

    @router.post("/test-half-write")
    def half_write(session: SessionDep) -> None:
        session.execute(
            sa.text(
                "INSERT INTO manifest_sequence (year, division, last_seq) VALUES (1999, 'T', 1)"
            )
        )
        session.flush()
        raise InvalidInput("refused after a write")

    api.app.include_router(router)
    r = api.client.post("/test-half-write")
    assert r.status_code == 422 and "refused after a write" in r.text
    assert r.headers["content-type"].startswith("text/html")
    with api.ctx.db.engine.connect() as c:
        left = c.execute(sa.text("SELECT count(*) FROM manifest_sequence WHERE year = 1999"))
        assert left.scalar_one() == 0


def test_the_open_alerts_tile_counts_the_manifest_alerts_it_lists(api) -> None:  # type: ignore[no-untyped-def]
    """The tile counts the storage alerts and the manifest alerts (R49, R50, R51, R53, …), as
    the alert list under it shows both: a paper back-entry waiting in draft adds one."""
    setup_parties(api)
    web = Web(api, "ehs_manager")

    def tile() -> int:
        found = re.search(r'id="open-findings"><b>(\d+)</b>', web.get("/dashboard").text)
        assert found
        return int(found.group(1))

    def listed() -> int:
        storage = api.as_("ehs_manager").get("/api/v1/alerts").json()["total"]
        return storage + len(api.as_("ehs_manager").get("/api/v1/manifests/alerts").json())

    lot = stored_lot(api)
    before = tile()
    assert before == listed()
    paper = {"paper_number": "苏-2026-000321", "completed_on": str(date.today()), "reason": "停机"}
    draft(api, [lot], paper=paper)
    assert tile() == listed() == before + 1


def test_the_manifest_list_and_page_show_each_partys_alerts(api) -> None:  # type: ignore[no-untyped-def]
    """A handler's console home is the manifest list, with no dashboard: what it has to act
    on (an open discrepancy here, R51; a receipt to confirm, R50) shows there and on the
    manifest, with its citation; another handler sees none of it."""
    from tests.manifests.support import to_received

    p = setup_parties(api)
    lot = stored_lot(api)
    m = to_received(api, p, draft(api, [lot]), weights={lot["lot_id"]: "90"})
    assert m["discrepancy"] is not None
    handler = Web(api, "handler")
    listing = handler.get("/manifests").text
    alerts = re.search(r'<section class="card" id="manifest-alerts">(.*?)</section>', listing, re.S)
    assert alerts, listing[:3000]
    assert "R51" in alerts.group(1) and m["number"] in alerts.group(1)
    assert "危险废物转移管理办法 (2021) Art. 18 ¶2" in alerts.group(1)
    page = handler.get(f"/manifests/{m['manifest_id']}").text
    assert re.search(r'id="manifest-alerts">.*R51', page, re.S)
    assert 'id="manifest-alerts"' not in Web(api, "handler2").get("/manifests").text
    # a handler's list holds no drafts (portal scope), so it offers no draft filter either
    assert "/manifests?status=draft" not in listing
    assert "/manifests?status=draft" in Web(api, "ehs_manager").get("/manifests").text


def test_admin_sets_a_sites_rule_profile_in_the_console(api) -> None:  # type: ignore[no-untyped-def]
    """The licence (R32), an own disposal facility (HJ 1259 4.2.1) and the 贮存点 days (R34)
    are set from the admin page through the API's service: the declarations class the site
    key at once, the change is on the change trail, a bad number is refused with the reason,
    and a user without site:admin cannot post it."""
    w = api.world
    web = Web(api, "admin")
    page = web.get("/admin").text
    assert f'action="/admin/sites/{w.site_a}/profile"' in page
    form = {"own_disposal_facility": "on", "spot_max_days": "30"}
    r = web.post(f"/admin/sites/{w.site_a}/profile", form)
    assert r.status_code == 303 and r.headers["location"] == "/admin?done=site#sites", r.text
    site = api.get(f"/api/v1/sites/{w.site_a}").json()
    assert site["own_disposal_facility"] is True and site["spot_max_days"] == 30
    assert site["licensed_operator"] is False  # unticked: no
    row = re.search(r'<tr id="site-SZ01">.*?</tr>', web.get("/admin?done=site").text, re.S)
    assert row and "自建利用处置设施" in row.group(0) and "30" in row.group(0)
    cal = (
        api.as_("ehs_manager")
        .get("/api/v1/exports/declaration/filings", params={"site_id": str(w.site_a)})
        .json()
    )
    assert cal["management_class"] == "key" and cal["management_class_reasons"]
    trail = api.get("/api/v1/audit/changes", params={"entity_id": str(w.site_a)}).json()
    (change,) = [c for c in trail["items"] if c["action"] == "updated"]
    assert set(change["data"]["changed"]) == {"own_disposal_facility", "spot_max_days"}
    for days, why in (("七天", "whole number"), ("999", "365")):
        bad = web.post(f"/admin/sites/{w.site_a}/profile", {"spot_max_days": days})
        assert bad.status_code == 422 and 'id="site-error"' in bad.text and why in bad.text
    cleared = web.post(f"/admin/sites/{w.site_a}/profile", {"licensed_operator": "on"})
    assert cleared.status_code == 303
    site = api.get(f"/api/v1/sites/{w.site_a}").json()
    assert (site["licensed_operator"], site["own_disposal_facility"], site["spot_max_days"]) == (
        True,
        False,
        None,
    )
    mgr = Web(api, "ehs_manager")
    assert f"/admin/sites/{w.site_a}/profile" not in mgr.get("/admin").text
    assert mgr.post(f"/admin/sites/{w.site_a}/profile", form).status_code == 403
