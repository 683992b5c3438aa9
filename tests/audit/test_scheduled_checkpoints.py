"""Checkpoints on a schedule, on both databases: the event store signs a site's chain head every
`LEDGER__CHECKPOINT_EVERY` events, which a quiet plant may take months to reach; the server's
sweep also signs each head that moved since a checkpoint `LEDGER__CHECKPOINT_HOURS` old.

The second checkpoint here is signed a day ahead of the real clock, as by an app server whose
clock runs ahead: the chain verification and the offline export verifier still accept it."""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

import reports.verify_export as verifier
from app.audit import jobs
from app.core.clock import FrozenClock, SystemClock
from app.main import _sweep_loop
from tests.support.client import Api

DAY = timedelta(hours=24)


def _signed(api: Api, at: datetime) -> dict[str, int]:
    """Run the schedule's step with the clock at `at`: {site id: position signed}."""
    api.ctx.clock = FrozenClock(at)
    try:
        return {
            str(c.site_id): c.chain_position for c in jobs.sign_checkpoints_if_due(api.ctx, DAY)
        }
    finally:
        api.ctx.clock = SystemClock()  # tokens are issued and checked on the real clock


def _head(api: Api, site: str) -> int:
    sites = api.as_("admin").get("/api/v1/audit/verify").json()["sites"]
    return int(next(s["head_position"] for s in sites if s["site_id"] == site))


def test_a_moved_head_is_signed_once_its_last_checkpoint_is_a_day_old(
    api: Api, backend: str
) -> None:
    a, b = str(api.world.site_a), str(api.world.site_b)
    op = api.as_("operator")
    op.step(op.generate(api.world.site_a), "label")
    t0 = datetime.now(UTC)

    first = _signed(api, t0)  # no checkpoint yet: every chain with events is signed
    assert first[a] == _head(api, a) and first.get(b, 0) == _head(api, b)
    assert _signed(api, t0 + DAY) == {}  # nothing moved

    op.generate(api.world.site_a)
    assert _signed(api, t0 + DAY - timedelta(minutes=1)) == {}  # the last one is not a day old
    assert _signed(api, t0 + DAY) == {a: _head(api, a)}  # site B did not move
    assert _head(api, a) > first[a]

    checkpoints = api.as_("admin").get("/api/v1/audit/checkpoints").json()
    assert [c["chain_position"] for c in checkpoints if c["site_id"] == a] == [
        first[a],
        _head(api, a),
    ]
    v = api.as_("admin").get("/api/v1/audit/verify").json()
    assert v["status"] == "ok", v["first_broken"]
    export = api.as_("admin").get("/api/v1/exports/log.jsonl", params={"site_id": a})
    res = verifier.verify_lines(export.text.splitlines())
    assert res.ok and res.checkpoints == 2 and res.sealed, res.summary()


def test_the_server_schedule_signs_verifies_and_sweeps(
    api: Api, backend: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The loop the server runs in a thread (`app.main._sweep_loop`): one pass signs the moved
    heads, then records a verification run (which checks that checkpoint), then sweeps."""
    caplog.set_level(logging.INFO, logger="hazchain.sweep")
    api.as_("operator").generate(api.world.site_a)
    stop = threading.Event()
    loop = threading.Thread(target=_sweep_loop, args=(api.ctx, 0.05, stop))
    loop.start()
    deadline = time.monotonic() + 30
    admin = api.as_("admin")
    while time.monotonic() < deadline and "sweep:" not in caplog.text:
        time.sleep(0.05)
    stop.set()
    loop.join(10)
    assert not loop.is_alive()
    (run, *_) = admin.get("/api/v1/audit/verifications").json()
    assert run["trigger"] == "schedule" and run["result"]["status"] == "ok"
    signed = {c["site_id"] for c in admin.get("/api/v1/audit/checkpoints").json()}
    assert str(api.world.site_a) in signed
    assert run["result"]["checkpoints"] >= 1  # the run checked the checkpoint signed before it
    steps = list(dict.fromkeys(m.split(":")[0] for m in caplog.messages))  # first of each
    assert steps[:3] == ["checkpoint", "verify", "sweep"], caplog.messages
