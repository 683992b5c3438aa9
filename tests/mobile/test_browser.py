"""The handheld page in a real browser (Playwright driving Debian's chromium).

Sign in on /m, scan a lot, scan a zone, go offline, do three actions (they queue in the
browser), come back online, and find each of them in the log exactly once. A handheld passed
from one operator to the next sends each one's queued actions under their own name only; a
refused item or batch never wedges the queue.

Skips only where chromium (or the playwright package) is absent and `CI` is not set; in CI a
missing browser fails the test. Playwright never downloads a browser here: it launches
/usr/bin/chromium.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.client import Api
from tests.support.world import PASSWORD, make_settings

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# HAZCHAIN_SCREENSHOTS=1 refreshes docs/screenshots/m-*.png; otherwise they go to a temp dir.
DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def _browser_problem() -> str | None:
    if not os.path.exists(CHROMIUM):
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is missing (pip install -e '.[test]')"
    return None


@pytest.fixture
def browser_ok() -> None:
    problem = _browser_problem()
    if problem is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"browser test cannot run in CI: {problem}")
    pytest.skip(f"browser test skipped: {problem}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(browser_ok: None, db: tuple[str, Any], tmp_path: Path) -> Iterator[tuple[str, Api]]:
    """The app under uvicorn on a free localhost port, on the test database."""
    import uvicorn

    from app.main import create_app

    url, world = db
    app = create_app(make_settings(url, tmp_path))
    port = _free_port()
    srv = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    api = Api.start(url, world, tmp_path)
    try:
        yield f"http://127.0.0.1:{port}", api
    finally:
        srv.should_exit = True
        thread.join(timeout=10)
        api.close()
        app.state.ctx.db.dispose()


def _enrol(api: Api, name: str) -> dict[str, Any]:
    """An admin enrols a handheld for site A: its device id and token."""
    r = api.as_("admin").post(
        "/mobile/v1/devices", {"site_id": str(api.world.site_a), "name": name}
    )
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def _signed_in(
    browser: Any, base: str, device_token: str, username: str = "operator", **context: Any
) -> tuple[Any, Any]:
    """A phone-sized page on `/m` with the device token entered and `username` signed in."""
    ctx = browser.new_context(
        viewport={"width": 360, "height": 760}, locale="zh-CN", device_scale_factor=1, **context
    )
    page = ctx.new_page()
    page.goto(f"{base}/m")
    page.fill("#device-token", device_token)
    _sign_in(page, username)
    return ctx, page


def _sign_in(page: Any, username: str) -> None:
    """Sign `username` in on the page's sign-in form (the device token is entered already)."""
    from playwright.sync_api import expect

    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#signin-form button[type=submit]")
    # a sign-in checks an argon2 hash: on two busy cores (CI) it can take more than 5 s
    expect(page.locator("#work")).to_be_visible(timeout=15000)
    expect(page.locator("#who")).to_contain_text(f" · {username} · ")


def _scan(page: Any, code: str) -> None:
    """What a keyboard-wedge scanner does: type into the focused field, then Enter."""
    assert page.evaluate("document.activeElement && document.activeElement.id") == "scan"
    page.keyboard.type(code)
    page.keyboard.press("Enter")


