"""Read models of lots: `rm_lot` (current state), `rm_zone_inventory` (per zone, category) and
`rm_storage_in` (every entry into storage).

The lot row holds the whole `LotState`, so the projector folds with the domain's own
`evolve`: the transition logic exists once. Zone inventory is the difference between what the
lot contributed to its zone before and after the event. A storage entry is a `lot.stored` of a
lot that was not in storage (its `stored_at` empty: new, or back after a return); the entries
are kept, never rewritten, for the HJ 1259 入库 ledger.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel

from app.core.db import UTCDateTime
from app.domain import events as ev
from app.domain import lot as lot_domain
from app.domain.lot import LotState, LotStatus
from app.domain.values import (
    Container,
    ContainerCondition,
    GeneralClass,
    PhysicalForm,
    ReceiptOutcome,
    WasteKind,
    china_date,
)
from app.eventstore.models import EventRecord, StoredEvent
from app.eventstore.store import domain_event, write_pending
from app.projections.base import projector, register_tables, upsert
from app.projections.zones import zone_facility

KG = sa.Numeric(14, 3)


class LotRow(SQLModel, table=True):
    __tablename__ = "rm_lot"
    # The largest liquid container in a zone (GB 18597 6.2.2) is an index lookup.
    __table_args__ = (
        sa.Index("ix_rm_lot_zone_form_volume", "zone_id", "physical_form", "container_volume_l"),
    )

    lot_id: UUID = Field(sa_column=sa.Column(sa.Uuid(), primary_key=True))
    site_id: UUID = Field(sa_column=sa.Column(sa.Uuid(), nullable=False, index=True))
    version: int = Field(sa_column=sa.Column(sa.Integer(), nullable=False))
    status: str = Field(sa_column=sa.Column(sa.String(16), nullable=False, index=True))
    kind: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    name: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    category: str = Field(sa_column=sa.Column(sa.String(8), nullable=False, index=True))
    waste_code: str | None = Field(default=None, sa_column=sa.Column(sa.String(12), index=True))
    general_class: str | None = Field(default=None, sa_column=sa.Column(sa.String(4)))
    hazard_characteristics: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    physical_form: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    container_type: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    container_volume_l: Decimal = Field(sa_column=sa.Column(sa.Numeric(12, 3), nullable=False))
    container_material: str | None = Field(default=None, sa_column=sa.Column(sa.String(40)))
    container_code: str | None = Field(default=None, sa_column=sa.Column(sa.String(64)))
    condition: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    weight_kg: Decimal = Field(sa_column=sa.Column(KG, nullable=False))
    digital_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(48), unique=True))
    main_components: str | None = Field(default=None, sa_column=sa.Column(sa.String(500)))
    harmful_components: str | None = Field(default=None, sa_column=sa.Column(sa.String(500)))
    precautions: str | None = Field(default=None, sa_column=sa.Column(sa.String(500)))
    remarks: str | None = Field(default=None, sa_column=sa.Column(sa.String(500)))
    label_prints: int = Field(sa_column=sa.Column(sa.Integer(), nullable=False))
    zone_id: UUID | None = Field(default=None, sa_column=sa.Column(sa.Uuid(), index=True))
    manifest_id: UUID | None = Field(default=None, sa_column=sa.Column(sa.Uuid(), index=True))
    generated_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False, index=True))
    labelled_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime()))
    stored_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime()))
    inspected_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime()))
    shipped_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime()))
    received_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime()))
    receipt_outcome: str | None = Field(default=None, sa_column=sa.Column(sa.String(16)))
    accepted_weight_kg: Decimal | None = Field(default=None, sa_column=sa.Column(KG))
    method_code: str | None = Field(default=None, sa_column=sa.Column(sa.String(8)))
    completed_on: date | None = Field(default=None, sa_column=sa.Column(sa.Date()))
    last_event_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    properties: str = Field(default="", sa_column=sa.Column(sa.String(100), nullable=False))
    headspace_mm: Decimal | None = Field(default=None, sa_column=sa.Column(sa.Numeric(10, 3)))
    organic_matter_pct: Decimal | None = Field(default=None, sa_column=sa.Column(sa.Numeric(8, 3)))
    soluble_salts_pct: Decimal | None = Field(default=None, sa_column=sa.Column(sa.Numeric(8, 3)))
    # the current 延期贮存批准 (固废法 Art. 81 ¶3): storage may run through this day
    storage_extended_until: date | None = Field(default=None, sa_column=sa.Column(sa.Date()))
    storage_extension_approval_no: str | None = Field(
        default=None, sa_column=sa.Column(sa.String(64))
    )
    # 豁免管理清单 #24 (R61): not managed as hazardous waste until stored in a zone
    exempt: bool = Field(
        default=False, sa_column=sa.Column(sa.Boolean(), nullable=False, server_default=sa.false())
    )


class ZoneInventoryRow(SQLModel, table=True):
    """What a zone holds, per distinct mix of (category, hazards, properties, form): the
    storage rules read a zone's few rows here instead of its lots."""

    __tablename__ = "rm_zone_inventory"

    zone_id: UUID = Field(sa_column=sa.Column(sa.Uuid(), primary_key=True))
    category: str = Field(sa_column=sa.Column(sa.String(8), primary_key=True))
    hazards: str = Field(sa_column=sa.Column(sa.String(16), primary_key=True))
    properties: str = Field(sa_column=sa.Column(sa.String(100), primary_key=True))
    physical_form: str = Field(sa_column=sa.Column(sa.String(16), primary_key=True))
    lot_count: int = Field(sa_column=sa.Column(sa.Integer(), nullable=False))
    weight_kg: Decimal = Field(sa_column=sa.Column(KG, nullable=False))
    volume_l: Decimal = Field(sa_column=sa.Column(sa.Numeric(14, 3), nullable=False))


