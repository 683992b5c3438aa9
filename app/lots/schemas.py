"""Request and response models of the lot API."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from pydantic import Field

from app.core.schemas import Instant, Schema
from app.domain.lot import DiscardLot, ExtendStorage, GenerateLot, LotStatus
from app.domain.values import (
    Container,
    ContainerCondition,
    GeneralClass,
    PhysicalForm,
    ReceiptOutcome,
    WasteKind,
)


class CommandEnvelope(Schema):
    event_id: UUID = Field(
        description="client-generated UUID; a retry with the same id is an "
        "idempotent replay returning the original result"
    )
    occurred_at: Instant | None = Field(
        default=None,
        description="when it happened (device clock, with time zone); "
        "default: now. Never in the future.",
    )


class ActionEnvelope(CommandEnvelope):
    expected_version: int = Field(ge=1, description="the lot version the client last saw")
    override_reason: str | None = Field(
        default=None,
        min_length=5,
        max_length=500,
        description="EHS manager only: let a step blocked by rule findings through, with this "
        "written reason (recorded as its own lot.rule_overridden event)",
    )


class LotGenerate(CommandEnvelope, GenerateLot):
    lot_id: UUID | None = Field(default=None, description="client-chosen lot UUID (offline)")


class LotLabel(ActionEnvelope):
    label_size_mm: int | None = Field(default=None, ge=50, le=400)
    copies: int = Field(default=1, ge=1, le=10)


class LotReprint(ActionEnvelope):
    reason: str = Field(
        min_length=1, max_length=300, description="why: damaged, lost, unreadable label..."
    )
    copies: int = Field(default=1, ge=1, le=10)


class LotWeigh(ActionEnvelope):
    weight_kg: Decimal = Field(ge=0, le=1_000_000, decimal_places=3)
    scale_id: str | None = Field(default=None, max_length=64)


class LotStore(ActionEnvelope):
    zone_id: UUID
    scanned_code: str | None = Field(
        default=None,
        max_length=64,
        description="the label code the operator scanned at storage-in (checked by R16)",
    )


class LotMove(ActionEnvelope):
    zone_id: UUID = Field(description="the zone the lot moves to")


class LotInspect(ActionEnvelope):
    condition: ContainerCondition
    notes: str | None = Field(default=None, max_length=500)


class LotRepack(ActionEnvelope):
    container: Container
    reason: str = Field(min_length=1, max_length=300)
    weight_kg: Decimal | None = Field(default=None, ge=0, le=1_000_000, decimal_places=3)


class LotCorrect(ActionEnvelope):
    corrects_event_id: UUID
    changes: dict[str, str | None]
    reason: str = Field(min_length=1, max_length=300)


class LotStorageExtension(ActionEnvelope, ExtendStorage):
    """An approval to store the lot beyond the one-year limit (延期贮存批准, 固废法 Art. 81 ¶3):
    its number, the issuing authority, its date and the day storage may run until. A later one
    replaces it (a further extension or a correction)."""


class LotDiscard(ActionEnvelope, DiscardLot):
    """An exempt lot (豁免管理清单 #24) went out with the household waste (随生活垃圾清运): the
    day and an optional note."""


class ContainerRead(Schema):
    type: str
    volume_l: Decimal
    material: str | None
    code: str | None


class LotRead(Schema):
    lot_id: UUID
    digital_id: str | None
    site_id: UUID
    status: LotStatus
    version: int
    kind: WasteKind
    name: str
    category: str
    category_name: str | None
    waste_code: str | None
    general_class: GeneralClass | None
    hazard_characteristics: list[str]
    physical_form: PhysicalForm
    container: ContainerRead
    condition: ContainerCondition
    needs_repack: bool
    weight_kg: Decimal
    weight_t: Decimal
    main_components: str | None
    harmful_components: str | None
    precautions: str | None
    remarks: str | None
    zone_id: UUID | None
    zone_code: str | None
    manifest_id: UUID | None
    label_prints: int
    generated_at: datetime
    labelled_at: datetime | None
    stored_at: datetime | None
    shipped_at: datetime | None
    received_at: datetime | None
    receipt_outcome: ReceiptOutcome | None
    accepted_weight_kg: Decimal | None
    method_code: str | None
    completed_on: date | None
    storage_limit_from: datetime | None = Field(
        description="where the one-year storage limit (固废法 Art. 81) counts from for a "
        "hazardous lot on site: storage-in at a licence holder (R32), generation at a "
        "generator (R33); null for general waste and lots that have left"
    )
    storage_limit_on: date | None = Field(
        description="the one-year storage limit's last day (China time) counted from "
        "`storage_limit_from`; an approved extension runs to `storage_extended_until`"
    )
    storage_extended_until: date | None = Field(
        description="the current storage extension's last day (延期至), if any"
    )
    storage_extension_approval_no: str | None = Field(
        description="the current storage extension's approval number (批准文号), if any"
    )
    exempt: bool = Field(
        description="exempt under 豁免管理清单 #24 (R61): 900-041-49 collected unsorted with "
        "household waste and never stored in a zone — no label, storage limit, manifest or "
        "ledger line; it leaves with the household waste (`POST …/discard`)"
    )


class EventRead(Schema):
    event_id: UUID
    position: int
    site_id: UUID
    chain_position: int
    stream_type: str
    stream_id: UUID
    version: int
    type: str
    schema_version: int
    payload: dict[str, Any]
    findings: list[dict[str, Any]]
    rule_set_version: str | None
    actor_id: UUID | None
    device_id: UUID | None
    occurred_at: datetime
    recorded_at: datetime
    prev_hash: str
    hash: str


class LotCommandResult(Schema):
    """What a lot command answers, identical on an idempotent replay."""

    event: EventRead
    lot: LotRead


class LotPage(Schema):
    items: list[LotRead]
    total: int
    limit: int
    offset: int
