"""Request and response models of the zone API."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from uuid import UUID

from pydantic import AwareDatetime, Field

from app.core.schemas import Schema
from app.domain.values import WasteKind
from app.domain.zone import RegisterZone


class ZoneCreate(RegisterZone):
    event_id: UUID
    occurred_at: AwareDatetime | None = None


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
    capacity_kg: Decimal | None
    capacity_l: Decimal | None
    created_at: datetime
    lot_count: int = 0
    weight_kg: Decimal = Field(default=Decimal(0))
    volume_l: Decimal = Field(default=Decimal(0))
    inventory: list[InventoryLine] = []
