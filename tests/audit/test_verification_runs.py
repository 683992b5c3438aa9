"""Verification runs on both databases: recorded by the CLI's job, the console and the server's
schedule; kept append-only; shown by the console (for the reader's sites) instead of being
recomputed on every page; and a run that finds a broken chain is an alert (H02) at the sweep."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.alerts import service as alert_service
from app.audit import jobs
from app.core.clock import FrozenClock
from app.core.db import make_engine
from tests.support.client import Api
from tests.support.tamper import drop_log_triggers
from tests.web.support import Web


def _site_b_lot(api: Api) -> None:
    op = api.as_("operator_b")
    op.step(op.generate(api.world.site_b), "label")


def _tamper_site_b(api: Api, backend: str) -> int:
    """Alter one payload byte of site B's newest event, triggers dropped; its chain position."""
    eng = drop_log_triggers(api, backend)
    site = api.world.site_b if backend == "postgresql" else api.world.site_b.hex
    with eng.begin() as c:
        row = c.execute(
            sa.text(
                "SELECT position, chain_position, CAST(payload AS TEXT) AS payload "
                "FROM stored_event WHERE site_id = :s ORDER BY chain_position DESC LIMIT 1"
            ),
            {"s": site},
        ).one()
        c.execute(
            sa.text("UPDATE stored_event SET payload = :p WHERE position = :pos"),
            {"p": row.payload.replace("}", ', "x": 1}', 1), "pos": row.position},
        )
    eng.dispose()
    return int(row.chain_position)


def _sweep(api: Api) -> None:
    with api.ctx.db.session() as s:
        alert_service.sweep(session=s, ctx=api.ctx)


def _chain_alerts(api: Api) -> list[dict]:  # type: ignore[type-arg]
    r = api.as_("ehs_manager").get("/api/v1/alerts")
    assert r.status_code == 200, r.text
    return [a for a in r.json()["items"] if a["rule_id"] == "H02"]


@pytest.mark.parametrize(
    "statement",
    ["UPDATE verification_run SET ok = :t", "DELETE FROM verification_run"],
)
def test_a_recorded_run_can_be_neither_changed_nor_removed(
    api: Api, backend: str, statement: str
) -> None:
    _, run = jobs.verify_and_record(api.ctx, trigger="cli")
    assert run.ok and run.events > 0
    eng = make_engine(api.url)
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), eng.begin() as c:
        c.execute(sa.text(statement), {"t": False} if ":t" in statement else {})
    eng.dispose()


def test_the_schedule_verifies_when_the_last_run_is_old(api: Api, backend: str) -> None:
    now = datetime.now(UTC)
    api.ctx.clock = FrozenClock(now)
    first = jobs.verify_if_due(api.ctx, timedelta(hours=24))  # nothing recorded yet: due
    assert first is not None and first.trigger == "schedule" and first.ok
    api.ctx.clock = FrozenClock(now + timedelta(hours=23))
    assert jobs.verify_if_due(api.ctx, timedelta(hours=24)) is None
    api.ctx.clock = FrozenClock(now + timedelta(hours=24, seconds=1))
    again = jobs.verify_if_due(api.ctx, timedelta(hours=24))
    assert again is not None and again.id != first.id


def test_a_broken_chain_found_by_a_run_is_an_alert_and_shows_on_the_pages(
    api: Api, backend: str
) -> None:
    _site_b_lot(api)
    now = datetime.now(UTC) - timedelta(minutes=2)  # tokens issued "in the future" are refused
    api.ctx.clock = FrozenClock(now)
    admin, auditor = Web(api, "admin"), Web(api, "auditor")  # the auditor sees site A only
    assert admin.post("/audit/verify").status_code == 303
    cp = _tamper_site_b(api, backend)
    api.ctx.clock = FrozenClock(now + timedelta(seconds=61))  # past "verify now"'s cool-down

    # The pages show the recorded run: intact, until the chains are verified again.
    assert "链完整" in admin.get("/exports").text
    _sweep(api)
    assert _chain_alerts(api) == []

    assert auditor.post("/audit/verify").status_code == 303  # any audit reader may
    page = admin.get("/audit").text
    assert "链已损坏" in page and "控制台 auditor" in page
    assert f"BROKEN: site {api.world.site_b} at chain position {cp}" in page
    # the auditor's sites are intact: the run is shown for them only
    mine = auditor.get("/audit").text
    assert "链完整" in mine and "链已损坏" not in mine and str(api.world.site_b) not in mine

    _sweep(api)
    (alert,) = _chain_alerts(api)
    assert alert["subject_type"] == "site" and alert["subject_id"] == str(api.world.site_b)
    assert alert["severity"] == "block" and alert["values"]["chain_position"] == cp
    assert alert["citation"]["clause"] == "4.7; 6.4"
    assert "记录链校验未通过" in alert["message_zh"]
    dashboard = Web(api, "ehs_manager").get("/dashboard").text
    assert "H02" in dashboard and 'href="/audit#verify"' in dashboard

    # The API's verification is computed on request, as before, and agrees.
    live = api.as_("admin").get("/api/v1/audit/verify").json()
    assert live["status"] == "broken" and live["first_broken"]["chain_position"] == cp