def test_offline_actions_sync_exactly_once(server: tuple[str, Api], tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    shots = DOCS_SCREENSHOTS if os.environ.get("HAZCHAIN_SCREENSHOTS") == "1" else tmp_path

    base, api = server
    op = api.as_("operator")
    lot = op.step(op.generate(name="废矿物油桶"), "label")
    device = _enrol(api, "PDA-07")
    device_id = device["device_id"]

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            context, page = _signed_in(browser, base, device["device_token"])
            expect(page.locator("#who")).to_contain_text("SZ01 · operator · PDA-07")

            _scan(page, lot["digital_id"].lower())
            expect(page.locator("#lot-card")).to_contain_text("废矿物油桶")
            expect(page.locator("#lot-card")).to_contain_text("已贴标")
            # a general-waste zone: the rules refuse it before the operator tries
            _scan(page, "G1")
            expect(page.locator("button[data-action=store]")).to_be_disabled()
            expect(page.locator("#actions")).to_contain_text("不能入库 G1")
            if api.ctx.db.dialect == "sqlite":
                shots.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(shots / "m-rule.png"), full_page=True)
            _scan(page, "A1")
            expect(page.locator("#zone-card")).to_contain_text("区域 A1")
            store = page.locator("button[data-action=store]")
            expect(store).to_have_text("入库 → A1")
            expect(store).to_be_enabled()
            shots.mkdir(parents=True, exist_ok=True)
            if api.ctx.db.dialect == "sqlite":
                page.screenshot(path=str(shots / "m-scan.png"), full_page=True)

            context.set_offline(True)
            store.click()
            expect(page.locator("#net")).to_have_text("离线")
            page.click("button[data-action=weigh]")
            page.fill("#f-weight", "182.5")
            page.click("#input-form button[type=submit]")
            page.click("button[data-action=inspect]")
            page.click("#input-form [data-cond=intact]")
            expect(page.locator("#queue-count")).to_have_text("3")
            expect(page.locator("#lot-card")).to_contain_text("182.5 kg")
            assert page.evaluate("document.activeElement.id") == "scan"
            queued = page.evaluate("window.hazchain.queue()")
            assert [q["action"] for q in queued] == ["store", "weigh", "inspect"]
            assert [q["expected_version"] for q in queued] == [2, 3, 4]
            if api.ctx.db.dialect == "sqlite":
                page.screenshot(path=str(shots / "m-offline-queue.png"), full_page=True)
            # nothing reached the server while offline
            assert len(op.get(f"/api/v1/lots/{lot['lot_id']}/events").json()) == 2

            context.set_offline(False)
            page.evaluate("window.dispatchEvent(new Event('online'))")
            expect(page.locator("#queue-count")).to_have_text("0", timeout=15000)
            expect(page.locator("#net")).to_have_text("在线")
            expect(page.locator("#messages")).to_contain_text("已记录：检查")
            # back online, the server's checks again: the lot is in A1 already
            expect(page.locator("button[data-action=move]")).to_be_disabled()
            expect(page.locator("#actions")).to_contain_text("移库：废物已在该区域")
            expect(page.locator("#zone-card")).to_contain_text("1 件")
            # a second flush (a retry after a lost answer) changes nothing
            page.evaluate(
                "(q) => { localStorage.setItem('hz.queue', JSON.stringify(q)); "
                "return window.hazchain.flush(); }",
                queued,
            )
            expect(page.locator("#queue-count")).to_have_text("0")
            if api.ctx.db.dialect == "sqlite":
                page.screenshot(path=str(shots / "m-synced.png"), full_page=True)
        finally:
            browser.close()

    events = op.get(f"/api/v1/lots/{lot['lot_id']}/events").json()
    assert [e["type"] for e in events] == [
        "lot.generated",
        "lot.labelled",
        "lot.stored",
        "lot.weighed",
        "lot.inspected",
    ]
    assert {e["event_id"] for e in events[2:]} == {q["event_id"] for q in queued}
    assert all(e["device_id"] == device_id for e in events[2:])
    assert all(e["actor_id"] == str(api.world.users["operator"]) for e in events[2:])
    final = op.get(f"/api/v1/lots/{lot['lot_id']}").json()
    assert (final["status"], final["zone_code"], final["weight_kg"]) == ("stored", "A1", "182.500")


def test_loading_a_manifest_lot_offline(server: tuple[str, Api], tmp_path: Path) -> None:
    """Scan a lot of a submitted manifest at the vehicle, load it offline, sync: the manifest
    shows it scanned, once."""
    from playwright.sync_api import expect, sync_playwright

    from tests.manifests.support import draft, setup_parties, step, stored_lot

    shots = DOCS_SCREENSHOTS if os.environ.get("HAZCHAIN_SCREENSHOTS") == "1" else tmp_path
    base, api = server
    setup_parties(api)
    lot = stored_lot(api, name="废矿物油桶")
    m = step(api, "ehs_manager", draft(api, [lot]), "submit")
    device = _enrol(api, "PDA-08")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            context, page = _signed_in(browser, base, device["device_token"])
            _scan(page, lot["digital_id"])
            expect(page.locator("#lot-card")).to_contain_text("已配联单")
            load = page.locator("button[data-action=load]")
            expect(load).to_be_enabled()
            context.set_offline(True)
            load.click()
            expect(page.locator("#queue-count")).to_have_text("1")
            expect(page.locator("button[data-action=load]")).to_have_count(0)  # not twice
            context.set_offline(False)
            page.evaluate("window.dispatchEvent(new Event('online'))")
            expect(page.locator("#queue-count")).to_have_text("0", timeout=15000)
            expect(page.locator("#messages")).to_contain_text("已记录：装车")
            expect(page.locator("#actions")).to_contain_text("该废物已装车扫描")
            if api.ctx.db.dialect == "sqlite":
                shots.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(shots / "m-load.png"), full_page=True)
        finally:
            browser.close()
    state = api.as_("ehs_manager").get(f"/api/v1/manifests/{m['manifest_id']}").json()
    assert state["lots"][0]["scanned_at"] is not None
    events = api.as_("admin").get(f"/api/v1/lots/{lot['lot_id']}/events").json()
    assert [e["type"] for e in events].count("lot.loaded") == 1


