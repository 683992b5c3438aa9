"""Audit use cases: verify the chains, record and read verification runs, sign checkpoints,
list them."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from datetime import datetime, timedelta
from uuid import UUID, uuid4

import sqlalchemy as sa
from sqlmodel import Session, select

from app.audit import schemas
from app.audit.models import VerificationRun
from app.context import AppContext
from app.domain.rules.integrity import BrokenLinkSeen
from app.domain.values import Role
from app.eventstore.models import ChainCheckpoint, ChainHead
from app.eventstore.store import EventStore
from app.eventstore.verify import VerifyReport, summary, verify_chains
from app.identity.models import User
from app.identity.permissions import Principal


def report_read(report: VerifyReport) -> schemas.VerifyRead:
    return schemas.VerifyRead(
        status="ok" if report.ok else "broken",
        events=report.events,
        streams=report.streams,
        checkpoints=report.checkpoints,
        seconds=round(report.seconds, 3),
        first_broken=schemas.BrokenLinkRead(**asdict(report.first_broken))
        if report.first_broken
        else None,
        sites=[
            schemas.SiteChainRead(
                site_id=s.site_id,
                events=s.events,
                head_position=s.head_position,
                checkpoints=s.checkpoints,
                broken=schemas.BrokenLinkRead(**asdict(s.broken)) if s.broken else None,
                streams=s.streams,
            )
            for s in report.sites
        ],
        summary=report.summary(),
    )


def verify(*, session: Session, ctx: AppContext, actor: Principal | None) -> schemas.VerifyRead:
    """Recompute the chains the actor may see (all of them for the CLI and admins)."""
    scope = None if actor is None or actor.role is Role.admin else actor.site_ids
    report = verify_chains(session.connection(), ctx.keys.public_key, site_ids=scope)
    return report_read(report)


def record_run(
    *,
    session: Session,
    actor: Principal | None,
    trigger: str,
    started_at: datetime,
    report: VerifyReport,
) -> VerificationRun:
    """Keep a run of the verification (every site's answer), for the console, the alerts and
    whoever asks later when the log was last checked and what was found."""
    run = VerificationRun(
        id=uuid4(),
        started_at=started_at,
        seconds=round(report.seconds, 3),
        trigger=trigger,
        actor_id=actor.user_id if actor is not None else None,
        ok=report.ok,
        events=report.events,
        report=report_read(report).model_dump_json(),
    )
    session.add(run)
    session.flush()
    return run


def _runs(session: Session, limit: int) -> list[VerificationRun]:
    return list(
        session.exec(
            select(VerificationRun).order_by(VerificationRun.started_at.desc()).limit(limit)  # type: ignore[attr-defined]
        )
    )


def last_run(session: Session) -> VerificationRun | None:
    """The newest recorded run, of every site (for the schedule and the cool-down)."""
    return next(iter(_runs(session, 1)), None)


def last_run_at(session: Session) -> datetime | None:
    run = last_run(session)
    return run.started_at if run is not None else None


COUNTS = ("events", "streams", "checkpoints")
log = logging.getLogger("hazchain.audit")


def run_read(
    session: Session, actor: Principal, run: VerificationRun
) -> schemas.VerificationRunRead:
    """A recorded run (every run checks every site), showing the actor's sites only, and who
    ran it only to someone of the same organisation (or an admin)."""
    by = session.get(User, run.actor_id) if run.actor_id is not None else None
    if by is not None and actor.role is not Role.admin and by.enterprise_id != actor.enterprise_id:
        by = None
    result = schemas.VerifyRead.model_validate_json(run.report)
    if actor.role is not Role.admin:
        sites = [s for s in result.sites if UUID(s.site_id) in actor.site_ids]
        first = next((s.broken for s in sites if s.broken), None)
        events, streams, checkpoints = (sum(getattr(s, k) for s in sites) for k in COUNTS)
        result = schemas.VerifyRead(
            status="broken" if first else "ok",
            events=events,
            streams=streams,
            checkpoints=checkpoints,
            seconds=result.seconds,
            first_broken=first,
            sites=sites,
            summary=summary(first, events, len(sites), streams, checkpoints, result.seconds),
        )
    return schemas.VerificationRunRead(
        id=run.id,
        started_at=run.started_at,
        trigger=run.trigger,  # type: ignore[arg-type]
        by=by.username if by is not None else None,
        result=result,
    )


def list_runs(
    *, session: Session, actor: Principal, limit: int = 20
) -> list[schemas.VerificationRunRead]:
    """The recorded runs, newest first."""
    return [run_read(session, actor, run) for run in _runs(session, limit)]


def latest_run(*, session: Session, actor: Principal) -> schemas.VerificationRunRead | None:
    return next(iter(list_runs(session=session, actor=actor, limit=1)), None)


def broken_link_seen(session: Session, site_id: UUID) -> BrokenLinkSeen | None:
    """The site's first broken link in the last recorded run, if that run found one (what
    rule H02 reads at the sweep). The stored answer is read field by field: a run recorded by
    another release still answers, and one that cannot be read is logged, not raised, so the
    sweep's other alerts go on."""
    run = last_run(session)
    if run is None or run.ok:
        return None
    try:
        sites = json.loads(run.report)["sites"]
        broken = next((s["broken"] for s in sites if s["site_id"] == str(site_id)), None)
        if broken is None:
            return None
        return BrokenLinkSeen(int(broken["chain_position"]), str(broken["reason"]), run.started_at)
    except (KeyError, TypeError, ValueError):
        log.exception("verification run %s: its report cannot be read", run.id)
        return None


