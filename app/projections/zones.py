"""Read models of storage: `rm_facility` and `rm_zone`."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from uuid import UUID

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel

from app.core.db import UTCDateTime
from app.domain import zone as zone_domain
from app.domain.values import WasteKind
from app.domain.zone import FacilityState, FacilityType, ZoneState
from app.eventstore.models import EventRecord
from app.eventstore.store import domain_event
from app.projections.base import projector, register_tables, upsert


class FacilityRow(SQLModel, table=True):
    __tablename__ = "rm_facility"
    __table_args__ = (sa.UniqueConstraint("site_id", "code"),)

    facility_id: UUID = Field(sa_column=sa.Column(sa.Uuid(), primary_key=True))
    site_id: UUID = Field(sa_column=sa.Column(sa.Uuid(), nullable=False, index=True))
    version: int = Field(sa_column=sa.Column(sa.Integer(), nullable=False))
    code: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    name: str = Field(sa_column=sa.Column(sa.String(100), nullable=False))
    type: str = Field(sa_column=sa.Column(sa.String(24), nullable=False))
    surface_antiseepage: bool | None = Field(default=None, sa_column=sa.Column(sa.Boolean()))
    direct_ground_contact: bool | None = Field(default=None, sa_column=sa.Column(sa.Boolean()))
    base_liner: str | None = Field(default=None, sa_column=sa.Column(sa.String(16)))
    liner_thickness_mm: Decimal | None = Field(default=None, sa_column=sa.Column(sa.Numeric(12, 3)))
    liner_permeability_cm_s: float | None = Field(default=None, sa_column=sa.Column(sa.Float()))
    created_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))


class ZoneRow(SQLModel, table=True):
    __tablename__ = "rm_zone"
    __table_args__ = (sa.UniqueConstraint("site_id", "code"),)

    zone_id: UUID = Field(sa_column=sa.Column(sa.Uuid(), primary_key=True))
    site_id: UUID = Field(sa_column=sa.Column(sa.Uuid(), nullable=False, index=True))
    version: int = Field(sa_column=sa.Column(sa.Integer(), nullable=False))
    code: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    name: str = Field(sa_column=sa.Column(sa.String(100), nullable=False))
    kind: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    capacity_kg: Decimal | None = Field(default=None, sa_column=sa.Column(sa.Numeric(14, 3)))
    capacity_l: Decimal | None = Field(default=None, sa_column=sa.Column(sa.Numeric(14, 3)))
    created_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    facility_id: UUID | None = Field(default=None, sa_column=sa.Column(sa.Uuid(), index=True))
    allowed_categories: str = Field(default="", sa_column=sa.Column(sa.String(200), nullable=False))
    allowed_codes: str = Field(default="", sa_column=sa.Column(sa.Text(), nullable=False))
    containment_l: Decimal | None = Field(default=None, sa_column=sa.Column(sa.Numeric(14, 3)))
    gas_collection: bool = Field(default=False, sa_column=sa.Column(sa.Boolean(), nullable=False))
    explosion_rated: bool = Field(default=False, sa_column=sa.Column(sa.Boolean(), nullable=False))
    inspection_interval_days: int | None = Field(default=None, sa_column=sa.Column(sa.Integer()))
    last_inspected_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime()))


register_tables(FacilityRow.__table__, ZoneRow.__table__)  # type: ignore[attr-defined]


def zone_facility(session: Session, zone_id: UUID | None) -> UUID | None:
    """The facility the zone is in as the log stands (projectors: at the event at hand)."""
    row = session.get(ZoneRow, zone_id) if zone_id is not None else None
    return row.facility_id if row is not None else None


def _split(text: str) -> tuple[str, ...]:
    return tuple(x for x in text.split(",") if x)


def facility_state(row: FacilityRow) -> FacilityState:
    return FacilityState(
        facility_id=row.facility_id,
        site_id=row.site_id,
        code=row.code,
        name=row.name,
        type=FacilityType(row.type),
        created_at=row.created_at,
        surface_antiseepage=row.surface_antiseepage,
        direct_ground_contact=row.direct_ground_contact,
        base_liner=row.base_liner,
        liner_thickness_mm=row.liner_thickness_mm,
        liner_permeability_cm_s=row.liner_permeability_cm_s,
        version=row.version,
    )


def state_of(row: ZoneRow) -> ZoneState:
    return ZoneState(
        zone_id=row.zone_id,
        site_id=row.site_id,
        code=row.code,
        name=row.name,
        kind=WasteKind(row.kind),
        capacity_kg=row.capacity_kg,
        capacity_l=row.capacity_l,
        created_at=row.created_at,
        version=row.version,
        facility_id=row.facility_id,
        allowed_categories=_split(row.allowed_categories),
        allowed_codes=_split(row.allowed_codes),
        containment_l=row.containment_l,
        gas_collection=row.gas_collection,
        explosion_rated=row.explosion_rated,
        inspection_interval_days=row.inspection_interval_days,
        last_inspected_at=row.last_inspected_at,
    )


@projector("facility")
def project_facility(session: Session, event_row: EventRecord) -> None:
    row = session.get(FacilityRow, event_row.stream_id)
    before = facility_state(row) if row is not None else None
    s = zone_domain.evolve_facility(
        before, domain_event(event_row), event_row.occurred_at, event_row.stream_id
    )
    values = {
        "site_id": s.site_id,
        "version": s.version,
        "code": s.code,
        "name": s.name,
        "type": s.type.value,
        "surface_antiseepage": s.surface_antiseepage,
        "direct_ground_contact": s.direct_ground_contact,
        "base_liner": s.base_liner,
        "liner_thickness_mm": s.liner_thickness_mm,
        "liner_permeability_cm_s": s.liner_permeability_cm_s,
        "created_at": s.created_at,
    }
    upsert(session, FacilityRow, {"facility_id": event_row.stream_id}, row, values)


@projector("zone")
def project_zone(session: Session, event_row: EventRecord) -> None:
    row = session.get(ZoneRow, event_row.stream_id)
    before = state_of(row) if row is not None else None
    s = zone_domain.evolve(
        before, domain_event(event_row), event_row.occurred_at, event_row.stream_id
    )
    values = {
        "site_id": s.site_id,
        "version": s.version,
        "code": s.code,
        "name": s.name,
        "kind": s.kind.value,
        "capacity_kg": s.capacity_kg,
        "capacity_l": s.capacity_l,
        "created_at": s.created_at,
        "facility_id": s.facility_id,
        "allowed_categories": ",".join(s.allowed_categories),
        "allowed_codes": ",".join(s.allowed_codes),
        "containment_l": s.containment_l,
        "gas_collection": s.gas_collection,
        "explosion_rated": s.explosion_rated,
        "inspection_interval_days": s.inspection_interval_days,
        "last_inspected_at": s.last_inspected_at,
    }
    upsert(session, ZoneRow, {"zone_id": event_row.stream_id}, row, values)
