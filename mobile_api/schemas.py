"""Handheld payloads: compact, with a client `event_id`, the device clock and the version seen.

One action model serves both `POST /mobile/v1/actions` (online, one at a time) and the items of
`POST /mobile/v1/sync` (the offline queue), so a queued action is byte for byte what the device
would have sent online.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

from pydantic import Field, SkipValidation, model_validator

from app.core.schemas import Instant, Schema
from app.domain.lot import GenerateLot, LotStatus
from app.domain.manifest import Mismatch
from app.domain.values import Container, ContainerCondition, ReceiptOutcome
from app.domain.zone import InspectionItem

# ---------------------------------------------------------------- devices and sign-in


class DeviceEnrol(Schema):
    site_id: UUID
    name: str = Field(min_length=1, max_length=100, description="e.g. 'PDA-07 危废库'")


class DeviceRead(Schema):
    device_id: UUID
    site_id: UUID
    name: str
    enrolled_at: datetime
    revoked_at: datetime | None


class DeviceEnrolled(DeviceRead):
    device_token: str = Field(description="the device's enrolment token: shown once, keep it")
    expires_in: int


class SignIn(Schema):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=200)


class ZoneBrief(Schema):
    zone_id: UUID
    code: str
    name: str
    kind: str


class UserBrief(Schema):
    user_id: UUID
    username: str
    role: str


class SiteBrief(Schema):
    site_id: UUID
    code: str
    name: str


class DeviceContext(Schema):
    """Who is signed in on which device at which site, and the site's zones (so the handheld
    can tell a zone code from a lot code while offline)."""

    user: UserBrief
    device: DeviceRead
    site: SiteBrief
    zones: list[ZoneBrief]
    max_batch: int
    manifests_available: bool


class SessionRead(DeviceContext):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


# ---------------------------------------------------------------- scan


class FindingRead(Schema):
    rule_id: str
    severity: str
    message_zh: str
    message_en: str
    citation: str = Field(description="document and clause, e.g. 'GB 18597-2023 6.1.2'")
    text_zh: str = Field(description="the finding in plain words, with its source")


class ContainerBrief(Schema):
    type: str
    volume_l: Decimal


class LotBrief(Schema):
    lot_id: UUID
    digital_id: str | None
    status: LotStatus
    status_zh: str
    version: int
    name: str
    category: str
    waste_code: str | None
    hazard_characteristics: list[str]
    physical_form: str
    container: ContainerBrief
    condition: ContainerCondition
    needs_repack: bool
    weight_kg: Decimal
    zone_id: UUID | None
    zone_code: str | None
    manifest_id: UUID | None
    label_url: str | None = Field(description="the HJ 1276 label PDF (device token)")
    exempt: bool = Field(
        default=False,
        description="exempt under 豁免管理清单 #24 (R61): it may go out with the household waste",
    )


class ZoneSummary(ZoneBrief):
    version: int
    lot_count: int
    weight_kg: Decimal
    capacity_kg: Decimal | None


class NextAction(Schema):
    """One thing the operator may (or may not) do next, checked against the rules now."""

    action: str
    label_zh: str
    allowed: bool
    needs: list[str] = Field(
        default=[], description="what must be scanned or entered first: zone, manifest, input"
    )
    reason: str | None = None
    reason_zh: str | None = None
    overridable: bool = False
    findings: list[FindingRead] = []
    zone_id: UUID | None = Field(default=None, description="store/move: the zone checked")
    zone_code: str | None = None


class ScanResult(Schema):
    kind: Literal["lot", "zone", "manifest"]
    code: str = Field(description="the scanned code after cleaning")
    lot: LotBrief | None = None
    zone: ZoneSummary | None = None
    manifest: dict[str, object] | None = None
    actions: list[NextAction]


# ---------------------------------------------------------------- actions


class _Item(Schema):
    event_id: UUID = Field(description="client UUID; a retry with it is a replay, never twice")
    occurred_at: Instant = Field(description="device clock, with time zone; not future")
    depends_on: list[UUID] = Field(
        default=[],
        max_length=50,
        description="sync: event ids of earlier items this one needs (items on the same lot "
        "depend on each other anyway)",
    )


class _LotItem(_Item):
    lot_id: UUID
    expected_version: int = Field(ge=1, description="the lot version the device last saw")
    override_reason: str | None = Field(default=None, min_length=5, max_length=500)


class _ZoneTarget(Schema):
    zone_id: UUID | None = None
    zone_code: str | None = Field(default=None, max_length=32, description="the scanned zone")

    @model_validator(mode="after")
    def _one_zone(self) -> _ZoneTarget:
        if (self.zone_id is None) == (self.zone_code is None):
            raise ValueError("give zone_id or zone_code (exactly one)")
        return self


class GenerateItem(_Item, GenerateLot):
    action: Literal["generate"]
    site_id: UUID | None = Field(default=None, description="default: the device's site")  # type: ignore[assignment]
    lot_id: UUID | None = Field(
        default=None, description="client-chosen lot UUID, so later queued items can name it"
    )


class LabelItem(_LotItem):
    action: Literal["label"]
    label_size_mm: int | None = Field(default=None, ge=50, le=400)
    copies: int = Field(default=1, ge=1, le=10)


class WeighItem(_LotItem):
    action: Literal["weigh"]
    weight_kg: Decimal = Field(ge=0, le=1_000_000, decimal_places=3)
    scale_id: str | None = Field(default=None, max_length=64)


class StoreItem(_LotItem, _ZoneTarget):
    action: Literal["store"]
    scanned_code: str | None = Field(default=None, max_length=64)


class MoveItem(_LotItem, _ZoneTarget):
    action: Literal["move"]


class InspectItem(_LotItem):
    action: Literal["inspect"]
    condition: ContainerCondition
    notes: str | None = Field(default=None, max_length=500)


class RepackItem(_LotItem):
    action: Literal["repack"]
    container: Container
    reason: str = Field(min_length=1, max_length=300)
    weight_kg: Decimal | None = Field(default=None, ge=0, le=1_000_000, decimal_places=3)


class InspectZoneItem(_Item, _ZoneTarget):
    action: Literal["inspect_zone"]
    items: list[InspectionItem] = Field(default=[], max_length=2000)
    notes: str | None = Field(default=None, max_length=500)


class _ManifestTarget(Schema):
    manifest_id: UUID | None = None
    manifest_number: str | None = Field(default=None, max_length=64)


class LoadItem(_LotItem, _ManifestTarget):
    """The loading scan of a lot at the vehicle of its manifest (default: the lot's own)."""

    action: Literal["load"]
    vehicle_plate: str | None = Field(default=None, max_length=20)


class ReceiveItem(_LotItem, _ManifestTarget):
    """The handler's check-in of a lot on arrival: its weight and the proposed outcome."""

    action: Literal["receive"]
    outcome: ReceiptOutcome = ReceiptOutcome.accepted
    received_weight_kg: Decimal = Field(ge=0, le=1_000_000, decimal_places=3)
    accepted_weight_kg: Decimal | None = Field(default=None, ge=0, le=1_000_000, decimal_places=3)
    mismatches: list[Mismatch] = Field(
        default=[],
        description="what was found different (needed to accept less than in full)",
    )


class DiscardItem(_LotItem):
    """An exempt lot (豁免管理清单 #24, R61) went out with the household waste (随生活垃圾清运)."""

    action: Literal["discard"]
    discarded_on: date | None = Field(
        default=None, description="清运日期; default: the China date of occurred_at"
    )
    note: str | None = Field(default=None, max_length=500)


MobileAction = Annotated[
    GenerateItem
    | LabelItem
    | WeighItem
    | StoreItem
    | MoveItem
    | InspectItem
    | RepackItem
    | InspectZoneItem
    | LoadItem
    | ReceiveItem
    | DiscardItem,
    Field(discriminator="action"),
]

ItemStatus = Literal["accepted", "duplicate", "conflict", "rejected", "blocked"]


class FieldError(Schema):
    """One offending field, as in the `fields` of a 422 answer."""

    loc: list[str | int]
    msg: str
    type: str


class ItemResult(Schema):
    """The answer to one action. `accepted`: recorded now; `duplicate`: recorded before (the
    original result); `conflict`: the lot moved on (`current` is its state now); `rejected`:
    refused (`error`, `findings`; a malformed sync item: `validation_error` and `fields`);
    `blocked`: not tried because an item it needs failed."""

    event_id: UUID | str | None = Field(
        description="the item's event id; for a sync item whose event_id is not a UUID, what "
        "was sent (as text), or null when it was missing"
    )
    action: str
    status: ItemStatus
    index: int | None = Field(default=None, description="sync: the item's place in the batch")
    late: bool = Field(default=False, description="recorded long after it happened")
    lot: LotBrief | None = None
    zone: ZoneBrief | None = None
    version: int | None = Field(default=None, description="the stream version after the step")
    position: int | None = Field(default=None, description="the event's position in the log")
    label_url: str | None = None
    error: str | None = None
    detail: str | None = None
    detail_zh: str | None = None
    findings: list[FindingRead] = []
    fields: list[FieldError] = Field(
        default=[], description="a malformed sync item: the offending fields and why"
    )
    current: LotBrief | None = None
    blocked_by: UUID | None = None


class SyncRequest(Schema):
    # Items are documented as actions but checked one by one (`mobile_api.sync`): a malformed
    # item is answered `rejected` with its fields, and the rest of the batch goes on.
    items: list[SkipValidation[MobileAction]] = Field(
        min_length=1,
        description="in the order they happened; each item is checked on its own: a malformed "
        "one is answered `rejected` (`validation_error`, `fields`) and the others go on",
    )


class SyncResult(Schema):
    results: list[ItemResult]
    accepted: int
    duplicate: int
    conflict: int
    rejected: int
    blocked: int
