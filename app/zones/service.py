"""Facility and zone use cases: register and configure them, inspect a zone, read them with
their inventory."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from uuid import UUID, uuid5

from sqlmodel import Session, select

from app.context import AppContext
from app.domain import events as ev
from app.domain import lot as lot_domain
from app.domain import zone as zone_domain
from app.domain.errors import ConcurrencyConflict, Conflict, InvalidInput, NotFound
from app.domain.values import ContainerCondition
from app.domain.zone import FACILITY_TYPE_ZH, FacilityType
from app.eventstore.store import EventStore
from app.identity.permissions import Principal
from app.projections.lots import LotRow, ZoneInventoryRow
from app.projections.lots import state_of as lot_state_of
from app.projections.zones import FacilityRow, ZoneRow, facility_state, state_of
from app.rules import service as rule_service
from app.services.recorder import Recorder
from app.zones import schemas

ZONE_NAMESPACE = UUID("0b7c3c52-8d0e-4a4f-b3c1-5f0f0f5e2b21")
FACILITY_NAMESPACE = UUID("9a4f2c0e-77b1-4c9e-a0d5-3e2f1b6c8d90")


# ---------------------------------------------------------------- answers


def inventory_lines(lines: Iterable[ZoneInventoryRow]) -> list[schemas.InventoryLine]:
    """One line per category (the inventory is kept per category, hazards and form)."""
    by_cat: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0)] * 3)
    for i in lines:
        if i.lot_count:
            acc = by_cat[i.category]
            acc[0] += i.lot_count
            acc[1] += i.weight_kg
            acc[2] += i.volume_l
    return [
        schemas.InventoryLine(category=c, lot_count=int(a[0]), weight_kg=a[1], volume_l=a[2])
        for c, a in sorted(by_cat.items())
    ]


def _zone_read(session: Session, row: ZoneRow, lines: list[ZoneInventoryRow]) -> schemas.ZoneRead:
    s = state_of(row)
    inv = inventory_lines(lines)
    facility = session.get(FacilityRow, row.facility_id) if row.facility_id else None
    return schemas.ZoneRead(
        zone_id=s.zone_id,
        site_id=s.site_id,
        version=s.version,
        code=s.code,
        name=s.name,
        kind=s.kind,
        facility_id=s.facility_id,
        facility_type=FacilityType(facility.type) if facility else None,
        capacity_kg=s.capacity_kg,
        capacity_l=s.capacity_l,
        allowed_categories=list(s.allowed_categories),
        allowed_codes=list(s.allowed_codes),
        containment_l=s.containment_l,
        gas_collection=s.gas_collection,
        explosion_rated=s.explosion_rated,
        inspection_interval_days=s.inspection_interval_days,
        last_inspected_at=s.last_inspected_at,
        created_at=s.created_at,
        lot_count=sum(i.lot_count for i in inv),
        weight_kg=sum((i.weight_kg for i in inv), Decimal(0)),
        volume_l=sum((i.volume_l for i in inv), Decimal(0)),
        liquid_l=sum(
            (i.volume_l for i in lines if i.lot_count and i.physical_form == "liquid"), Decimal(0)
        ),
        inventory=inv,
    )


def _facility_read(ctx: AppContext, row: FacilityRow) -> schemas.FacilityRead:
    s = facility_state(row)
    return schemas.FacilityRead(
        facility_id=s.facility_id,
        site_id=s.site_id,
        version=s.version,
        code=s.code,
        name=s.name,
        type=s.type,
        type_zh=FACILITY_TYPE_ZH[s.type.value],
        kind=s.kind,
        surface_antiseepage=s.surface_antiseepage,
        direct_ground_contact=s.direct_ground_contact,
        base_liner=s.base_liner,
        liner_thickness_mm=s.liner_thickness_mm,
        liner_permeability_cm_s=s.liner_permeability_cm_s,
        audit_findings=[f.model_dump() for f in rule_service.facility_audit(ctx=ctx, facility=s)],
    )


def _replayed(ctx: AppContext, session: Session, event_id: UUID, types: set[str]) -> UUID | None:
    existing = EventStore(session, clock=ctx.clock, keys=ctx.keys).get(event_id)
    if existing is None:
        return None
    if existing.type not in types:
        raise Conflict("event_id was already used for a different command", event_id=str(event_id))
    return existing.stream_id


# ---------------------------------------------------------------- facilities


def register_facility(
    *, session: Session, ctx: AppContext, actor: Principal, cmd: schemas.FacilityCreate
) -> schemas.FacilityRead:
    replay = _replayed(ctx, session, cmd.event_id, {"facility.registered"})
    if replay is not None:
        return get_facility(session=session, ctx=ctx, actor=actor, facility_id=replay)
    actor.require_site(cmd.site_id, hide=False)
    code = cmd.code.upper()
    if session.exec(
        select(FacilityRow).where(FacilityRow.site_id == cmd.site_id, FacilityRow.code == code)
    ).first():
        raise Conflict(f"facility code {code} already exists at this site", field="code")
    facility_id = uuid5(FACILITY_NAMESPACE, str(cmd.event_id))
    event = zone_domain.register_facility(
        zone_domain.RegisterFacility.model_validate(
            cmd.model_dump(exclude={"event_id", "occurred_at"})
        )
    )
    Recorder(session, ctx).record(
        actor=actor,
        site_id=cmd.site_id,
        stream_type="facility",
        stream_id=facility_id,
        expected_version=0,
        event_id=cmd.event_id,
        occurred_at=cmd.occurred_at or ctx.clock.now(),
        events=[event],
    )
    return get_facility(session=session, ctx=ctx, actor=actor, facility_id=facility_id)


def configure_facility(
    *,
    session: Session,
    ctx: AppContext,
    actor: Principal,
    facility_id: UUID,
    cmd: schemas.FacilityUpdate,
) -> schemas.FacilityRead:
    if _replayed(ctx, session, cmd.event_id, {"facility.configured"}) is not None:
        return get_facility(session=session, ctx=ctx, actor=actor, facility_id=facility_id)
    row = _facility_row(session, actor, facility_id)
    if row.version != cmd.expected_version:
        raise ConcurrencyConflict(str(facility_id), cmd.expected_version, row.version)
    event = zone_domain.configure_facility(
        zone_domain.FacilityAudit.model_validate(
            cmd.model_dump(exclude={"event_id", "occurred_at", "expected_version"})
        )
    )
    Recorder(session, ctx).record(
        actor=actor,
        site_id=row.site_id,
        stream_type="facility",
        stream_id=facility_id,
        expected_version=row.version,
        event_id=cmd.event_id,
        occurred_at=cmd.occurred_at or ctx.clock.now(),
        events=[event],
    )
    return get_facility(session=session, ctx=ctx, actor=actor, facility_id=facility_id)


def _facility_row(session: Session, actor: Principal, facility_id: UUID) -> FacilityRow:
    row = session.get(FacilityRow, facility_id)
    if row is None:
        raise NotFound("facility not found", facility_id=str(facility_id))
    actor.require_site(row.site_id)
    return row


def get_facility(
    *, session: Session, ctx: AppContext, actor: Principal, facility_id: UUID
) -> schemas.FacilityRead:
    return _facility_read(ctx, _facility_row(session, actor, facility_id))


def list_facilities(
    *, session: Session, ctx: AppContext, actor: Principal, site_id: UUID | None = None
) -> list[schemas.FacilityRead]:
    q = select(FacilityRow).where(FacilityRow.site_id.in_(actor.site_ids))  # type: ignore[attr-defined]
    if site_id is not None:
        q = q.where(FacilityRow.site_id == site_id)
    return [_facility_read(ctx, r) for r in session.exec(q.order_by(FacilityRow.code))]


# ---------------------------------------------------------------- zones


def register_zone(
    *, session: Session, ctx: AppContext, actor: Principal, cmd: schemas.ZoneCreate
) -> schemas.ZoneRead:
    replay = _replayed(ctx, session, cmd.event_id, {"zone.registered"})
    if replay is not None:
        return get_zone(session=session, actor=actor, zone_id=replay)
    actor.require_site(cmd.site_id, hide=False)
    code = cmd.code.upper()
    if session.exec(
        select(ZoneRow).where(ZoneRow.site_id == cmd.site_id, ZoneRow.code == code)
    ).first():
        raise Conflict(f"zone code {code} already exists at this site", field="code")
    facility = None
    if cmd.facility_id is not None:
        frow = session.get(FacilityRow, cmd.facility_id)
        if frow is None:
            raise InvalidInput("no such facility", field="facility_id")
        facility = facility_state(frow)
    zone_id = uuid5(ZONE_NAMESPACE, str(cmd.event_id))
    event = zone_domain.register(
        zone_domain.RegisterZone.model_validate(
            cmd.model_dump(exclude={"event_id", "occurred_at"})
        ),
        facility,
    )
    Recorder(session, ctx).record(
        actor=actor,
        site_id=cmd.site_id,
        stream_type="zone",
        stream_id=zone_id,
        expected_version=0,
        event_id=cmd.event_id,
        occurred_at=cmd.occurred_at or ctx.clock.now(),
        events=[event],
    )
    return get_zone(session=session, actor=actor, zone_id=zone_id)


def _zone_row(session: Session, actor: Principal, zone_id: UUID) -> ZoneRow:
    row = session.get(ZoneRow, zone_id)
    if row is None:
        raise NotFound("zone not found", zone_id=str(zone_id))
    actor.require_site(row.site_id)
    return row


def configure_zone(
    *, session: Session, ctx: AppContext, actor: Principal, zone_id: UUID, cmd: schemas.ZoneUpdate
) -> schemas.ZoneRead:
    if _replayed(ctx, session, cmd.event_id, {"zone.configured"}) is not None:
        return get_zone(session=session, actor=actor, zone_id=zone_id)
    row = _zone_row(session, actor, zone_id)
    if row.version != cmd.expected_version:
        raise ConcurrencyConflict(str(zone_id), cmd.expected_version, row.version)
    if cmd.facility_id is not None:
        frow = session.get(FacilityRow, cmd.facility_id)
        if frow is None or frow.site_id != row.site_id:
            raise InvalidInput("no such facility at this zone's site", field="facility_id")
        if facility_state(frow).kind.value != row.kind:
            raise InvalidInput(
                f"a {row.kind} zone cannot be part of a {frow.type} facility", field="facility_id"
            )
    event = zone_domain.configure(
        state_of(row),
        zone_domain.ConfigureZone.model_validate(
            cmd.model_dump(exclude={"event_id", "occurred_at", "expected_version"})
        ),
    )
    Recorder(session, ctx).record(
        actor=actor,
        site_id=row.site_id,
        stream_type="zone",
        stream_id=zone_id,
        expected_version=row.version,
        event_id=cmd.event_id,
        occurred_at=cmd.occurred_at or ctx.clock.now(),
        events=[event],
    )
    return get_zone(session=session, actor=actor, zone_id=zone_id)


def inspect_zone(
    *, session: Session, ctx: AppContext, actor: Principal, zone_id: UUID, cmd: schemas.ZoneInspect
) -> schemas.InspectionRead:
    """GB 18597 8.2.2: record the zone inspection and, for every container found damaged,
    leaking or deformed (or found intact again), a `lot.inspected` on its lot, in one
    transaction. A damaged or leaking lot must be repacked before it moves on."""
    store = EventStore(session, clock=ctx.clock, keys=ctx.keys)
    if (existing := store.get(cmd.event_id)) is not None:
        if existing.type != "zone.inspected" or existing.stream_id != zone_id:
            raise Conflict("event_id was already used for a different command")
        results = existing.payload["results"]
        return schemas.InspectionRead(
            zone=get_zone(session=session, actor=actor, zone_id=zone_id),
            lots_needing_repack=[
                UUID(r["lot_id"])
                for r in results
                if r["condition"] != ContainerCondition.intact.value
            ],
            events=1 + len(results),
        )
    zone = _zone_row(session, actor, zone_id)
    occurred_at = cmd.occurred_at or ctx.clock.now()
    state = state_of(zone)
    recorder = Recorder(session, ctx)
    recorder.record(
        actor=actor,
        site_id=zone.site_id,
        stream_type="zone",
        stream_id=zone_id,
        expected_version=state.version,
        event_id=cmd.event_id,
        occurred_at=occurred_at,
        events=[zone_domain.inspect(state, cmd.items, cmd.notes)],
    )
    events = 1
    repack: list[UUID] = []
    for item in cmd.items:
        lot_row = session.get(LotRow, item.lot_id)
        if lot_row is None or lot_row.zone_id != zone_id:
            raise InvalidInput(
                f"lot {item.lot_id} is not stored in zone {zone.code}",
                field="items",
                lot_id=str(item.lot_id),
            )
        lot = lot_state_of(lot_row)
        if item.condition is not ContainerCondition.intact:
            repack.append(item.lot_id)
        if item.condition is ContainerCondition.intact and not lot.needs_repack:
            continue  # nothing new to record on the lot
        event: ev.Event = lot_domain.inspect(lot, item.condition, item.notes)
        findings = rule_service.check_inspection(
            session=session, ctx=ctx, lot=lot, condition=item.condition, at=occurred_at
        )
        recorder.record(
            actor=actor,
            site_id=lot.site_id,
            stream_type="lot",
            stream_id=item.lot_id,
            expected_version=lot.version,
            event_id=uuid5(cmd.event_id, str(item.lot_id)),
            occurred_at=occurred_at,
            events=[event],
            findings=[f.model_dump(mode="json") for f in findings],
            rule_set_version=rule_service.rule_data(ctx).version,
        )
        events += 1
    return schemas.InspectionRead(
        zone=get_zone(session=session, actor=actor, zone_id=zone_id),
        lots_needing_repack=repack,
        events=events,
    )


def get_zone(*, session: Session, actor: Principal, zone_id: UUID) -> schemas.ZoneRead:
    row = _zone_row(session, actor, zone_id)
    lines = list(session.exec(select(ZoneInventoryRow).where(ZoneInventoryRow.zone_id == zone_id)))
    return _zone_read(session, row, lines)


def list_zones(
    *, session: Session, actor: Principal, site_id: UUID | None = None
) -> list[schemas.ZoneRead]:
    q = select(ZoneRow).where(ZoneRow.site_id.in_(actor.site_ids))  # type: ignore[attr-defined]
    if site_id is not None:
        q = q.where(ZoneRow.site_id == site_id)
    rows = list(session.exec(q.order_by(ZoneRow.code)))
    lines: dict[UUID, list[ZoneInventoryRow]] = defaultdict(list)
    if rows:
        inv = select(ZoneInventoryRow).where(
            ZoneInventoryRow.zone_id.in_([r.zone_id for r in rows])  # type: ignore[attr-defined]
        )
        for i in session.exec(inv):
            lines[i.zone_id].append(i)
    return [_zone_read(session, r, lines[r.zone_id]) for r in rows]
