"""Audit use cases: verify the chains, record and read verification runs, sign checkpoints,
list them, and read the change trail of the master data."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, replace
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import sqlalchemy as sa
from sqlmodel import Session, select

from app.audit import schemas
from app.audit.changes import TRAIL_KEY, TrailReport, sign_trail_head, verify_change_trail
from app.audit.models import VerificationRun
from app.context import AppContext
from app.core.keys import KeyRing
from app.domain.errors import InvalidInput
from app.domain.rules.integrity import BrokenLinkSeen, TrailBreakSeen
from app.domain.values import Role
from app.eventstore.models import ChainCheckpoint, ChainHead
from app.eventstore.store import EventStore
from app.eventstore.verify import VerifyReport, summary, verify_chains
from app.identity.devices import Device
from app.identity.models import Enterprise, Site, User
from app.identity.permissions import Principal
from app.parties.models import ContractRow, ManagementPlanRow, PartyChange, TransferApprovalRow
from app.parties.service import ENTITIES as PARTY_ENTITIES


def with_change_trail(report: VerifyReport, conn: sa.Connection, keys: KeyRing) -> VerifyReport:
    """The chains' report with the change trail checked on the same connection (snapshot):
    not ok if either is broken. The last recorded run's trail rows and head must still be
    in place, and every signed checkpoint of the trail must verify and hold."""
    seen = None
    last = conn.execute(
        sa.select(VerificationRun.report).order_by(VerificationRun.started_at.desc()).limit(1)  # type: ignore[attr-defined]
    ).scalar()
    if last is not None:
        trail = json.loads(last).get("change_trail")
        if trail and trail.get("status") == "ok":
            seen = (int(trail["rows"]), str(trail["head_hash"]))
    trail_report = verify_change_trail(conn, seen, keys.public_key(TRAIL_KEY))
    return replace(
        report,
        ok=report.ok and trail_report.ok,
        extra={**report.extra, "change_trail": trail_report},
    )


def report_read(report: VerifyReport) -> schemas.VerifyRead:
    trail: TrailReport | None = report.extra.get("change_trail")
    chains = report.summary()  # `ok: …` or `BROKEN: …` naming the first broken link
    if trail is None:
        text = chains
    elif trail.ok or report.first_broken is not None:
        text = f"{chains}; {trail.summary()}"
    else:  # the chains hold, the trail does not: the line still opens with BROKEN
        text = f"BROKEN: {trail.summary()}; chains {chains}"
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
        summary=text,
        change_trail=schemas.ChangeTrailRead(
            status="ok" if trail.ok else "broken",
            rows=trail.rows,
            head_hash=trail.head_hash,
            broken_id=trail.broken_id,
            reason=trail.reason,
            checkpoints=trail.checkpoints,
        )
        if trail is not None
        else None,
    )


def verify(*, session: Session, ctx: AppContext, actor: Principal | None) -> schemas.VerifyRead:
    """Recompute the chains the actor may see (all of them for the CLI and admins)."""
    scope = None if actor is None or actor.role is Role.admin else actor.site_ids
    report = verify_chains(session.connection(), ctx.keys.public_key, site_ids=scope)
    if scope is None:  # the whole database: its change trail too
        report = with_change_trail(report, session.connection(), ctx.keys)
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


def _broken_report(session: Session) -> tuple[VerificationRun, dict[str, Any]] | None:
    """The last recorded run and its stored answer, if that run found something broken."""
    run = last_run(session)
    if run is None or run.ok:
        return None
    try:
        report = json.loads(run.report)
    except ValueError:
        log.exception("verification run %s: its report cannot be read", run.id)
        return None
    return (run, report) if isinstance(report, dict) else None


def broken_link_seen(session: Session, site_id: UUID) -> BrokenLinkSeen | None:
    """The site's first broken link in the last recorded run, if that run found one (what
    rule H02 reads at the sweep). The stored answer is read field by field: a run recorded by
    another release still answers, and one that cannot be read is logged, not raised, so the
    sweep's other alerts go on."""
    found = _broken_report(session)
    if found is None:
        return None
    run, report = found
    try:
        sites = report["sites"]
        broken = next((s["broken"] for s in sites if s["site_id"] == str(site_id)), None)
        if broken is None:
            return None
        return BrokenLinkSeen(int(broken["chain_position"]), str(broken["reason"]), run.started_at)
    except (KeyError, TypeError, ValueError):
        log.exception("verification run %s: its report cannot be read", run.id)
        return None


def trail_break_seen(session: Session) -> TrailBreakSeen | None:
    """The change trail's break in the last recorded run, if it found one (what rule H03 reads
    at the sweep), read as `broken_link_seen` reads the chains."""
    found = _broken_report(session)
    if found is None:
        return None
    run, report = found
    trail = report.get("change_trail")
    try:
        if not trail or trail["status"] != "broken":
            return None
        row = trail.get("broken_id")
        return TrailBreakSeen(
            int(row) if row is not None else None, str(trail["reason"]), run.started_at
        )
    except (KeyError, TypeError, ValueError, AttributeError):
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
    if actor is None or actor.role is Role.admin:  # the trail spans every organisation
        sign_trail_head(session, ctx.keys, ctx.clock.now())
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
    sign_trail_head(session, ctx.keys, now, every)  # the master data's trail, on the same terms
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


