"""Master data of the transfer parties: plain tables, every change audited in `party_change`.

The rules read them through `app.parties.service` as the pure values of `app.domain.parties`.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core.db import BigIntPK, UTCDateTime


def _ent_fk() -> sa.Column[Any]:
    return sa.Column(sa.Uuid(), sa.ForeignKey("enterprise.id"), nullable=False, index=True)


class HandlerLicenceRow(SQLModel, table=True):
    """危险废物经营许可证 (许可证办法 Art. 10): number kept as an opaque string."""

    __tablename__ = "handler_licence"

    id: UUID = Field(sa_column=sa.Column(sa.Uuid(), primary_key=True))
    enterprise_id: UUID = Field(sa_column=_ent_fk())
    licence_no: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, unique=True))
    holder_uscc: str = Field(sa_column=sa.Column(sa.String(18), nullable=False))
    kind: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    division_code: str = Field(sa_column=sa.Column(sa.String(6), nullable=False))
    facility_address: str | None = Field(default=None, sa_column=sa.Column(sa.String(300)))
    facility_lat: Decimal | None = Field(default=None, sa_column=sa.Column(sa.Numeric(9, 6)))
    facility_lon: Decimal | None = Field(default=None, sa_column=sa.Column(sa.Numeric(10, 6)))
    issuer: str | None = Field(default=None, sa_column=sa.Column(sa.String(100)))
    valid_from: date = Field(sa_column=sa.Column(sa.Date(), nullable=False))
    valid_to: date = Field(sa_column=sa.Column(sa.Date(), nullable=False))
    # [{category, waste_codes[], methods[], annual_capacity_t}]
    items: list[dict[str, Any]] = Field(sa_column=sa.Column(sa.JSON(), nullable=False))
    revoked: bool = Field(sa_column=sa.Column(sa.Boolean(), nullable=False))
    created_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))


class CarrierLicenceRow(SQLModel, table=True):
    """道路运输经营许可证 with its DG scope (classes / divisions)."""

    __tablename__ = "carrier_licence"

    id: UUID = Field(sa_column=sa.Column(sa.Uuid(), primary_key=True))
    enterprise_id: UUID = Field(sa_column=_ent_fk())
    licence_no: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, unique=True))
    dg_classes: list[str] = Field(sa_column=sa.Column(sa.JSON(), nullable=False))
    valid_from: date = Field(sa_column=sa.Column(sa.Date(), nullable=False))
    valid_to: date = Field(sa_column=sa.Column(sa.Date(), nullable=False))
    created_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))


class VehicleRow(SQLModel, table=True):
    __tablename__ = "vehicle"

    id: UUID = Field(sa_column=sa.Column(sa.Uuid(), primary_key=True))
    enterprise_id: UUID = Field(sa_column=_ent_fk())
    plate: str = Field(sa_column=sa.Column(sa.String(16), nullable=False, unique=True))
    transport_cert_no: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    vehicle_type: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    dg_classes: list[str] = Field(sa_column=sa.Column(sa.JSON(), nullable=False))
    valid_to: date = Field(sa_column=sa.Column(sa.Date(), nullable=False))
    gps_terminal_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(64)))
    created_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))


class CrewRow(SQLModel, table=True):
    """Drivers and escorts (押运人员) with their 从业资格证."""

    __tablename__ = "crew_member"

    id: UUID = Field(sa_column=sa.Column(sa.Uuid(), primary_key=True))
    enterprise_id: UUID = Field(sa_column=_ent_fk())
    name: str = Field(sa_column=sa.Column(sa.String(100), nullable=False))
    role: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    qualification_no: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    valid_to: date = Field(sa_column=sa.Column(sa.Date(), nullable=False))
    phone: str | None = Field(default=None, sa_column=sa.Column(sa.String(40)))
    created_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))


class ContractRow(SQLModel, table=True):
    """A written contract of the consignor with a carrier or a handler (Art. 10(1))."""

    __tablename__ = "transfer_contract"

    id: UUID = Field(sa_column=sa.Column(sa.Uuid(), primary_key=True))
    consignor_enterprise_id: UUID = Field(sa_column=_ent_fk())
    counterparty_enterprise_id: UUID = Field(
        sa_column=sa.Column(sa.Uuid(), sa.ForeignKey("enterprise.id"), nullable=False)
    )
    kind: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    contract_no: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    valid_from: date = Field(sa_column=sa.Column(sa.Date(), nullable=False))
    valid_to: date = Field(sa_column=sa.Column(sa.Date(), nullable=False))
    created_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))


class TransferApprovalRow(SQLModel, table=True):
    """A cross-province transfer approval (Arts. 21, 27)."""

    __tablename__ = "transfer_approval"

    id: UUID = Field(sa_column=sa.Column(sa.Uuid(), primary_key=True))
    approval_no: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, unique=True))
    consignor_enterprise_id: UUID = Field(sa_column=_ent_fk())
    receiver_enterprise_id: UUID = Field(
        sa_column=sa.Column(sa.Uuid(), sa.ForeignKey("enterprise.id"), nullable=False)
    )
    waste_codes: list[str] = Field(sa_column=sa.Column(sa.JSON(), nullable=False))
    methods: list[str] = Field(sa_column=sa.Column(sa.JSON(), nullable=False))
    quantity_t: Decimal = Field(sa_column=sa.Column(sa.Numeric(14, 3), nullable=False))
    approved_on: date = Field(sa_column=sa.Column(sa.Date(), nullable=False))
    requested_to: date = Field(sa_column=sa.Column(sa.Date(), nullable=False))
    created_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))


class ManagementPlanRow(SQLModel, table=True):
    """A site's annual HW management plan (HJ 1259 §5): its filing and transfer section."""

    __tablename__ = "management_plan"
    __table_args__ = (sa.UniqueConstraint("site_id", "year"),)

    id: UUID = Field(sa_column=sa.Column(sa.Uuid(), primary_key=True))
    site_id: UUID = Field(
        sa_column=sa.Column(sa.Uuid(), sa.ForeignKey("site.id"), nullable=False, index=True)
    )
    year: int = Field(sa_column=sa.Column(sa.Integer(), nullable=False))
    filing_no: str | None = Field(default=None, sa_column=sa.Column(sa.String(64)))
    filed_on: date | None = Field(default=None, sa_column=sa.Column(sa.Date()))
    # [{waste_code, handler_enterprise_id, method, planned_t}]
    items: list[dict[str, Any]] = Field(sa_column=sa.Column(sa.JSON(), nullable=False))
    created_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))


class PartyChange(SQLModel, table=True):
    """Audit trail of the master data, parties and identity (enterprises, sites, users,
    devices): who changed what, when, and the values after (`app.audit.changes` writes it).
    Append-only: the database refuses UPDATE and DELETE (migration e8b2c6d1f0a3). Hash-chained
    in `id` order (`prev_hash` → `hash`, `app.audit.changes.change_hash`), so a row altered,
    removed or slipped in with the triggers dropped shows at verification."""

    __tablename__ = "party_change"

    id: int | None = Field(
        default=None, sa_column=sa.Column(BigIntPK, primary_key=True, autoincrement=True)
    )
    entity: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    entity_id: UUID = Field(sa_column=sa.Column(sa.Uuid(), nullable=False, index=True))
    action: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    actor_id: UUID | None = Field(default=None, sa_column=sa.Column(sa.Uuid()))
    at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False, index=True))
    data: dict[str, Any] = Field(sa_column=sa.Column(sa.JSON(), nullable=False))
    prev_hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