def test_runs_through_the_api(api: Api, backend: str) -> None:
    _site_b_lot(api)
    admin, auditor = api.as_("admin"), api.as_("auditor")
    assert admin.get("/api/v1/audit/verifications").json() == []
    r = auditor.post("/api/v1/audit/verifications")
    assert r.status_code == 201, r.text
    mine = r.json()
    assert mine["trigger"] == "api" and mine["by"] == "auditor"
    assert [s["site_id"] for s in mine["result"]["sites"]] == [str(api.world.site_a)]
    jobs.verify_and_record(api.ctx, trigger="cli")
    runs = admin.get("/api/v1/audit/verifications").json()
    assert [(x["trigger"], x["by"]) for x in runs] == [("cli", None), ("api", "auditor")]
    every = {s["site_id"] for s in runs[1]["result"]["sites"]}  # the auditor's run checked all
    assert every == {str(api.world.site_a), str(api.world.site_b)}
    assert runs[0]["result"]["status"] == "ok" and runs[0]["result"]["streams"] >= 2
    # the plant's own staff are not told which regulator's user ran a check
    staff = api.as_("ehs_manager").get("/api/v1/audit/verifications").json()
    assert [(x["trigger"], x["by"]) for x in staff] == [("cli", None), ("api", None)]
    assert len(admin.get("/api/v1/audit/verifications", params={"limit": 1}).json()) == 1
    assert admin.get("/api/v1/audit/verifications", params={"limit": 0}).status_code == 422
    assert api.as_("operator").post("/api/v1/audit/verifications").status_code == 403


@contextmanager
def _another_verification_running(api: Api, backend: str) -> Iterator[None]:
    """What an on-going verification holds: on PostgreSQL the advisory lock (taken here on a
    connection of its own, as another app server would), on SQLite the process's lock."""
    if backend != "postgresql":
        assert jobs._PROCESS_LOCK.acquire(blocking=False)
        try:
            yield
        finally:
            jobs._PROCESS_LOCK.release()
        return
    eng = make_engine(api.url)
    with eng.connect() as other:
        assert other.scalar(sa.select(sa.func.pg_try_advisory_lock(jobs.VERIFY_LOCK)))
        try:
            yield
        finally:
            other.scalar(sa.select(sa.func.pg_advisory_unlock(jobs.VERIFY_LOCK)))
    eng.dispose()


def test_verify_now_is_refused_while_a_run_is_fresh_or_under_way(api: Api, backend: str) -> None:
    """Each run recomputes every chain (seconds of CPU per million events): "verify now" is
    refused with 429 and Retry-After within the cool-down (60 s by default) of the last run's
    end, or while another runs; the CLI and the schedule are not limited."""
    auditor = api.as_("auditor")
    now = datetime.now(UTC) - timedelta(minutes=2)  # tokens issued "in the future" are refused
    api.ctx.clock = FrozenClock(now)
    first = auditor.post("/api/v1/audit/verifications")
    assert first.status_code == 201, first.text

    api.ctx.clock = FrozenClock(now + timedelta(seconds=20))
    again = api.as_("admin").post("/api/v1/audit/verifications")
    assert again.status_code == 429, again.text
    body = again.json()
    assert body["error"] == "too_many_requests" and body["last_run_id"] == first.json()["id"]
    assert 39 <= body["retry_after"] <= 41 and again.headers["Retry-After"] == str(
        body["retry_after"]
    )
    page = Web(api, "auditor").post("/audit/verify")
    assert page.status_code == 429 and "刚刚已校验" in page.text and "链完整" in page.text
    assert re.search(r"已校验 \d+ 条链上的 \d+ 个事件（\d+ 个事件流）", page.text), page.text
    assert len(auditor.get("/api/v1/audit/verifications").json()) == 1  # nothing recorded

    jobs.verify_and_record(api.ctx, trigger="cli")  # the machine's operator is not limited
    api.ctx.clock = FrozenClock(now + timedelta(seconds=20 + 61))
    with _another_verification_running(api, backend):
        busy = auditor.post("/api/v1/audit/verifications")
        assert busy.status_code == 429 and busy.headers["Retry-After"] == "5"
        assert "running" in busy.json()["detail"]
        page = Web(api, "auditor").post("/audit/verify")
        assert page.status_code == 429 and "另一次校验正在进行" in page.text
        unrecorded = auditor.get("/api/v1/audit/verify")  # one at a time, recorded or not
        assert unrecorded.status_code == 429 and unrecorded.headers["Retry-After"] == "5"
    again = auditor.get("/api/v1/audit/verify")  # unrecorded: no cool-down
    assert again.status_code == 200 and again.json()["status"] == "ok", again.text
    done = auditor.post("/api/v1/audit/verifications")
    assert done.status_code == 201, done.text
    runs = auditor.get("/api/v1/audit/verifications").json()
    assert [r["trigger"] for r in runs] == ["api", "cli", "api"]

    api.ctx.settings = api.ctx.settings.model_copy(update={"verify_cooldown_seconds": 0})
    assert auditor.post("/api/v1/audit/verifications").status_code == 201  # cool-down off


@pytest.mark.postgres
def test_one_server_runs_the_schedule(pg_api: Api) -> None:
    """App servers on one PostgreSQL database: while one holds the schedule's advisory lock
    (here, this test's connection stands for it), the others do not verify."""
    api = pg_api
    with _another_verification_running(api, "postgresql"):
        assert jobs.verify_if_due(api.ctx, timedelta(hours=24)) is None
    run = jobs.verify_if_due(api.ctx, timedelta(hours=24))
    assert run is not None and run.ok
    assert api.as_("admin").get("/api/v1/audit/verifications").json()[0]["id"] == str(run.id)
