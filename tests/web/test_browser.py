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


def test_console_in_the_browser(server: tuple[str, Api], tmp_path: Path) -> None:  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    base, api = server
    sqlite = api.ctx.db.dialect == "sqlite"
    shots = DOCS_SCREENSHOTS if os.environ.get("HAZCHAIN_SCREENSHOTS") == "1" else tmp_path
    shots.mkdir(parents=True, exist_ok=True)

    def shot(page: Any, name: str) -> None:
        if sqlite:
            page.screenshot(path=str(shots / f"web-{name}.png"), full_page=True)

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
            page.goto(f"{base}/manifests")
            expect(page.locator("#manifest-table")).to_contain_text(number)
            shot(page, "manifests")

            for name in ("scorecard", "audit", "parties", "exports"):
                page.goto(f"{base}/{name}")
                expect(page.locator("h1")).to_be_visible()
                shot(page, name)
            expect(page.locator("#verify-status")).to_have_text("链完整")

            # the English switch
            page.click("header a.lang")
            expect(page.locator("#nav a").first).to_have_text("Dashboard")
        finally:
            browser.close()
