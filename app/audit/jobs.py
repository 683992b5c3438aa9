"""Verification as a job: the CLI, the console's button and the server's schedule run it.

Unlike a service, a job owns its transactions: the chains are read on one snapshot, for as long
as that takes (seconds for a million events), and the run is then recorded in a short write of
its own. One write transaction around both would hold SQLite's write lock, and every handheld
with it, for the whole verification.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from app.audit import service as audit_service
from app.audit.models import VerificationRun
from app.context import AppContext
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
    """Verify every site's chain on one snapshot; the answer, and how to record it (which the
    CLI may be unable to do, on a read-only replica say)."""
    started_at = ctx.clock.now()
    with ctx.db.session(write=False) as session:
        report = verify_chains(
            session.connection(), ctx.keys.public_key, progress=progress, workers=workers
        )

    def record(*, trigger: str, actor: Principal | None = None) -> VerificationRun:
        with ctx.db.session() as session:
            return audit_service.record_run(
                session=session, actor=actor, trigger=trigger, started_at=started_at, report=report
            )

    return report, record


def verify_if_due(ctx: AppContext, every: timedelta) -> VerificationRun | None:
    """The schedule: verify when no run was recorded in the last `every`."""
    with ctx.db.session(write=False) as session:
        last = audit_service.last_run_at(session)
    if last is not None and ctx.clock.now() - last < every:
        return None
    return verify_and_record(ctx, trigger="schedule")[1]
