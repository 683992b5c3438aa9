"""The console in a real browser (Playwright driving Debian's chromium), on both databases.

Each role signs in and sees its navigation; the dashboard draws its charts; a blocked storage
shows its citation on the lot page; a manifest is built through the wizard (live checks by
the page's script) and appears in the list. Screenshots of the main pages go to a temp dir,
or refresh docs/screenshots/web-*.png with HAZCHAIN_SCREENSHOTS=1 (SQLite run only).

Reuses the handheld test's server fixture: uvicorn on a free port against the test database,
/usr/bin/chromium with no network. Skips only where chromium or playwright is absent outside
CI.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from tests.manifests.support import setup_parties, stored_lot
from tests.mobile.test_browser import (  # noqa: F401 - fixtures
    ARGS,
    CHROMIUM,
    DOCS_SCREENSHOTS,
    browser_ok,
    server,
)
from tests.support.client import Api
from tests.support.world import PASSWORD

NAV = {
    "admin": [
        "总览",
        "废物批次",
        "贮存区域",
        "转移联单",
        "处置与运输单位",
        "无废工厂评分",
        "台账与申报",
        "审计",
        "系统管理",
    ],
    "ehs_manager": [
        "总览",
        "废物批次",
        "贮存区域",
        "转移联单",
        "处置与运输单位",
        "无废工厂评分",
        "台账与申报",
        "审计",
    ],
    "auditor": [
        "总览",
        "废物批次",
        "贮存区域",
        "转移联单",
        "处置与运输单位",
        "无废工厂评分",
        "台账与申报",
        "审计",
    ],
    "operator": ["总览", "废物批次", "贮存区域", "转移联单"],
    "handler": ["转移联单"],
    "transporter": ["转移联单"],
}


def _sign_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#nav")


def _shooter(api: Api, tmp_path: Path) -> Callable[[Any, str], None]:
    """`shot(page, name)`: a full-page screenshot `web-{name}.png`, on the SQLite run only,
    into docs/screenshots with HAZCHAIN_SCREENSHOTS=1, else into the test's temp dir."""
    shots = DOCS_SCREENSHOTS if os.environ.get("HAZCHAIN_SCREENSHOTS") == "1" else tmp_path
    shots.mkdir(parents=True, exist_ok=True)
    sqlite = api.ctx.db.dialect == "sqlite"

    def shot(page: Any, name: str) -> None:
        if sqlite:
            page.screenshot(path=str(shots / f"web-{name}.png"), full_page=True)

    return shot