def test_queued_actions_go_only_under_the_operator_who_did_them(
    server: tuple[str, Api], tmp_path: Path
) -> None:
    """The operator queues a step offline and signs out; the manager signs in on the same
    handheld: the operator's step stays queued (and says whose it is) while the manager's own
    go at once. The operator signs in again: the step goes, under the operator's name."""
    from playwright.sync_api import expect, sync_playwright

    shots = DOCS_SCREENSHOTS if os.environ.get("HAZCHAIN_SCREENSHOTS") == "1" else tmp_path
    base, api = server
    op = api.as_("operator")
    lot = op.step(op.generate(name="废矿物油桶"), "label")
    fresh = op.generate(name="废活性炭")  # generated, not labelled yet
    device = _enrol(api, "PDA-09")
    users = api.world.users
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            context, page = _signed_in(browser, base, device["device_token"])
            _scan(page, lot["digital_id"])
            expect(page.locator("#lot-card")).to_contain_text("废矿物油桶")
            _scan(page, "A1")
            # the zone scan resolves on the server: the store button names the zone once it has
            store = page.locator("button[data-action=store]")
            expect(store).to_have_text("入库 → A1")
            expect(store).to_be_enabled()
            context.set_offline(True)
            store.click()
            expect(page.locator("#queue-count")).to_have_text("1")
            queued = page.evaluate("window.hazchain.queue()")
            assert queued[0]["queued_by"] == {
                "user_id": str(users["operator"]),
                "username": "operator",
            }
            # signing out with a step still queued asks first, and keeps it
            asked: list[str] = []
            page.once("dialog", lambda d: (asked.append(d.message), d.accept()))
            page.click("#btn-signout")
            expect(page.locator("#signin")).to_be_visible()
            assert "1 条操作未同步" in asked[0] and "下次登录后自动同步" in asked[0]
            note = page.locator("#queue-note")
            expect(note).to_have_text("1 条操作等待 operator 登录后同步")

            # the manager signs in, online: the operator's step is not theirs to send
            context.set_offline(False)
            _sign_in(page, "ehs_manager")
            page.evaluate("window.hazchain.flush()")
            expect(note).to_have_text("1 条操作等待 operator 登录后同步")
            expect(page.locator("#queue-count")).to_have_text("0")
            # ... while the manager's own step goes at once
            _scan(page, fresh["digital_id"])
            page.click("button[data-action=label]")
            expect(page.locator("#messages")).to_contain_text("已记录：贴标", timeout=15000)
            page.click("#queue")
            panel = page.locator("#queue-panel")
            expect(panel).to_contain_text("等待 operator 登录后同步")
            expect(panel.locator("[data-discard]")).to_have_count(0)  # not the manager's
            shots.mkdir(parents=True, exist_ok=True)
            if api.ctx.db.dialect == "sqlite":
                page.screenshot(path=str(shots / "m-queue-others.png"), full_page=True)
            assert len(op.get(f"/api/v1/lots/{lot['lot_id']}/events").json()) == 2
            page.click("#btn-signout")  # nothing of their own queued: no question asked
            expect(page.locator("#signin")).to_be_visible()

            # the operator again: the step goes now
            _sign_in(page, "operator")
            expect(page.locator("#queue-count")).to_have_text("0", timeout=15000)
            expect(page.locator("#messages")).to_contain_text("已记录：入库")
            expect(note).to_be_hidden()
        finally:
            browser.close()

    events = op.get(f"/api/v1/lots/{lot['lot_id']}/events").json()
    assert [e["type"] for e in events] == ["lot.generated", "lot.labelled", "lot.stored"]
    assert events[2]["event_id"] == queued[0]["event_id"]
    assert events[2]["actor_id"] == str(users["operator"])
    assert events[2]["device_id"] == device["device_id"]
    labelled = op.get(f"/api/v1/lots/{fresh['lot_id']}/events").json()[-1]
    assert (labelled["type"], labelled["actor_id"]) == ("lot.labelled", str(users["ehs_manager"]))


