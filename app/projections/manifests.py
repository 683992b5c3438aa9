"""Read models of manifests: `rm_manifest` (the whole state as JSON plus the columns lists and
scopes filter on) and `rm_manifest_lot` (one row per lot per manifest: what the ledger, the
declaration and the capacity / approval sums read). Folded with the domain's `evolve`."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel, select

from app.core.db import UTCDateTime
from app.domain import manifest as manifest_domain
from app.domain.manifest import ManifestState
from app.eventstore.models import EventRecord
from app.eventstore.store import domain_event
from app.projections.base import projector, register_tables
from app.projections.zones import zone_facility

KG = sa.Numeric(14, 3)


class ManifestRow(SQLModel, table=True):
    __tablename__ = "rm_manifest"

    manifest_id: UUID = Field(sa_column=sa.Column(sa.Uuid(), primary_key=True))
    number: str = Field(sa_column=sa.Column(sa.String(14), nullable=False, unique=True))
    site_id: UUID = Field(sa_column=sa.Column(sa.Uuid(), nullable=False, index=True))
    consignor_enterprise_id: UUID = Field(sa_column=sa.Column(sa.Uuid(), nullable=False))
    handler_enterprise_id: UUID = Field(sa_column=sa.Column(sa.Uuid(), nullable=False, index=True))
    carrier_enterprise_id: UUID = Field(sa_column=sa.Column(sa.Uuid(), nullable=False, index=True))
    handler_licence_id: UUID = Field(sa_column=sa.Column(sa.Uuid(), nullable=False))
    transfer_approval_id: UUID | None = Field(default=None, sa_column=sa.Column(sa.Uuid()))
    status: str = Field(sa_column=sa.Column(sa.String(16), nullable=False, index=True))
    version: int = Field(sa_column=sa.Column(sa.Integer(), nullable=False))
    planned_date: date = Field(sa_column=sa.Column(sa.Date(), nullable=False))
    total_kg: Decimal = Field(sa_column=sa.Column(KG, nullable=False))
    lot_count: int = Field(sa_column=sa.Column(sa.Integer(), nullable=False))
    discrepancy_open: bool = Field(sa_column=sa.Column(sa.Boolean(), nullable=False))
    pending_corrections: int = Field(sa_column=sa.Column(sa.Integer(), nullable=False))
    created_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False, index=True))
    # none while a draft: the handler's and carrier's users see it from here on
    submitted_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime()))
    dispatched_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime()))
    received_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime()))
    confirmed_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime()))
    closed_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime()))
    last_event_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    state: dict[str, Any] = Field(sa_column=sa.Column(sa.JSON(), nullable=False))


class ManifestLotRow(SQLModel, table=True):
    __tablename__ = "rm_manifest_lot"
    __table_args__ = (sa.Index("ix_rm_manifest_lot_lot", "lot_id"),)

    manifest_id: UUID = Field(sa_column=sa.Column(sa.Uuid(), primary_key=True))
    lot_id: UUID = Field(sa_column=sa.Column(sa.Uuid(), primary_key=True))
    site_id: UUID = Field(sa_column=sa.Column(sa.Uuid(), nullable=False))
    line_no: int = Field(sa_column=sa.Column(sa.Integer(), nullable=False))
    waste_code: str = Field(sa_column=sa.Column(sa.String(12), nullable=False))
    zone_id: UUID | None = Field(default=None, sa_column=sa.Column(sa.Uuid()))
    # the zone's facility when the lot left (none before): the HJ 1259 出库 row names the
    # facility the waste left from, whatever the zone becomes later
    facility_id: UUID | None = Field(default=None, sa_column=sa.Column(sa.Uuid()))
    planned_method: str = Field(sa_column=sa.Column(sa.String(8), nullable=False))
    weight_kg: Decimal = Field(sa_column=sa.Column(KG, nullable=False))
    received_kg: Decimal | None = Field(default=None, sa_column=sa.Column(KG))
    outcome: str | None = Field(default=None, sa_column=sa.Column(sa.String(16)))
    accepted_kg: Decimal | None = Field(default=None, sa_column=sa.Column(KG))
    method_code: str | None = Field(default=None, sa_column=sa.Column(sa.String(8)))
    completed_on: date | None = Field(default=None, sa_column=sa.Column(sa.Date()))
    returned: bool = Field(sa_column=sa.Column(sa.Boolean(), nullable=False))
    cancelled: bool = Field(sa_column=sa.Column(sa.Boolean(), nullable=False))
    dispatched_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime()))


register_tables(ManifestRow.__table__, ManifestLotRow.__table__)  # type: ignore[attr-defined]


def state_of(row: ManifestRow) -> ManifestState:
    return ManifestState.model_validate(row.state)


def _values(s: ManifestState) -> dict[str, Any]:
    return {
        "number": s.number,
        "site_id": s.site_id,
        "consignor_enterprise_id": s.consignor_enterprise_id,
        "handler_enterprise_id": s.handler_enterprise_id,
        "carrier_enterprise_id": s.carrier_enterprise_id,
        "handler_licence_id": s.handler_licence_id,
        "transfer_approval_id": s.transfer_approval_id,
        "status": s.status.value,
        "version": s.version,
        "planned_date": s.planned_date,
        "total_kg": s.total_kg,
        "lot_count": len(s.lots),
        "discrepancy_open": s.discrepancy_open,
        "pending_corrections": sum(1 for c in s.corrections if c.status == "pending"),
        "created_at": s.created_at,
        "submitted_at": s.submitted_at,
        "dispatched_at": s.dispatched_at,
        "received_at": s.received_at,
        "confirmed_at": s.confirmed_at,
        "closed_at": s.closed_at,
        "state": s.model_dump(mode="json"),
    }


@projector("manifest")
def project_manifest(session: Session, event_row: EventRecord) -> None:
    row = session.get(ManifestRow, event_row.stream_id)
    before = state_of(row) if row is not None else None
    after = manifest_domain.evolve(
        before, domain_event(event_row), event_row.occurred_at, event_row.stream_id
    )
    values = _values(after)
    values["last_event_at"] = event_row.occurred_at
    if row is None:
        session.add(ManifestRow(manifest_id=event_row.stream_id, **values))
    else:
        for k, v in values.items():
            setattr(row, k, v)
    _project_lots(session, after)
    session.flush()


def _project_lots(session: Session, s: ManifestState) -> None:
    existing = {
        r.lot_id: r
        for r in session.exec(
            select(ManifestLotRow).where(ManifestLotRow.manifest_id == s.manifest_id)
        )
    }
    cancelled = s.status is manifest_domain.ManifestStatus.cancelled
    for lot in s.lots:
        values = {
            "site_id": s.site_id,
            "line_no": lot.line_no,
            "waste_code": lot.waste_code,
            "zone_id": lot.zone_id,
            "planned_method": s.line(lot.line_no).planned_method,
            "weight_kg": lot.weight_kg,
            "received_kg": lot.received_kg,
            "outcome": lot.outcome.value if lot.outcome else None,
            "accepted_kg": lot.accepted_kg,
            "method_code": lot.method_code,
            "completed_on": lot.completed_on,
            "returned": lot.returned,
            "cancelled": cancelled,
            "dispatched_at": s.dispatched_at,
        }
        row = existing.get(lot.lot_id)
        if row is not None and row.dispatched_at is not None:
            values["facility_id"] = row.facility_id  # it has left: from where, stays
        elif s.dispatched_at is not None:
            values["facility_id"] = zone_facility(session, lot.zone_id)  # leaving now
        else:
            values["facility_id"] = None  # still on site
        if row is None:
            session.add(ManifestLotRow(manifest_id=s.manifest_id, lot_id=lot.lot_id, **values))
        else:
            for k, v in values.items():
                if getattr(row, k) != v:
                    setattr(row, k, v)