class StorageInRow(SQLModel, table=True):
    """One row per entry of a lot into storage (HJ 1259 入库): when, into which zone, at what
    weight. `seq` counts the lot's entries from 1; a lot returned by its handler and stored
    again has a second. Rows are appended, never changed."""

    __tablename__ = "rm_storage_in"
    # the ledger reads a site's entries by time (its 入库 serials are per China day)
    __table_args__ = (sa.Index("ix_rm_storage_in_site_entered", "site_id", "entered_at"),)

    lot_id: UUID = Field(sa_column=sa.Column(sa.Uuid(), primary_key=True))
    seq: int = Field(sa_column=sa.Column(sa.Integer(), primary_key=True, autoincrement=False))
    site_id: UUID = Field(sa_column=sa.Column(sa.Uuid(), nullable=False))
    entered_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    zone_id: UUID = Field(sa_column=sa.Column(sa.Uuid(), nullable=False))
    # the zone's facility at the entry: a zone later moved to another facility rewrites no
    # ledger row (HJ 1259 records the facility the waste went into)
    facility_id: UUID | None = Field(default=None, sa_column=sa.Column(sa.Uuid()))
    weight_kg: Decimal = Field(sa_column=sa.Column(KG, nullable=False))


register_tables(
    LotRow.__table__,  # type: ignore[attr-defined]
    ZoneInventoryRow.__table__,  # type: ignore[attr-defined]
    StorageInRow.__table__,  # type: ignore[attr-defined]
)

IN_ZONE = {LotStatus.stored, LotStatus.allocated}


def managed_hazardous() -> sa.ColumnElement[bool]:
    """Over `rm_lot`: managed as hazardous waste — the hazardous lots, less those exempt under
    豁免管理清单 #24 (R61: no label, storage limit, manifest or ledger)."""
    t = LotRow.__table__  # type: ignore[attr-defined]
    return sa.and_(t.c.kind == WasteKind.hazardous.value, sa.not_(t.c.exempt))


def storage_age_start(licensed_sites: Collection[UUID]) -> sa.ColumnElement[Any]:
    """Over `rm_lot`, the moment a lot's storage age counts from: where R32/R33 count the
    one-year limit (`lot.storage_clock_start`: generation for a generator's hazardous waste),
    storage-in otherwise (a licence holder's, general waste, which has no such limit, and an
    exempt lot's, which is never stored while it is exempt).
    `licensed_sites` are the sites that hold a 经营许可证 (`Site.licensed_operator`)."""
    t = LotRow.__table__  # type: ignore[attr-defined]
    licensed = t.c.site_id.in_(sorted(licensed_sites)) if licensed_sites else sa.false()
    generator_hw = sa.and_(managed_hazardous(), sa.not_(licensed))
    return sa.case((generator_hw, t.c.generated_at), else_=t.c.stored_at)


