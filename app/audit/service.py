"""Audit use cases: verify the chains, sign checkpoints, list them."""

from __future__ import annotations

from dataclasses import asdict
from uuid import UUID

from sqlmodel import Session, select

from app.audit import schemas
from app.context import AppContext
from app.domain.values import Role
from app.eventstore.models import ChainCheckpoint, ChainHead
from app.eventstore.store import EventStore
from app.eventstore.verify import VerifyReport, verify_chains
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