def test_console_in_the_browser(server: tuple[str, Api], tmp_path: Path) -> None:  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    base, api = server
    shot = _shooter(api, tmp_path)

    setup_parties(api)
    op = api.as_("operator")
    for zone, overrides in [
        ("A1", {}),
        ("A1", {"weight_kg": "480"}),
        ("A2", {"name": "废矿物油", "waste_code": "900-249-08", "physical_form": "liquid"}),
        ("A2", {"name": "废包装桶", "waste_code": "900-041-49", "weight_kg": "66"}),
    ]:
        stored_lot(api, zone=zone, **overrides)
    op.step(op.generate(name="废活性炭（待贴标）"), "label")
    blocked = op.step(op.generate(name="含油抹布"), "label")

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            # every role: its own navigation, nothing more
            for role, items in NAV.items():
                context = browser.new_context(
                    locale="zh-CN", viewport={"width": 1280, "height": 800}
                )
                page = context.new_page()
                _sign_in(page, base, role)
                expect(page.locator("#nav a")).to_have_text(items)
                context.close()

            context = browser.new_context(
                locale="zh-CN", viewport={"width": 1360, "height": 900}, device_scale_factor=1
            )
            page = context.new_page()

            # a blocked storage shows its rule and citation on the lot page
            _sign_in(page, base, "operator")
            page.goto(f"{base}/lots/{blocked['lot_id']}")
            page.select_option("#zone-select", label="G1 G1 区")
            page.click("#store-form button")
            refusal = page.locator("#refusal")
            expect(refusal).to_be_visible()
            expect(refusal.locator("cite.citation").first).to_contain_text("GB")
            shot(page, "lot-blocked")
            page.click("header form button")  # sign out
            page.wait_for_url(f"{base}/login")

            _sign_in(page, base, "ehs_manager")
            # the dashboard draws its charts
            page.goto(f"{base}/dashboard")
            for chart in ("capacity", "histogram", "trend"):
                expect(page.locator(f"svg[data-chart={chart}]")).to_be_visible()
            assert page.locator("svg[data-chart=capacity] rect.bar").count() >= 3
            assert page.locator("svg[data-chart=histogram] rect.bar").count() == 7
            expect(page.locator("#tiles .tile").first).to_contain_text("4")
            shot(page, "dashboard")

            page.goto(f"{base}/lots")
            expect(page.locator("#lot-table tbody tr")).to_have_count(6)
            shot(page, "lots")
            page.locator("#lot-table a").first.click()
            expect(page.locator("#timeline")).to_be_visible()
            shot(page, "lot")
            page.goto(f"{base}/zones")
            expect(page.locator(".zone")).to_have_count(4)
            shot(page, "zones")

            # the wizard: pick lots, the script checks them live, create and submit
            page.goto(f"{base}/manifests/new")
            boxes = page.locator("input[name=lot]")
            expect(boxes).to_have_count(4)
            hw49 = page.locator("fieldset.code-group", has_text="900-039-49")
            hw49.locator("input[name=lot]").first.check()
            hw49.locator("input[name=lot]").nth(1).check()
            expect(page.locator("#checks-ok")).to_be_visible(timeout=15000)
            # a method outside the licence: the live check names the rule
            hw49.locator("input[name^=method_]").fill("D1")
            hw49.locator("input[name^=method_]").dispatch_event("change")
            expect(page.locator("#checks")).to_contain_text("R41", timeout=15000)
            hw49.locator("input[name^=method_]").fill("D10")
            hw49.locator("input[name^=method_]").dispatch_event("change")
            expect(page.locator("#checks-ok")).to_be_visible(timeout=15000)
            shot(page, "wizard")
            page.click("#create-submit")
            page.wait_for_url(f"{base}/manifests/*")
            expect(page.locator("h1")).to_contain_text("已提交")
            number = page.locator("h1 .mono").inner_text()
            expect(page.locator("#custody")).to_contain_text("提交联单")
            shot(page, "manifest")
            # its roadside check, as a phone without an account opens it from the PDF
            check_url = page.locator("#roadside-check").get_attribute("href")
            assert check_url and check_url.startswith(f"{base}/check/{number}-"), check_url
            phone = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
            roadside = phone.new_page()
            roadside.goto(check_url)
            expect(roadside.locator("#check-number")).to_have_text(number)
            expect(roadside.locator("#verdict")).to_contain_text("已提交：尚未签署装车交接")
            expect(roadside.locator("#nav")).to_have_count(0)
            shot(roadside, "roadside-check")
            phone.close()
            page.goto(f"{base}/manifests")
            expect(page.locator("#manifest-table")).to_contain_text(number)
            shot(page, "manifests")

            year = (api.ctx.clock.now() + timedelta(hours=8)).year  # this year's declaration
            pages = [
                ("scorecard", ""),
                ("audit", ""),
                ("parties", ""),
                ("exports", f"?period={year}"),
            ]
            for name, query in pages:
                page.goto(f"{base}/{name}{query}")
                expect(page.locator("h1")).to_be_visible()
                if name == "audit":  # no run recorded yet: verify now, and see it recorded
                    expect(page.locator("#verify-status")).to_have_text("尚未校验")
                    page.click("#verify-now")
                    expect(page.locator("#verify-status")).to_have_text("链完整")
                    expect(page.locator("#verify-when")).to_contain_text("控制台 ehs_manager")
                shot(page, name)
            expect(page.locator("#verify-status")).to_have_text("链完整")

            # the English switch
            page.click("header a.lang")
            expect(page.locator("#nav a").first).to_have_text("Dashboard")
        finally:
            browser.close()


