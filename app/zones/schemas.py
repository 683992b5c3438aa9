"""Request and response models of the facility and zone API."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from uuid import UUID

from pydantic import Field

from app.core.schemas import Instant, Schema
from app.domain.values import WasteKind
from app.domain.zone import (
    ConfigureZone,
    FacilityAudit,
    FacilityType,
    InspectionItem,
    RegisterFacility,
    RegisterZone,
)


class Envelope(Schema):
    event_id: UUID
    occurred_at: Instant | None = None


class FacilityCreate(RegisterFacility):
    event_id: UUID
    occurred_at: Instant | None = None


class FacilityUpdate(FacilityAudit):
    event_id: UUID
    expected_version: int = Field(ge=1)
    occurred_at: Instant | None = None


class FacilityRead(Schema):
    facility_id: UUID
    site_id: UUID
    version: int
    code: str
    name: str
    type: FacilityType
    type_zh: str
    kind: WasteKind
    surface_antiseepage: bool | None
    direct_ground_contact: bool | None
    base_liner: str | None
    liner_thickness_mm: Decimal | None
    liner_permeability_cm_s: float | None
    audit_findings: list[dict[str, object]] = Field(
        default=[], description="GB 18597 6.1.4 anti-seepage warnings (rule R22)"
    )


class ZoneCreate(RegisterZone):
    event_id: UUID
    occurred_at: Instant | None = None


class ZoneUpdate(ConfigureZone):
    event_id: UUID
    expected_version: int = Field(ge=1)
    occurred_at: Instant | None = None


class ZoneInspect(Schema):
    event_id: UUID
    occurred_at: Instant | None = None
    items: list[InspectionItem] = Field(
        default=[], max_length=2000, description="the condition of each container seen"
    )
    notes: str | None = Field(default=None, max_length=500)


class InventoryLine(Schema):
    category: str
    lot_count: int
    weight_kg: Decimal
    volume_l: Decimal


class ZoneRead(Schema):
    zone_id: UUID
    site_id: UUID
    version: int
    code: str
    name: str
    kind: WasteKind
    facility_id: UUID | None
    facility_type: FacilityType | None
    capacity_kg: Decimal | None
    capacity_l: Decimal | None
    allowed_categories: list[str]
    allowed_codes: list[str]
    containment_l: Decimal | None
    gas_collection: bool
    explosion_rated: bool
    inspection_interval_days: int | None
    last_inspected_at: datetime | None
    created_at: datetime
    lot_count: int = 0
    weight_kg: Decimal = Field(default=Decimal(0))
    volume_l: Decimal = Field(default=Decimal(0))
    liquid_l: Decimal = Field(default=Decimal(0))
    inventory: list[InventoryLine] = []


class InspectionRead(Schema):
    zone: ZoneRead
    lots_needing_repack: list[UUID]
    events: int
