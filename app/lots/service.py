"""Lot use cases: generate, label, weigh, store, move, inspect, repack, correct, extend storage;
queries.

Each command: replay check (event id) → load state → scope → decide (domain) → record
(append + project, one transaction owned by the caller) → answer.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from uuid import UUID, uuid5

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from app.context import AppContext
from app.domain import lot as lot_domain
from app.domain.errors import ConcurrencyConflict, Conflict, InvalidInput, NotFound
from app.domain.events import Event
from app.domain.lot import LotContext, LotState, LotStatus
from app.domain.rules.base import Finding, Step
from app.domain.values import GENERAL_CATEGORIES, WasteKind, china_date, kg_to_t
from app.eventstore.models import EventRecord
from app.eventstore.store import EventStore, domain_event
from app.identity.models import Site
from app.identity.permissions import Principal
from app.labelling import service as labelling
from app.lots import schemas
from app.projections.lots import (
    IN_ZONE,
    LotRow,
    state_of,
    storage_age_start,
    storage_time_conditions,
)
from app.projections.zones import ZoneRow
from app.rules import service as rule_service
from app.services.recorder import Recorder

STREAM = "lot"
LOT_NAMESPACE = UUID("6f1c1e0a-8c1b-4f57-9a4e-2d8c5b0e7a11")


# ---------------------------------------------------------------- answers


def event_read(row: EventRecord) -> schemas.EventRead:
    return schemas.EventRead.model_validate(row)


def lot_read(session: Session, ctx: AppContext, s: LotState) -> schemas.LotRead:
    zone_code = None
    if s.zone_id is not None:
        zone = session.get(ZoneRow, s.zone_id)
        zone_code = zone.code if zone else None
    if s.kind is WasteKind.hazardous and s.waste_code:
        entry = ctx.catalogue.get(s.waste_code)
        category_name = entry.category_name if entry else None
    else:
        category_name = GENERAL_CATEGORIES.get(s.category)
    licensed = rule_service.site_profile(session, s.site_id).licensed_operator
    _, limit_days = rule_service.rule_data(ctx).storage_days()
    return schemas.LotRead(
        lot_id=s.lot_id,
        digital_id=s.digital_id,
        site_id=s.site_id,
        status=s.status,
        version=s.version,
        kind=s.kind,
        name=s.name,
        category=s.category,
        category_name=category_name,
        waste_code=s.waste_code,
        general_class=s.general_class,
        hazard_characteristics=list(s.hazard_characteristics),
        physical_form=s.physical_form,
        container=schemas.ContainerRead(
            type=s.container.type.value,
            volume_l=s.container.volume_l,
            material=s.container.material,
            code=s.container.code,
        ),
        condition=s.condition,
        needs_repack=s.needs_repack,
        weight_kg=s.weight_kg,
        weight_t=kg_to_t(s.weight_kg),
        main_components=s.main_components,
        harmful_components=s.harmful_components,
        precautions=s.precautions,
        remarks=s.remarks,
        zone_id=s.zone_id,
        zone_code=zone_code,
        manifest_id=s.manifest_id,
        label_prints=s.label_prints,
        generated_at=s.generated_at,
        labelled_at=s.labelled_at,
        stored_at=s.stored_at,
        storage_limit_from=lot_domain.storage_clock_start(s, licensed_operator=licensed),
        storage_limit_on=lot_domain.one_year_limit(s, limit_days, licensed_operator=licensed),
        shipped_at=s.shipped_at,
        received_at=s.received_at,
        receipt_outcome=s.receipt_outcome,
        accepted_weight_kg=s.accepted_weight_kg,
        method_code=s.method_code,
        completed_on=s.completed_on,
        storage_extended_until=s.storage_extended_until,
        storage_extension_approval_no=s.storage_extension_approval_no,
        exempt=s.exempt,
    )


def _replay(
    session: Session,
    ctx: AppContext,
    existing: EventRecord,
    stream_id: UUID | None,
    actor: Principal,
) -> schemas.LotCommandResult:
    """The original answer to a command whose event id is already in the log."""
    if existing.stream_type != STREAM or (
        stream_id is not None and existing.stream_id != stream_id
    ):
        raise Conflict(
            f"event_id {existing.event_id} was already used for a different command "
            f"({existing.type} on {existing.stream_type} {existing.stream_id})",
            event_id=str(existing.event_id),
        )
    actor.require_site(existing.site_id)
    store = EventStore(session, clock=ctx.clock, keys=ctx.keys)
    rows = store.load_stream(existing.stream_id)
    # A command may have appended several events (an override, then the step): the answer was
    # about the last of them, which names the client's event id as its cause.
    last = max(
        (r for r in rows if r.causation_id == existing.event_id),
        key=lambda r: r.version,
        default=existing,
    )
    done = [r for r in rows if r.version <= last.version]
    state = lot_domain.fold(((domain_event(r), r.occurred_at) for r in done), existing.stream_id)
    assert state is not None
    return schemas.LotCommandResult(event=event_read(last), lot=lot_read(session, ctx, state))


def _answer(session: Session, ctx: AppContext, row: EventRecord) -> schemas.LotCommandResult:
    lot = session.get(LotRow, row.stream_id)
    assert lot is not None
    return schemas.LotCommandResult(
        event=event_read(row), lot=lot_read(session, ctx, state_of(lot))
    )


def replayed(
    session: Session, ctx: AppContext, existing: EventRecord, lot_id: UUID, actor: Principal
) -> schemas.LotCommandResult:
    """The original answer to a lot command whose event id is already in the log (for the
    other modules that record lot events: manifests' per-lot steps)."""
    return _replay(session, ctx, existing, lot_id, actor)


def answered(session: Session, ctx: AppContext, row: EventRecord) -> schemas.LotCommandResult:
    """A lot command's answer: the event just recorded and the lot as it now is."""
    return _answer(session, ctx, row)


def _occurred(ctx: AppContext, occurred_at: datetime | None) -> datetime:
    return occurred_at or ctx.clock.now()


# ---------------------------------------------------------------- generate


def generate_lot(
    *, session: Session, ctx: AppContext, actor: Principal, cmd: schemas.LotGenerate
) -> schemas.LotCommandResult:
    store = EventStore(session, clock=ctx.clock, keys=ctx.keys)
    existing = store.get(cmd.event_id)
    if existing is not None:
        return _replay(session, ctx, existing, cmd.lot_id, actor)
    actor.require_site(cmd.site_id, hide=False)
    lot_id = cmd.lot_id or uuid5(LOT_NAMESPACE, str(cmd.event_id))
    if session.get(LotRow, lot_id) is not None:
        # A concurrent twin of this command may have committed since the check above.
        existing = store.get(cmd.event_id)
        if existing is not None:
            return _replay(session, ctx, existing, cmd.lot_id, actor)
        raise Conflict(f"lot {lot_id} already exists", lot_id=str(lot_id))
    occurred_at = _occurred(ctx, cmd.occurred_at)
    domain_cmd = lot_domain.GenerateLot.model_validate(
        cmd.model_dump(exclude={"event_id", "occurred_at", "lot_id"})
    )
    findings = rule_service.check_generation(
        session=session, ctx=ctx, cmd=domain_cmd, at=occurred_at
    )
    verdict = rule_service.verdict(
        ctx=ctx,
        actor=actor,
        step=Step.generation,
        lot=None,
        findings=findings,
        override_reason=None,
    )
    lot_ctx = LotContext(ctx.catalogue, china_date(occurred_at))
    draft = lot_domain.generate(domain_cmd, lot_ctx)  # validates before a number is taken
    # Lock order, everywhere: the site's chain, then a number counter (never the reverse,
    # or this and a handheld batch, which locks the chain first, could deadlock).
    store.lock(cmd.site_id)
    # The savepoint undoes the allocation when a concurrent twin of this command (same event
    # id) lands first: a replay never consumes a sequence number.
    savepoint = session.begin_nested()
    digital_id = labelling.allocate_digital_id(
        session=session,
        site_id=cmd.site_id,
        kind=draft.kind,
        code=draft.waste_code or draft.category,
        occurred_at=occurred_at,
    )
    event = lot_domain.generate(domain_cmd, lot_ctx, digital_id=digital_id)
    recorded = Recorder(session, ctx).record(
        actor=actor,
        site_id=cmd.site_id,
        stream_type=STREAM,
        stream_id=lot_id,
        expected_version=0,
        event_id=cmd.event_id,
        occurred_at=occurred_at,
        events=[event],
        findings=verdict.recorded,
        rule_set_version=verdict.rule_set_version,
    )
    if recorded.replayed:
        savepoint.rollback()
        existing = EventStore(session, clock=ctx.clock, keys=ctx.keys).get(cmd.event_id)
        assert existing is not None
        return _replay(session, ctx, existing, lot_id, actor)
    savepoint.commit()
    return _answer(session, ctx, recorded.rows[-1])


# ---------------------------------------------------------------- actions


Check = Callable[[LotState, datetime], list[Finding]]


def _act(
    session: Session,
    ctx: AppContext,
    actor: Principal,
    lot_id: UUID,
    env: schemas.ActionEnvelope,
    decide: Callable[[LotState], Event],
    step: Step | None = None,
    check: Check | None = None,
) -> schemas.LotCommandResult:
    """Replay check, load, scope, version, rules (if the step has any), decide, record."""
    store = EventStore(session, clock=ctx.clock, keys=ctx.keys)
    existing = store.get(env.event_id)
    if existing is not None:
        return _replay(session, ctx, existing, lot_id, actor)
    row = session.get(LotRow, lot_id)
    if row is None:
        raise NotFound("lot not found", lot_id=str(lot_id))
    actor.require_site(row.site_id)
    state = state_of(row)
    if state.version != env.expected_version:
        raise ConcurrencyConflict(str(lot_id), env.expected_version, state.version)
    occurred_at = _occurred(ctx, env.occurred_at)
    findings = check(state, occurred_at) if check is not None else []
    verdict = rule_service.verdict(
        ctx=ctx,
        actor=actor,
        step=step or Step.storage_in,
        lot=state,
        findings=findings,
        override_reason=env.override_reason,
    )
    event = decide(state)
    events = [verdict.override, event] if verdict.override is not None else [event]
    recorded = Recorder(session, ctx).record(
        actor=actor,
        site_id=state.site_id,
        stream_type=STREAM,
        stream_id=lot_id,
        expected_version=state.version,
        event_id=env.event_id,
        occurred_at=occurred_at,
        events=events,
        findings=verdict.recorded,
        rule_set_version=verdict.rule_set_version if check is not None else None,
    )
    if recorded.replayed:
        return _replay(session, ctx, recorded.rows[0], lot_id, actor)
    return _answer(session, ctx, recorded.rows[-1])


def _zone_for(session: Session, state: LotState, zone_id: UUID) -> ZoneRow:
    zone = session.get(ZoneRow, zone_id)
    if zone is None or zone.site_id != state.site_id:
        raise InvalidInput("no such zone at this lot's site", field="zone_id", zone_id=str(zone_id))
    return zone


def label_lot(
    *, session: Session, ctx: AppContext, actor: Principal, lot_id: UUID, cmd: schemas.LotLabel
) -> schemas.LotCommandResult:
    def check(state: LotState, at: datetime) -> list[Finding]:
        if state.kind is not WasteKind.hazardous:
            return []  # HJ 1276 labels are for hazardous waste
        data = (
            labelling.label_data(session=session, ctx=ctx, state=state)
            if state.digital_id
            else None
        )
        fields = rule_service.label_fields(data)
        return rule_service.check_labelling(
            session=session, ctx=ctx, lot=state, label_fields=fields, at=at
        )

    return _act(
        session,
        ctx,
        actor,
        lot_id,
        cmd,
        lambda s: lot_domain.label(s, s.digital_id, cmd.label_size_mm, cmd.copies),
        Step.labelling,
        check,
    )


def reprint_label(
    *, session: Session, ctx: AppContext, actor: Principal, lot_id: UUID, cmd: schemas.LotReprint
) -> schemas.LotCommandResult:
    """Record a label reprint (damaged, lost or unreadable label) with its reason."""
    return _act(
        session,
        ctx,
        actor,
        lot_id,
        cmd,
        lambda s: lot_domain.reprint_label(s, cmd.reason, cmd.copies),
    )


def weigh_lot(
    *, session: Session, ctx: AppContext, actor: Principal, lot_id: UUID, cmd: schemas.LotWeigh
) -> schemas.LotCommandResult:
    return _act(
        session, ctx, actor, lot_id, cmd, lambda s: lot_domain.weigh(s, cmd.weight_kg, cmd.scale_id)
    )


def _storage_check(
    session: Session, ctx: AppContext, zone_id: UUID, scanned_code: str | None = None
) -> Check:
    def check(state: LotState, at: datetime) -> list[Finding]:
        return rule_service.check_storage(
            session=session, ctx=ctx, lot=state, zone_id=zone_id, scanned_code=scanned_code, at=at
        )

    return check


def store_lot(
    *, session: Session, ctx: AppContext, actor: Principal, lot_id: UUID, cmd: schemas.LotStore
) -> schemas.LotCommandResult:
    def decide(s: LotState) -> Event:
        _zone_for(session, s, cmd.zone_id)
        return lot_domain.store(s, cmd.zone_id)

    check = _storage_check(session, ctx, cmd.zone_id, cmd.scanned_code)
    return _act(session, ctx, actor, lot_id, cmd, decide, Step.storage_in, check)


def move_lot(
    *, session: Session, ctx: AppContext, actor: Principal, lot_id: UUID, cmd: schemas.LotMove
) -> schemas.LotCommandResult:
    def decide(s: LotState) -> Event:
        _zone_for(session, s, cmd.zone_id)
        return lot_domain.move(s, cmd.zone_id)

    check = _storage_check(session, ctx, cmd.zone_id)
    return _act(session, ctx, actor, lot_id, cmd, decide, Step.storage_in, check)


def inspect_lot(
    *, session: Session, ctx: AppContext, actor: Principal, lot_id: UUID, cmd: schemas.LotInspect
) -> schemas.LotCommandResult:
    def check(state: LotState, at: datetime) -> list[Finding]:
        return rule_service.check_inspection(
            session=session, ctx=ctx, lot=state, condition=cmd.condition, at=at
        )

    return _act(
        session,
        ctx,
        actor,
        lot_id,
        cmd,
        lambda s: lot_domain.inspect(s, cmd.condition, cmd.notes),
        Step.inspection,
        check,
    )


def repack_lot(
    *, session: Session, ctx: AppContext, actor: Principal, lot_id: UUID, cmd: schemas.LotRepack
) -> schemas.LotCommandResult:
    def check(state: LotState, at: datetime) -> list[Finding]:
        return rule_service.check_repack(
            session=session, ctx=ctx, lot=state, container=cmd.container, at=at
        )

    return _act(
        session,
        ctx,
        actor,
        lot_id,
        cmd,
        lambda s: lot_domain.repack(s, cmd.container, cmd.reason, cmd.weight_kg),
        Step.repack,
        check,
    )


def correct_lot(
    *, session: Session, ctx: AppContext, actor: Principal, lot_id: UUID, cmd: schemas.LotCorrect
) -> schemas.LotCommandResult:
    def decide(s: LotState) -> Event:
        target = EventStore(session, clock=ctx.clock, keys=ctx.keys).get(cmd.corrects_event_id)
        if target is None or target.stream_id != lot_id:
            raise InvalidInput(
                "corrects_event_id is not an event of this lot", field="corrects_event_id"
            )
        return lot_domain.correct(s, cmd.corrects_event_id, cmd.changes, cmd.reason)

    return _act(session, ctx, actor, lot_id, cmd, decide)


def extend_storage(
    *,
    session: Session,
    ctx: AppContext,
    actor: Principal,
    lot_id: UUID,
    cmd: schemas.LotStorageExtension,
) -> schemas.LotCommandResult:
    """Record an approval to store the lot beyond the one-year limit (固废法 Art. 81 ¶3); R32
    and R33 read it from the lot until its last day."""
    today = china_date(_occurred(ctx, cmd.occurred_at))
    _, limit_days = rule_service.rule_data(ctx).storage_days()
    approval = lot_domain.ExtendStorage.model_validate(
        cmd.model_dump(include=set(lot_domain.ExtendStorage.model_fields))
    )
    return _act(
        session,
        ctx,
        actor,
        lot_id,
        cmd,
        lambda s: lot_domain.extend_storage(
            s,
            approval,
            today=today,
            licensed_operator=rule_service.site_profile(session, s.site_id).licensed_operator,
            limit_days=limit_days,
        ),
    )


def discard_lot(
    *,
    session: Session,
    ctx: AppContext,
    actor: Principal,
    lot_id: UUID,
    cmd: schemas.LotDiscard,
) -> schemas.LotCommandResult:
    """An exempt lot (豁免管理清单 #24, R61) went out with the household waste: its custody at
    the site ends. 422 for a lot managed as hazardous waste (it leaves on a manifest)."""
    today = china_date(_occurred(ctx, cmd.occurred_at))
    discard = lot_domain.DiscardLot.model_validate(
        cmd.model_dump(include=set(lot_domain.DiscardLot.model_fields))
    )
    return _act(
        session, ctx, actor, lot_id, cmd, lambda s: lot_domain.discard(s, discard, today=today)
    )


# ---------------------------------------------------------------- queries


def get_lot(
    *, session: Session, ctx: AppContext, actor: Principal, lot_id: UUID
) -> schemas.LotRead:
    row = session.get(LotRow, lot_id)
    if row is None:
        raise NotFound("lot not found", lot_id=str(lot_id))
    actor.require_site(row.site_id)
    return lot_read(session, ctx, state_of(row))


def get_lot_by_code(
    *, session: Session, ctx: AppContext, actor: Principal, code: str
) -> schemas.LotRead:
    """The lot a scanned code (digital ID, QR or Code 128 payload) names."""
    state = labelling.resolve_code(session=session, actor=actor, code=code)
    return lot_read(session, ctx, state)


def lot_events(
    *, session: Session, ctx: AppContext, actor: Principal, lot_id: UUID
) -> list[schemas.EventRead]:
    row = session.get(LotRow, lot_id)
    if row is None:
        raise NotFound("lot not found", lot_id=str(lot_id))
    actor.require_site(row.site_id)
    store = EventStore(session, clock=ctx.clock, keys=ctx.keys)
    return [event_read(r) for r in store.load_stream(lot_id)]


def list_lots(
    *,
    session: Session,
    ctx: AppContext,
    actor: Principal,
    site_id: UUID | None = None,
    status: list[LotStatus] | None = None,
    kind: WasteKind | None = None,
    category: str | None = None,
    waste_code: str | None = None,
    zone_id: UUID | None = None,
    generated_from: datetime | None = None,
    generated_to: datetime | None = None,
    aged_since: datetime | None = None,
    storage_due: bool = False,
    q: str | None = None,
    limit: int = 50,
    offset: int = 0,
    nearest_limit_first: bool = False,
) -> schemas.LotPage:
    """A page of the caller's lots. `storage_due`: lots in storage that R32/R33 flag for their
    storage time (from the warning day, an extension near or past its end), as the
    dashboard counts them. `aged_since`: lots whose storage age, counted as R32/R33 count it
    (`storage_age_start`), started at or before then; `nearest_limit_first` orders by that
    age, oldest first."""
    conds: list[sa.ColumnElement[bool]] = [LotRow.site_id.in_(actor.site_ids)]  # type: ignore[attr-defined]
    if site_id is not None:
        conds.append(LotRow.site_id == site_id)  # type: ignore[arg-type]
    if status:
        conds.append(LotRow.status.in_([s.value for s in status]))  # type: ignore[attr-defined]
    if kind is not None:
        conds.append(LotRow.kind == kind.value)  # type: ignore[arg-type]
    if category:
        conds.append(LotRow.category == category.upper())  # type: ignore[arg-type]
    if waste_code:
        conds.append(LotRow.waste_code == waste_code)  # type: ignore[arg-type]
    if zone_id is not None:
        conds.append(LotRow.zone_id == zone_id)  # type: ignore[arg-type]
    if generated_from is not None:
        conds.append(LotRow.generated_at >= generated_from)  # type: ignore[arg-type]
    if generated_to is not None:
        conds.append(LotRow.generated_at < generated_to)  # type: ignore[arg-type]
    licensed = (
        rule_service.licensed_operator_sites(session, actor.site_ids)
        if aged_since is not None or storage_due or nearest_limit_first
        else frozenset()
    )
    if aged_since is not None:
        conds.append(storage_age_start(licensed) <= aged_since)
    if storage_due:
        warn_days, limit_days = rule_service.rule_data(ctx).storage_days()
        due, _ = storage_time_conditions(ctx.clock.now(), warn_days, limit_days, licensed)
        conds += [LotRow.status.in_([s.value for s in IN_ZONE]), due]  # type: ignore[attr-defined]
    if q:
        like = f"%{q.strip()}%"
        conds.append(
            sa.or_(
                LotRow.name.like(like),  # type: ignore[attr-defined]
                LotRow.digital_id.like(like),
                LotRow.waste_code.like(like),  # type: ignore[attr-defined]
            )
        )  # type: ignore[union-attr]
    where = sa.and_(*conds)
    total = session.exec(select(sa.func.count()).select_from(LotRow).where(where)).one()
    if (aged_since is not None or storage_due) and not nearest_limit_first:
        # The storage-age condition is a CASE the planner cannot estimate: it took the newest
        # first by walking the generation-date index backwards, filtering out most of the
        # table (127 ms at 100,000 lots on PostgreSQL, against 18 ms for the count). Filter
        # first (a materialised CTE fences it), then order the few that match.
        matched = select(LotRow).where(where).cte("matched")
        matched = matched.prefix_with("MATERIALIZED", dialect="postgresql")
        lot = aliased(LotRow, matched)
        query = select(lot).order_by(lot.generated_at.desc(), lot.lot_id)  # type: ignore[attr-defined]
    else:
        order = (
            (storage_age_start(licensed).asc(), LotRow.lot_id)
            if nearest_limit_first
            else (LotRow.generated_at.desc(), LotRow.lot_id)  # type: ignore[attr-defined]
        )
        query = select(LotRow).where(where).order_by(*order)
    rows = list(session.exec(query.limit(limit).offset(offset)))
    # The page's zones and sites in one query each, held here so lot_read's session.get finds
    # them in the (weak) identity map instead of one round trip per lot.
    zone_ids = {r.zone_id for r in rows if r.zone_id is not None}
    zones = (
        list(session.exec(select(ZoneRow).where(ZoneRow.zone_id.in_(zone_ids))))  # type: ignore[attr-defined]
        if zone_ids
        else []
    )
    site_ids = {r.site_id for r in rows}
    sites = list(session.exec(select(Site).where(Site.id.in_(site_ids)))) if site_ids else []  # type: ignore[attr-defined]
    items = [lot_read(session, ctx, state_of(r)) for r in rows]
    del zones, sites
    return schemas.LotPage(items=items, total=int(total), limit=limit, offset=offset)
