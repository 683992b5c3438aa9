"""Verification as a job: the CLI, the console's button and the server's schedule run it.

Unlike a service, a job owns its transactions: the chains are read on one snapshot, for as long
as that takes (seconds for a million events), and the run is then recorded in a short write of
its own. One write transaction around both would hold SQLite's write lock, and every handheld
with it, for the whole verification.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta

import sqlalchemy as sa

from app.audit import service as audit_service
from app.audit.models import VerificationRun
from app.audit.schemas import VerifyRead
from app.context import AppContext
from app.domain.errors import TooManyRequests
from app.eventstore.models import ChainCheckpoint
from app.eventstore.verify import VerifyReport, verify_chains
from app.identity.permissions import Principal


def verify_and_record(
    ctx: AppContext,
    *,
    trigger: str,
    actor: Principal | None = None,
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
) -> tuple[VerifyReport, VerificationRun]:
    """Verify every site's chain and record the run."""
    report, record = verify(ctx, workers=workers, progress=progress)
    return report, record(trigger=trigger, actor=actor)


def verify(
    ctx: AppContext, *, workers: int = 1, progress: Callable[[int], None] | None = None
) -> tuple[VerifyReport, Callable[..., VerificationRun]]:
    """Verify every site's chain, and the master data's change trail, on one snapshot; the
    answer, and how to record it (which the CLI may be unable to do, on a read-only replica
    say)."""
    started_at = ctx.clock.now()
    with ctx.db.session(write=False) as session:
        report = verify_chains(
            session.connection(), ctx.keys.public_key, progress=progress, workers=workers
        )
        report = audit_service.with_change_trail(report, session.connection(), ctx.keys)

    def record(*, trigger: str, actor: Principal | None = None) -> VerificationRun:
        with ctx.db.session() as session:
            return audit_service.record_run(
                session=session, actor=actor, trigger=trigger, started_at=started_at, report=report
            )

    return report, record


# When a verification is under way, ask again in (seconds).
RUNNING_RETRY_SECONDS = 5


def verify_on_request(
    ctx: AppContext, *, trigger: str, actor: Principal
) -> tuple[VerifyReport, VerificationRun]:
    """Verify now, from the API or the console: one verification at a time per database, and
    none within `verify_cooldown_seconds` of the end of the last (429 with Retry-After: the
    last run is the answer a new one would give, and each run costs seconds of CPU per million
    events). The CLI and the schedule do not ask here."""
    cooldown = timedelta(seconds=ctx.settings.verify_cooldown_seconds)
    _refuse_if_recent(ctx, cooldown)
    with _one_verifier(ctx) as mine:
        if not mine:
            raise TooManyRequests(
                "a verification is running now: its run is listed when it ends",
                retry_after=RUNNING_RETRY_SECONDS,
            )
        _refuse_if_recent(ctx, cooldown)  # one ended while we waited for the lock
        return verify_and_record(ctx, trigger=trigger, actor=actor)


def verify_in_scope(ctx: AppContext, *, actor: Principal) -> VerifyRead:
    """`GET /api/v1/audit/verify`: recompute the chains of the caller's sites and answer,
    without recording a run. It shares the one-at-a-time rule (429 while another verification
    runs), so callers cannot stack verifications on the server; being unrecorded, it has no
    cool-down."""
    with _one_verifier(ctx) as mine:
        if not mine:
            raise TooManyRequests(
                "a verification is running now: ask again when it ends",
                retry_after=RUNNING_RETRY_SECONDS,
            )
        with ctx.db.session(write=False) as session:
            return audit_service.verify(session=session, ctx=ctx, actor=actor)


def _refuse_if_recent(ctx: AppContext, cooldown: timedelta) -> None:
    if not cooldown:
        return
    with ctx.db.session(write=False) as session:
        last = audit_service.last_run(session)
        if last is None:
            return
        run_id, started_at = str(last.id), last.started_at
        ended = started_at + timedelta(seconds=last.seconds)
    wait = min(cooldown, cooldown - (ctx.clock.now() - ended)).total_seconds()
    if wait > 0:
        seconds = max(1, math.ceil(wait))
        raise TooManyRequests(
            f"the chains were verified less than {int(cooldown.total_seconds())} s ago and that "
            f"run stands: verify again in {seconds} s",
            retry_after=seconds,
            last_run_id=run_id,
            last_run_at=started_at.isoformat(),
        )


def verify_if_due(ctx: AppContext, every: timedelta) -> VerificationRun | None:
    """The schedule: verify when no run was recorded in the last `every`. Several app servers
    on one PostgreSQL database agree through an advisory lock: one verifies, the others find
    the lock taken (or, after it, a recent run) and do nothing."""
    if not _due(ctx, every):
        return None
    with _one_verifier(ctx) as mine:
        if not mine or not _due(ctx, every):  # another server is verifying, or just did
            return None
        return verify_and_record(ctx, trigger="schedule")[1]


def _due(ctx: AppContext, every: timedelta) -> bool:
    with ctx.db.session(write=False) as session:
        last = audit_service.last_run_at(session)
    return last is None or ctx.clock.now() - last >= every


def sign_checkpoints_if_due(ctx: AppContext, every: timedelta) -> list[ChainCheckpoint]:
    """The schedule's checkpoints (`audit.service.sign_due_checkpoints`), in a short write of
    their own. Several app servers may run it at once: a head is signed once (under the
    chain's lock, an existing checkpoint at that position is kept)."""
    with ctx.db.session() as session:
        return audit_service.sign_due_checkpoints(session=session, ctx=ctx, every=every)


# The PostgreSQL advisory lock the app servers of one database take to verify (on request or
# on schedule); on SQLite, whose app runs on one machine, a lock of the process.
VERIFY_LOCK = 0x68617A636861696E  # "hazchain"
_PROCESS_LOCK = threading.Lock()


@contextmanager
def _one_verifier(ctx: AppContext) -> Iterator[bool]:
    """Whether this caller may verify now: no other verification of the database is running."""
    if ctx.db.dialect != "postgresql":
        mine = _PROCESS_LOCK.acquire(blocking=False)
        try:
            yield mine
        finally:
            if mine:
                _PROCESS_LOCK.release()
        return
    with ctx.db.engine.connect() as conn:
        mine = bool(conn.scalar(sa.select(sa.func.pg_try_advisory_lock(VERIFY_LOCK))))
        try:
            yield mine
        finally:
            if mine:
                conn.scalar(sa.select(sa.func.pg_advisory_unlock(VERIFY_LOCK)))