# ---------------------------------------------------------------- the change trail

IDENTITY_ENTITIES = ("enterprise", "site", "user", "device")
CHANGE_ENTITIES = (*IDENTITY_ENTITIES, *PARTY_ENTITIES)


def _of_enterprise(enterprise_id: UUID) -> sa.ColumnElement[bool]:
    """The changes that are the enterprise's: made by one of its users, or made to a record of
    its own — itself, its sites, users and devices; the licences, vehicles and crew it holds;
    the contracts and approvals naming it (as consignor, counterparty or receiver) and the plans
    of its sites. Party records are master data about other enterprises too (a plant registers
    its handler's licence): such a change is the plant's because its user made it, and the
    handler's because the licence is the handler's."""
    C = PartyChange
    sites = select(Site.id).where(Site.enterprise_id == enterprise_id)
    users = select(User.id).where(User.enterprise_id == enterprise_id)

    def about(entity: str, ids: Any) -> sa.ColumnElement[bool]:
        return sa.and_(C.entity == entity, C.entity_id.in_(ids))  # type: ignore[attr-defined]

    held = [
        about(name, select(e.row.id).where(getattr(e.row, e.enterprise_field) == enterprise_id))  # type: ignore[attr-defined]
        for name, e in PARTY_ENTITIES.items()
        if e.enterprise_field is not None
    ]
    K, A, P = ContractRow, TransferApprovalRow, ManagementPlanRow
    return sa.or_(
        C.actor_id.in_(users),  # type: ignore[union-attr]
        about("enterprise", select(Enterprise.id).where(Enterprise.id == enterprise_id)),
        about("site", sites),
        about("user", users),
        about("device", select(Device.id).where(Device.site_id.in_(sites))),  # type: ignore[attr-defined]
        *held,
        about(
            "contract",
            select(K.id).where(
                sa.or_(
                    K.consignor_enterprise_id == enterprise_id,
                    K.counterparty_enterprise_id == enterprise_id,
                )
            ),
        ),
        about(
            "approval",
            select(A.id).where(
                sa.or_(
                    A.consignor_enterprise_id == enterprise_id,
                    A.receiver_enterprise_id == enterprise_id,
                )
            ),
        ),
        about("plan", select(P.id).where(P.site_id.in_(sites))),  # type: ignore[attr-defined]
    )


def list_changes(
    *,
    session: Session,
    actor: Principal,
    entities: tuple[str, ...] | None = None,
    entity_id: UUID | None = None,
    limit: int = 50,
    offset: int = 0,
) -> schemas.ChangePage:
    """Changes of the master data (parties and identity), newest first: an admin's of every
    enterprise, anyone else's of their own (`_of_enterprise`). The actor's username is shown to
    a reader of the actor's organisation (or an admin), as for verification runs."""
    unknown = [e for e in entities or () if e not in CHANGE_ENTITIES]
    if unknown:
        raise InvalidInput(
            f"unknown entity {', '.join(unknown)}: one of {', '.join(CHANGE_ENTITIES)}",
            field="entity",
        )
    C = PartyChange
    where: list[sa.ColumnElement[bool]] = []
    if actor.role is not Role.admin:
        where.append(_of_enterprise(actor.enterprise_id))
    if entities is not None:
        where.append(C.entity.in_(entities))  # type: ignore[attr-defined]
    if entity_id is not None:
        where.append(C.entity_id == entity_id)
    cond = sa.and_(sa.true(), *where)
    total = session.exec(select(sa.func.count()).select_from(C).where(cond)).one()
    rows = session.exec(
        select(C)
        .where(cond)
        .order_by(C.at.desc(), C.id.desc())  # type: ignore[attr-defined,union-attr]
        .limit(limit)
        .offset(offset)
    ).all()
    actor_ids = {r.actor_id for r in rows if r.actor_id is not None}
    users = (
        {u.id: u for u in session.exec(select(User).where(User.id.in_(actor_ids)))}  # type: ignore[attr-defined]
        if actor_ids
        else {}
    )

    def name(actor_id: UUID | None) -> str | None:
        by = users.get(actor_id) if actor_id is not None else None
        if by is None or (actor.role is not Role.admin and by.enterprise_id != actor.enterprise_id):
            return None
        return by.username

    return schemas.ChangePage(
        items=[
            schemas.ChangeRead(
                id=r.id,  # type: ignore[arg-type]
                entity=r.entity,
                entity_id=r.entity_id,
                action=r.action,
                at=r.at,
                actor_id=r.actor_id,
                actor=name(r.actor_id),
                data=r.data,
            )
            for r in rows
        ],
        total=total,
        limit=limit,
        offset=offset,
    )