def storage_time_conditions(
    now: datetime, warn_days: int, limit_days: int, licensed_sites: Collection[UUID]
) -> tuple[sa.ColumnElement[bool], sa.ColumnElement[bool]]:
    """(due, over) over `rm_lot`, as R32/R33 judge a hazardous lot's storage time from where
    they count it (`storage_age_start`): `due` from the warning day on, unless an approved
    extension runs and ends more than the year's lead (limit − warning day) away; `over` past
    the one-year limit with no extension running. General waste and exempt lots (R61) are
    neither."""
    t = LotRow.__table__  # type: ignore[attr-defined]
    today = china_date(now)
    since = storage_age_start(licensed_sites)
    hazardous = managed_hazardous()
    ext = t.c.storage_extended_until
    unextended = sa.or_(ext.is_(None), ext < today)
    warned = since <= now - timedelta(days=warn_days)
    ending = ext <= today + timedelta(days=limit_days - warn_days)
    due = sa.and_(hazardous, warned, sa.or_(unextended, ending))
    over = sa.and_(hazardous, since <= now - timedelta(days=limit_days), unextended)
    return due, over


def state_of(row: LotRow | sa.Row[Any]) -> LotState:
    """The domain's lot from its read-model row (the ORM's, or a plain row of `rm_lot`)."""
    return LotState(
        lot_id=row.lot_id,
        site_id=row.site_id,
        kind=WasteKind(row.kind),
        name=row.name,
        category=row.category,
        waste_code=row.waste_code,
        general_class=GeneralClass(row.general_class) if row.general_class else None,
        hazard_characteristics=tuple(h for h in row.hazard_characteristics.split(",") if h),
        physical_form=PhysicalForm(row.physical_form),
        container=Container(
            type=row.container_type,
            volume_l=row.container_volume_l,  # type: ignore[arg-type]
            material=row.container_material,
            code=row.container_code,
        ),
        weight_kg=row.weight_kg,
        generated_at=row.generated_at,
        status=LotStatus(row.status),
        version=row.version,
        digital_id=row.digital_id,
        main_components=row.main_components,
        harmful_components=row.harmful_components,
        precautions=row.precautions,
        remarks=row.remarks,
        labelled_at=row.labelled_at,
        label_prints=row.label_prints,
        zone_id=row.zone_id,
        stored_at=row.stored_at,
        condition=ContainerCondition(row.condition),
        inspected_at=row.inspected_at,
        manifest_id=row.manifest_id,
        shipped_at=row.shipped_at,
        received_at=row.received_at,
        receipt_outcome=ReceiptOutcome(row.receipt_outcome) if row.receipt_outcome else None,
        accepted_weight_kg=row.accepted_weight_kg,
        method_code=row.method_code,
        completed_on=row.completed_on,
        properties=tuple(p for p in row.properties.split(",") if p),
        headspace_mm=row.headspace_mm,
        organic_matter_pct=row.organic_matter_pct,
        soluble_salts_pct=row.soluble_salts_pct,
        storage_extended_until=row.storage_extended_until,
        storage_extension_approval_no=row.storage_extension_approval_no,
        exempt=row.exempt,
    )


def _row_values(s: LotState) -> dict[str, Any]:
    return {
        "site_id": s.site_id,
        "version": s.version,
        "status": s.status.value,
        "kind": s.kind.value,
        "name": s.name,
        "category": s.category,
        "waste_code": s.waste_code,
        "general_class": s.general_class.value if s.general_class else None,
        "hazard_characteristics": ",".join(s.hazard_characteristics),
        "physical_form": s.physical_form.value,
        "container_type": s.container.type.value,
        "container_volume_l": s.container.volume_l,
        "container_material": s.container.material,
        "container_code": s.container.code,
        "condition": s.condition.value,
        "weight_kg": s.weight_kg,
        "digital_id": s.digital_id,
        "main_components": s.main_components,
        "harmful_components": s.harmful_components,
        "precautions": s.precautions,
        "remarks": s.remarks,
        "label_prints": s.label_prints,
        "zone_id": s.zone_id,
        "manifest_id": s.manifest_id,
        "generated_at": s.generated_at,
        "labelled_at": s.labelled_at,
        "stored_at": s.stored_at,
        "inspected_at": s.inspected_at,
        "shipped_at": s.shipped_at,
        "received_at": s.received_at,
        "receipt_outcome": s.receipt_outcome.value if s.receipt_outcome else None,
        "accepted_weight_kg": s.accepted_weight_kg,
        "method_code": s.method_code,
        "completed_on": s.completed_on,
        "properties": ",".join(s.properties),
        "headspace_mm": s.headspace_mm,
        "organic_matter_pct": s.organic_matter_pct,
        "soluble_salts_pct": s.soluble_salts_pct,
        "storage_extended_until": s.storage_extended_until,
        "storage_extension_approval_no": s.storage_extension_approval_no,
        "exempt": s.exempt,
    }


