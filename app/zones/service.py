"""Zone use cases: register a zone, read zones with their inventory."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from uuid import UUID, uuid5

from sqlmodel import Session, select

from app.context import AppContext
from app.domain import zone as zone_domain
from app.domain.errors import Conflict, NotFound
from app.eventstore.store import EventStore
from app.identity.permissions import Principal
from app.projections.lots import ZoneInventoryRow
from app.projections.zones import ZoneRow
from app.services.recorder import Recorder
from app.zones import schemas

STREAM = "zone"
ZONE_NAMESPACE = UUID("0b7c3c52-8d0e-4a4f-b3c1-5f0f0f5e2b21")


def _read(row: ZoneRow, lines: list[ZoneInventoryRow]) -> schemas.ZoneRead:
    inv = [
        schemas.InventoryLine(
            category=i.category, lot_count=i.lot_count, weight_kg=i.weight_kg, volume_l=i.volume_l
        )
        for i in sorted(lines, key=lambda i: i.category)
        if i.lot_count
    ]
    return schemas.ZoneRead(
        zone_id=row.zone_id,
        site_id=row.site_id,
        version=row.version,
        code=row.code,
        name=row.name,
        kind=row.kind,
        capacity_kg=row.capacity_kg,  # type: ignore[arg-type]
        capacity_l=row.capacity_l,
        created_at=row.created_at,
        lot_count=sum(i.lot_count for i in inv),
        weight_kg=sum((i.weight_kg for i in inv), Decimal(0)),
        volume_l=sum((i.volume_l for i in inv), Decimal(0)),
        inventory=inv,
    )


def register_zone(
    *, session: Session, ctx: AppContext, actor: Principal, cmd: schemas.ZoneCreate
) -> schemas.ZoneRead:
    existing = EventStore(session, clock=ctx.clock, keys=ctx.keys).get(cmd.event_id)
    if existing is not None:
        if existing.type != "zone.registered":
            raise Conflict("event_id was already used for a different command")
        return get_zone(session=session, actor=actor, zone_id=existing.stream_id)
    actor.require_site(cmd.site_id, hide=False)
    code = cmd.code.upper()
    if session.exec(
        select(ZoneRow).where(ZoneRow.site_id == cmd.site_id, ZoneRow.code == code)
    ).first():
        raise Conflict(f"zone code {code} already exists at this site", field="code")
    zone_id = uuid5(ZONE_NAMESPACE, str(cmd.event_id))
    event = zone_domain.register(
        zone_domain.RegisterZone.model_validate(cmd.model_dump(exclude={"event_id", "occurred_at"}))
    )
    Recorder(session, ctx).record(
        actor=actor,
        site_id=cmd.site_id,
        stream_type=STREAM,
        stream_id=zone_id,
        expected_version=0,
        event_id=cmd.event_id,
        occurred_at=cmd.occurred_at or ctx.clock.now(),
        events=[event],
    )
    return get_zone(session=session, actor=actor, zone_id=zone_id)


def get_zone(*, session: Session, actor: Principal, zone_id: UUID) -> schemas.ZoneRead:
    row = session.get(ZoneRow, zone_id)
    if row is None:
        raise NotFound("zone not found", zone_id=str(zone_id))
    actor.require_site(row.site_id)
    lines = list(session.exec(select(ZoneInventoryRow).where(ZoneInventoryRow.zone_id == zone_id)))
    return _read(row, lines)


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
    return [_read(r, lines[r.zone_id]) for r in rows]