def sign_checkpoints(
    *, session: Session, ctx: AppContext, actor: Principal | None
) -> list[schemas.CheckpointRead]:
    store = EventStore(session, clock=ctx.clock, keys=ctx.keys)
    heads = session.exec(select(ChainHead.site_id)).all()
    out = []
    for site_id in heads:
        if actor is not None and actor.role is not Role.admin and site_id not in actor.site_ids:
            continue
        cp = store.checkpoint(site_id)
        if cp is not None:
            out.append(schemas.CheckpointRead.model_validate(cp))
    return out


def sign_due_checkpoints(
    *, session: Session, ctx: AppContext, every: timedelta
) -> list[ChainCheckpoint]:
    """Sign the head of each site's chain that moved since its last signed checkpoint, when that
    checkpoint is `every` old or there is none. The event store signs every
    `LEDGER__CHECKPOINT_EVERY` events; this bounds, on a quiet site too, how long its latest
    events stay covered by the hash chain alone."""
    C = ChainCheckpoint
    last = {
        row.site_id: row
        for row in session.exec(
            select(
                C.site_id,
                sa.func.max(C.chain_position).label("position"),
                sa.func.max(C.created_at).label("at"),
            ).group_by(C.site_id)
        )
    }
    now = ctx.clock.now()
    store = EventStore(session, clock=ctx.clock, keys=ctx.keys)
    signed = []
    for site_id, position in session.exec(select(ChainHead.site_id, ChainHead.chain_position)):
        cp = last.get(site_id)
        if cp is not None and (cp.position >= position or now - cp.at < every):
            continue
        checkpoint = store.checkpoint(site_id)
        if checkpoint is not None:
            signed.append(checkpoint)
    return signed


def list_checkpoints(
    *, session: Session, actor: Principal, site_id: UUID | None
) -> list[schemas.CheckpointRead]:
    q = select(ChainCheckpoint).order_by(ChainCheckpoint.site_id, ChainCheckpoint.chain_position)
    if site_id is not None:
        q = q.where(ChainCheckpoint.site_id == site_id)
    return [
        schemas.CheckpointRead.model_validate(c)
        for c in session.exec(q)
        if actor.role is Role.admin or c.site_id in actor.site_ids
    ]