def test_a_refused_item_or_batch_never_wedges_the_queue(
    server: tuple[str, Api], tmp_path: Path
) -> None:
    """The page refuses what the server would (an empty partial receipt, a long waste code);
    an item the server answers `rejected` leaves the queue with the reason in plain words; a
    whole batch refused as it stands stops the sending, names the item, and the operator
    deletes it: the queue moves again."""
    from playwright.sync_api import expect, sync_playwright

    from tests.mobile.conftest import item

    shots = DOCS_SCREENSHOTS if os.environ.get("HAZCHAIN_SCREENSHOTS") == "1" else tmp_path
    base, api = server
    op = api.as_("operator")
    lot = op.step(op.generate(name="废矿物油桶"), "label")
    other = op.step(op.generate(name="废活性炭"), "label")
    device = _enrol(api, "PDA-10")
    by = {"user_id": str(api.world.users["operator"]), "username": "operator"}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            # no service worker: the test answers the page's sync requests itself below
            context, page = _signed_in(
                browser, base, device["device_token"], service_workers="block"
            )
            page.click("#btn-generate")
            expect(page.locator("#g-code")).to_have_attribute("maxlength", "12")
            page.click("#input-form [data-cancel]")
            # a lot in transit, as the page knows it offline: receive it in part, no amount
            context.set_offline(True)
            page.evaluate(
                """(id) => { const h = window.hazchain;
                h.state.lot = { lot_id: id, digital_id: null, status: "shipped", version: 6,
                  name: "废酸", weight_kg: "10", container: { type: "drum", volume_l: "200" },
                  condition: "intact", needs_repack: false, hazard_characteristics: [] };
                h.state.actions = null; h.render(); }""",
                lot["lot_id"],
            )
            page.click("button[data-action=receive]")
            page.fill("#f-recv", "10")
            page.select_option("#f-outcome", "partly_accepted")
            page.click("#input-form button[type=submit]")
            expect(page.locator("#f-error")).to_have_text("部分接收：请填写接收量")
            assert page.evaluate("window.hazchain.queue()") == []
            page.click("#input-form [data-cancel]")
            page.click("#btn-clear")

            # queued by an older page: a weight left empty (the server answers it alone)
            bad = {**item("weigh", lot, weight_kg=""), "queued_by": by}
            good = {**item("inspect", other, condition="intact"), "queued_by": by}
            context.set_offline(False)
            page.evaluate(
                "(q) => { localStorage.setItem('hz.queue', JSON.stringify(q)); "
                "return window.hazchain.flush(); }",
                [bad, good],
            )
            expect(page.locator("#queue-count")).to_have_text("0")
            messages = page.locator("#messages")
            expect(messages).to_contain_text("✗ 称重未执行：输入有误：重量不是有效的数字")
            expect(messages).to_contain_text("已记录：检查")

            # a server that refuses the whole batch as it stands (as one did for one bad item)
            calls: list[str] = []

            def refuse(route: Any) -> None:
                calls.append(route.request.post_data or "")
                route.fulfill(
                    status=422,
                    content_type="application/json",
                    body=json.dumps(
                        {
                            "error": "validation_error",
                            "detail": "invalid request: items.0.weigh.weight_kg: bad",
                            "fields": [
                                {
                                    "loc": ["body", "items", 0, "weigh", "weight_kg"],
                                    "msg": "bad",
                                    "type": "decimal_parsing",
                                }
                            ],
                        }
                    ),
                )

            page.route("**/mobile/v1/sync", refuse)
            _scan(page, lot["digital_id"])
            expect(page.locator("#lot-card")).to_contain_text("已贴标")
            page.click("button[data-action=weigh]")
            page.fill("#f-weight", "5")
            page.click("#input-form button[type=submit]")
            expect(messages).to_contain_text("同步被服务器拒绝")
            panel = page.locator("#queue-panel")
            expect(panel).to_be_visible()
            expect(panel.locator("li.bad")).to_contain_text("称重 5 kg")
            expect(panel.locator("li.bad")).to_contain_text("服务器拒收此条")
            # it is not sent again by itself (the timer, coming back online) ...
            page.evaluate("window.hazchain.flush()")
            assert len(calls) == 1
            if api.ctx.db.dialect == "sqlite":
                shots.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(shots / "m-refused.png"), full_page=True)
            # ... the operator deletes it, and the queue moves again
            page.unroute("**/mobile/v1/sync")
            page.once("dialog", lambda d: d.accept())
            panel.locator("[data-discard]").click()
            expect(page.locator("#queue-count")).to_have_text("0")
            expect(messages).to_contain_text("已删除待同步的操作：称重 5 kg")
            expect(page.locator("#lot-card")).to_contain_text("已贴标")
            page.click("button[data-action=weigh]")
            page.fill("#f-weight", "6")
            page.click("#input-form button[type=submit]")
            expect(messages).to_contain_text("已记录：称重 6 kg", timeout=15000)
        finally:
            browser.close()

    events = op.get(f"/api/v1/lots/{lot['lot_id']}/events").json()
    assert [e["type"] for e in events] == ["lot.generated", "lot.labelled", "lot.weighed"]
    assert op.get(f"/api/v1/lots/{lot['lot_id']}").json()["weight_kg"] == "6.000"