Contribution = tuple[tuple[UUID, str, str, str, str], Decimal, Decimal]


def _contribution(s: LotState | None) -> Contribution | None:
    if s is None or s.zone_id is None or s.status not in IN_ZONE:
        return None
    key = (
        s.zone_id,
        s.category,
        ",".join(s.hazard_characteristics),
        ",".join(s.properties),
        s.physical_form.value,
    )
    return key, s.weight_kg, s.container.volume_l


def _add_inventory(session: Session, c: Contribution, sign: int) -> None:
    key, kg, litres = c
    row = session.get(ZoneInventoryRow, key)
    if row is None:
        zone_id, category, hazards, properties, form = key
        row = ZoneInventoryRow(
            zone_id=zone_id,
            category=category,
            hazards=hazards,
            properties=properties,
            physical_form=form,
            lot_count=0,
            weight_kg=Decimal(0),
            volume_l=Decimal(0),
        )
        session.add(row)
        session.flush()  # visible to `session.get` for the next event of the batch
    row.lot_count += sign
    row.weight_kg += sign * kg
    row.volume_l += sign * litres


_BEFORE = "hazchain_lot_state_before"


def state_before(session: Session, event_row: EventRecord) -> LotState | None:
    """The lot as it was before `event_row`, kept by `project_lot` for the projectors that run
    after it on the same event (None when it is not at hand: then read the log)."""
    kept = session.info.get(_BEFORE)
    return kept[1] if kept is not None and kept[0] == event_row.event_id else None


@projector("lot")
def project_lot(session: Session, event_row: EventRecord) -> None:
    row = session.get(LotRow, event_row.stream_id)
    before = state_of(row) if row is not None else None
    session.info[_BEFORE] = (event_row.event_id, before)
    after = lot_domain.evolve(
        before, domain_event(event_row), event_row.occurred_at, event_row.stream_id
    )
    values = _row_values(after)
    values["last_event_at"] = event_row.occurred_at
    upsert(session, LotRow, {"lot_id": event_row.stream_id}, row, values)
    old, new = _contribution(before), _contribution(after)
    if old != new:
        if old:
            _add_inventory(session, old, -1)
        if new:
            _add_inventory(session, new, +1)


def state_before_from_log(session: Session, event_row: EventRecord) -> LotState | None:
    """The lot before `event_row`, folded from its earlier events in the log."""
    t = StoredEvent.__table__  # type: ignore[attr-defined]
    write_pending(session)  # a batch's appends kept in memory are part of the stream
    rows = session.execute(
        sa.select(t.c.type, t.c.schema_version, t.c.payload, t.c.occurred_at)
        .where(t.c.stream_id == event_row.stream_id, t.c.version < event_row.version)
        .order_by(t.c.version)
    ).all()
    return lot_domain.fold(
        ((ev.load_event(r[0], r[1], r[2]), r[3]) for r in rows), event_row.stream_id
    )


def _next_seq(session: Session, lot_id: UUID) -> int:
    """The lot's next entry number: after its entries in the table and those still pending in
    the session (a deferred batch flushes once, at its end). A Core select: no autoflush."""
    t = StorageInRow.__table__  # type: ignore[attr-defined]
    last = session.execute(sa.select(sa.func.max(t.c.seq)).where(t.c.lot_id == lot_id)).scalar()
    pending = (o.seq for o in session.new if isinstance(o, StorageInRow) and o.lot_id == lot_id)
    return max([last or 0, *pending]) + 1


@projector("lot")
def project_storage_in(session: Session, event_row: EventRecord) -> None:
    """Runs after `project_lot` (registered after it): a `lot.stored` of a lot not in storage
    before is a new entry, at the event's time, into its zone and that zone's facility then,
    at the lot's weight then."""
    if event_row.type != ev.LotStored.TYPE:
        return
    event = domain_event(event_row)
    assert isinstance(event, ev.LotStored)
    before = state_before(session, event_row)
    if before is None:  # not kept for this event: read the log
        before = state_before_from_log(session, event_row)
    if before is not None and before.stored_at is not None:
        return  # already in storage: not an entry
    lot = session.get(LotRow, event_row.stream_id)
    assert lot is not None  # `project_lot` has just written it
    session.add(
        StorageInRow(
            lot_id=event_row.stream_id,
            seq=_next_seq(session, event_row.stream_id),
            site_id=event_row.site_id,
            entered_at=event_row.occurred_at,
            zone_id=event.zone_id,
            facility_id=zone_facility(session, event.zone_id),
            weight_kg=lot.weight_kg,
        )
    )