def test_scorecard_inputs_evidence_and_admin_device_in_the_browser(
    server: tuple[str, Api],  # noqa: F811
    tmp_path: Path,
) -> None:
    """The EHS manager records period inputs, uploads evidence (a real multipart file input)
    and downloads it, drills into a criterion's lots, issues a handover code on a loaded
    manifest; the admin enrols a handheld, sees its token once, and revokes it."""
    from playwright.sync_api import expect, sync_playwright

    from tests.manifests.support import draft, load_body, step

    base, api = server
    shot = _shooter(api, tmp_path)

    p = setup_parties(api)
    lots = [stored_lot(api), stored_lot(api, zone="A2")]
    api.as_("operator").step(api.as_("operator").generate(), "label")
    m = draft(api, lots)
    m = step(api, "ehs_manager", m, "submit")
    m = step(api, "operator", m, "load", **load_body(p, m))
    evidence = tmp_path / "营业执照.pdf"
    evidence.write_bytes(b"%PDF-1.4\n% hazchain evidence\n")

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            context = browser.new_context(
                locale="zh-CN",
                viewport={"width": 1360, "height": 900},
                device_scale_factor=1,
                accept_downloads=True,
            )
            page = context.new_page()
            _sign_in(page, base, "ehs_manager")
            page.goto(f"{base}/scorecard?site={api.world.site_a}")
            page.fill("#in_output_value_10k_cny", "12500")
            page.fill("input[name='in_product_t.synthesis']", "800")
            page.click("#inputs-save")
            expect(page.locator("#inputs-saved")).to_be_visible()
            expect(page.locator("#in_output_value_10k_cny")).to_have_value("12500")
            page.select_option("#sa_s_compliance", "yes")
            page.fill("#sa_s_renewables_pct", "20")
            page.click("#assess-save")
            expect(page.locator("#assess-saved")).to_be_visible()
            expect(page.locator("#in_output_value_10k_cny")).to_have_value("12500")
            expect(page.locator("#sa_s_renewables_pct")).to_have_value("20")
            # evidence: the file input, then the download link
            page.select_option("#evidence-criterion", "s_compliance")
            page.set_input_files("#evidence-file", str(evidence))
            page.fill("#evidence-form input[name=description]", "营业执照扫描件")
            page.click("#evidence-upload")
            expect(page.locator("#evidence-saved")).to_be_visible()
            link = page.locator("#evidence-list a", has_text="营业执照.pdf")
            expect(link).to_be_visible()
            with page.expect_download() as dl:
                link.click()
            assert Path(dl.value.path()).read_bytes() == evidence.read_bytes()
            # s_compliance is now claimed with evidence: met
            row = page.locator("#self-assessed tr", has_text="s_compliance")
            expect(row).to_contain_text("达标")
            shot(page, "scorecard")
            # drill-down: the item's lots, not the plain lot list
            page.locator("#score-items details").first.evaluate("d => d.open = true")
            page.goto(
                f"{base}/scorecard/items/e_label_coverage/lots?year="
                f"{page.locator('input[name=year]').first.input_value()}&site={api.world.site_a}"
            )
            expect(page.locator("#drill-table tbody tr")).to_have_count(3)
            expect(page.locator("#num-count")).to_have_text("2")
            shot(page, "scorecard-lots")

            # the dispatch handover: a one-time code for the carrier to enter
            page.goto(f"{base}/manifests/{m['manifest_id']}")
            expect(page.locator("#handover")).to_contain_text("尚未签名")
            page.click("#challenge-issue")
            expect(page.locator("#challenge-code")).to_have_text(re.compile(r"^\d{8}$"))
            shot(page, "manifest-handover")
            page.click("header form button")
            page.wait_for_url(f"{base}/login")

            # administration: enrol a handheld, its token once, then revoke it
            _sign_in(page, base, "admin")
            page.goto(f"{base}/admin")
            page.select_option("#device-site", str(api.world.site_a))
            page.fill("#device-name", "PDA-09 仓库东门")
            page.click("#device-enrol")
            token = page.locator("#device-token-value")
            expect(token).to_be_visible()
            assert token.input_value().count(".") == 2  # a JWT
            expect(page.locator("#device-table")).to_contain_text("PDA-09 仓库东门")
            shot(page, "admin-device")
            page.goto(f"{base}/admin")
            expect(page.locator("#device-token-value")).to_have_count(0)
            page.once("dialog", lambda d: d.accept())
            page.locator("#device-table tr", has_text="PDA-09").locator("button.revoke").click()
            expect(page.locator("#device-revoked")).to_be_visible()
            expect(page.locator("#device-table tr", has_text="PDA-09")).to_contain_text("已吊销")
            shot(page, "admin")
        finally:
            browser.close()
