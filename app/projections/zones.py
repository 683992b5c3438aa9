"""Read model of zones: `rm_zone`."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from uuid import UUID

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel

from app.core.db import UTCDateTime
from app.domain import zone as zone_domain
from app.domain.values import WasteKind
from app.domain.zone import ZoneState
from app.eventstore.models import EventRecord
from app.eventstore.store import domain_event
from app.projections.base import projector, register_tables


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


register_tables(ZoneRow.__table__)  # type: ignore[attr-defined]


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
    )


@projector("zone")
def project_zone(session: Session, event_row: EventRecord) -> None:
    row = session.get(ZoneRow, event_row.stream_id)
    before = state_of(row) if row is not None else None
    after = zone_domain.evolve(
        before, domain_event(event_row), event_row.occurred_at, event_row.stream_id
    )
    values = {
        "site_id": after.site_id,
        "version": after.version,
        "code": after.code,
        "name": after.name,
        "kind": after.kind.value,
        "capacity_kg": after.capacity_kg,
        "capacity_l": after.capacity_l,
        "created_at": after.created_at,
    }
    if row is None:
        row = ZoneRow(zone_id=event_row.stream_id, **values)
        session.add(row)
        session.flush()
    else:
        for k, v in values.items():
            setattr(row, k, v)
