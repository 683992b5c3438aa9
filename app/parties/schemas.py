"""Request and response models of the parties API (licences, vehicles, crew, contracts,
cross-province approvals, management plans)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from pydantic import Field, model_validator

from app.core.schemas import Schema
from app.domain.parties import ContractKind, CrewRole, LicenceKind, VehicleType

DG = Field(description='DG classes or divisions, e.g. ["3", "6.1", "8", "9"]')


class LicenceItemIn(Schema):
    category: str = Field(pattern=r"^HW\d{2}$", description="HW category, e.g. HW06")
    waste_codes: list[str] = Field(default=[], description="名录 codes; empty: the whole category")
    methods: list[str] = Field(min_length=1, description="R/D/C method codes, e.g. D10, R2")
    annual_capacity_t: Decimal = Field(ge=0, le=10_000_000, decimal_places=3)


class HandlerLicenceCreate(Schema):
    enterprise_id: UUID = Field(description="the handler enterprise holding the licence")
    licence_no: str = Field(min_length=3, max_length=64, description="opaque licence number")
    kind: LicenceKind = LicenceKind.comprehensive
    division_code: str = Field(pattern=r"^\d{6}$", description="facility location (GB/T 2260)")
    facility_address: str | None = Field(default=None, max_length=300)
    facility_lat: Decimal | None = Field(
        default=None, ge=-90, le=90, decimal_places=6, description="WGS-84 latitude (R49)"
    )
    facility_lon: Decimal | None = Field(
        default=None, ge=-180, le=180, decimal_places=6, description="WGS-84 longitude (R49)"
    )
    issuer: str | None = Field(default=None, max_length=100)
    valid_from: date
    valid_to: date
    items: list[LicenceItemIn] = Field(min_length=1)
    revoked: bool = False

    @model_validator(mode="after")
    def _dates(self) -> HandlerLicenceCreate:
        if self.valid_to < self.valid_from:
            raise ValueError("valid_to is before valid_from")
        return self


class HandlerLicenceUpdate(Schema):
    valid_from: date | None = None
    valid_to: date | None = None
    items: list[LicenceItemIn] | None = None
    revoked: bool | None = None
    facility_address: str | None = Field(default=None, max_length=300)
    facility_lat: Decimal | None = Field(
        default=None, ge=-90, le=90, decimal_places=6, description="WGS-84 latitude (R49)"
    )
    facility_lon: Decimal | None = Field(
        default=None, ge=-180, le=180, decimal_places=6, description="WGS-84 longitude (R49)"
    )


class HandlerLicenceRead(Schema):
    id: UUID
    enterprise_id: UUID
    licence_no: str
    holder_uscc: str
    kind: LicenceKind
    division_code: str
    facility_address: str | None
    facility_lat: Decimal | None = None
    facility_lon: Decimal | None = None
    issuer: str | None
    valid_from: date
    valid_to: date
    items: list[dict[str, Any]]
    revoked: bool
    created_at: datetime
    updated_at: datetime


class CarrierLicenceCreate(Schema):
    enterprise_id: UUID
    licence_no: str = Field(min_length=3, max_length=64, description="道路运输经营许可证号")
    dg_classes: list[str] = DG
    valid_from: date
    valid_to: date


class CarrierLicenceUpdate(Schema):
    dg_classes: list[str] | None = None
    valid_from: date | None = None
    valid_to: date | None = None


class CarrierLicenceRead(CarrierLicenceCreate):
    id: UUID
    created_at: datetime
    updated_at: datetime


class VehicleCreate(Schema):
    enterprise_id: UUID
    plate: str = Field(min_length=5, max_length=16)
    transport_cert_no: str = Field(min_length=3, max_length=64, description="道路运输证号")
    vehicle_type: VehicleType = VehicleType.dg_van
    dg_classes: list[str] = DG
    valid_to: date
    gps_terminal_id: str | None = Field(default=None, max_length=64)


class VehicleUpdate(Schema):
    transport_cert_no: str | None = Field(default=None, max_length=64)
    vehicle_type: VehicleType | None = None
    dg_classes: list[str] | None = None
    valid_to: date | None = None
    gps_terminal_id: str | None = Field(default=None, max_length=64)


class VehicleRead(VehicleCreate):
    id: UUID
    created_at: datetime
    updated_at: datetime


class CrewCreate(Schema):
    enterprise_id: UUID
    name: str = Field(min_length=1, max_length=100)
    role: CrewRole
    qualification_no: str = Field(min_length=3, max_length=64, description="从业资格证号")
    valid_to: date
    phone: str | None = Field(default=None, max_length=40)


class CrewUpdate(Schema):
    qualification_no: str | None = Field(default=None, max_length=64)
    valid_to: date | None = None
    phone: str | None = Field(default=None, max_length=40)


class CrewRead(CrewCreate):
    id: UUID
    created_at: datetime
    updated_at: datetime


class ContractCreate(Schema):
    consignor_enterprise_id: UUID
    counterparty_enterprise_id: UUID
    kind: ContractKind
    contract_no: str = Field(min_length=1, max_length=64)
    valid_from: date
    valid_to: date


class ContractUpdate(Schema):
    valid_from: date | None = None
    valid_to: date | None = None


class ContractRead(ContractCreate):
    id: UUID
    created_at: datetime
    updated_at: datetime


class ApprovalCreate(Schema):
    approval_no: str = Field(min_length=3, max_length=64)
    consignor_enterprise_id: UUID
    receiver_enterprise_id: UUID
    waste_codes: list[str] = Field(min_length=1)
    methods: list[str] = Field(min_length=1)
    quantity_t: Decimal = Field(gt=0, le=10_000_000, decimal_places=3)
    approved_on: date
    requested_to: date


class ApprovalUpdate(Schema):
    quantity_t: Decimal | None = Field(default=None, gt=0, decimal_places=3)
    requested_to: date | None = None


class ApprovalRead(ApprovalCreate):
    id: UUID
    created_at: datetime
    updated_at: datetime


class PlanItemIn(Schema):
    waste_code: str = Field(max_length=12)
    handler_enterprise_id: UUID | None = None
    method: str | None = Field(default=None, max_length=8)
    planned_t: Decimal = Field(ge=0, decimal_places=3)


class PlanCreate(Schema):
    site_id: UUID
    year: int = Field(ge=2000, le=2100)
    filing_no: str | None = Field(default=None, max_length=64, description="备案编号")
    filed_on: date | None = None
    items: list[PlanItemIn] = []


class PlanUpdate(Schema):
    filing_no: str | None = Field(default=None, max_length=64)
    filed_on: date | None = None
    items: list[PlanItemIn] | None = None


class PlanRead(Schema):
    id: UUID
    site_id: UUID
    year: int
    filing_no: str | None
    filed_on: date | None
    items: list[dict[str, Any]]
    created_at: datetime
    updated_at: datetime


class PartyChangeRead(Schema):
    id: int
    entity: str
    entity_id: UUID
    action: str
    actor_id: UUID | None
    at: datetime
    data: dict[str, Any]
