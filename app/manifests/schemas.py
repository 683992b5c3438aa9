"""Request and response models of the manifest API."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from pydantic import ConfigDict, Field

from app.core.schemas import Instant, Schema
from app.domain.manifest import (
    HandoverStep,
    Latitude,
    Longitude,
    ManifestState,
    ManifestStatus,
    Mismatch,
    Party,
    TrackPoint,
)
from app.domain.values import ReceiptOutcome
from app.lots.schemas import CommandEnvelope, EventRead


class Action(CommandEnvelope):
    expected_version: int = Field(ge=1, description="the manifest version the client last saw")


class LineIn(Schema):
    waste_code: str = Field(max_length=12)
    lot_ids: list[UUID] = Field(min_length=1, max_length=2000)
    planned_method: str = Field(max_length=8, description="拟利用/处置方式代码, e.g. D10")
    name: str | None = Field(default=None, max_length=200, description="default: the lots' name")
    packaging: str | None = Field(default=None, max_length=100, description="default: derived")
    un_number: str | None = Field(default=None, pattern=r"^UN\d{4}$")
    dg_class: str | None = Field(default=None, max_length=4, description="e.g. 3, 6.1, 8, 9")


class PaperFallbackIn(Schema):
    paper_number: str = Field(
        min_length=1, max_length=40, description="the paper manifest's number"
    )
    completed_on: date = Field(description="the day the transfer was completed on paper")
    reason: str = Field(min_length=2, max_length=300, description="why the system was not used")


class ManifestCreate(CommandEnvelope):
    manifest_id: UUID | None = Field(default=None, description="client-chosen UUID (offline)")
    site_id: UUID = Field(description="the consignor (移出人) site")
    handler_enterprise_id: UUID
    handler_licence_id: UUID | None = Field(
        default=None, description="default: the handler's licence valid on planned_date"
    )
    carrier_enterprise_id: UUID
    transfer_approval_id: UUID | None = None
    planned_date: date
    shipper: Party = Field(default=Party.consignor, description="托运人: consignor or handler")
    emergency_measures: str = Field(min_length=2, max_length=1000)
    contact_phone: str | None = Field(default=None, max_length=40)
    route: str | None = Field(default=None, max_length=300)
    remarks: str | None = Field(default=None, max_length=500)
    lines: list[LineIn] = Field(min_length=1, max_length=50)
    forwarded_from: UUID | None = Field(
        default=None, description="a manifest whose rejected lots this one carries on"
    )
    paper: PaperFallbackIn | None = Field(
        default=None,
        description="back-entry of a transfer run on a paper manifest (R53: within 10 working "
        "days of its completion); give each step's occurred_at as it happened",
    )


class ManifestLoad(Action):
    scanned: list[str] = Field(
        default=[],
        max_length=2000,
        description="the label codes scanned at the vehicle (empty: the handhelds' scans)",
    )
    vehicle_id: UUID
    driver_id: UUID
    escort_id: UUID
    dg_waybill_no: str | None = Field(default=None, max_length=64, description="危险货物运单号")
    passengers: int = Field(default=0, ge=0, le=50)


class LotStep(CommandEnvelope):
    """A per-lot step taken by a handheld: `expected_version` is the *lot's* version."""

    lot_id: UUID
    expected_version: int = Field(ge=1, description="the lot version the device last saw")
    manifest_id: UUID | None = Field(default=None, description="default: the lot's manifest")
    manifest_number: str | None = Field(default=None, max_length=64)


class LotLoadScan(LotStep):
    vehicle_plate: str | None = Field(default=None, max_length=20)


class LotCheckIn(LotStep):
    received_weight_kg: Decimal = Field(ge=0, le=1_000_000, decimal_places=3)
    outcome: ReceiptOutcome = ReceiptOutcome.accepted
    accepted_weight_kg: Decimal | None = Field(default=None, ge=0, decimal_places=3)
    mismatches: list[Mismatch] = Field(
        default=[], description="weight, name, characteristics, form or packaging found different"
    )


class ManifestSign(Action):
    step: HandoverStep
    code: str | None = Field(
        default=None,
        max_length=200,
        description="a counterpart's one-time code (or the scanned QR payload); without it "
        "the signed-in user signs for their own party",
    )


class HandoverAction(Action):
    counterpart_code: str | None = Field(
        default=None,
        max_length=200,
        description="the other party's one-time code / QR payload, if it has not signed yet",
    )


class ReceivedLotIn(Schema):
    lot_id: UUID
    received_kg: Decimal = Field(ge=0, le=1_000_000, decimal_places=3)
    mismatches: list[Mismatch] = Field(
        default=[], description="name, characteristics, form or packaging found different"
    )


class ManifestReceive(HandoverAction):
    lots: list[ReceivedLotIn] = Field(
        default=[],
        max_length=2000,
        description="each lot's weight at the handler (a lot left out: its handheld check-in)",
    )
    method_codes: dict[int, str] = Field(
        default={}, description="line_no -> method the handler will apply (default: planned)"
    )
    notes: str | None = Field(default=None, max_length=1000)


class LotDecisionIn(Schema):
    lot_id: UUID
    outcome: ReceiptOutcome
    accepted_kg: Decimal | None = Field(default=None, ge=0, decimal_places=3)
    method_code: str | None = Field(default=None, max_length=8)


class ManifestConfirm(Action):
    lots: list[LotDecisionIn] = Field(min_length=1, max_length=2000)
    consignor_notified_at: Instant | None = None
    eeb_report_ref: str | None = Field(default=None, max_length=100)
    notes: str | None = Field(default=None, max_length=1000)


class ManifestReturn(Action):
    lot_ids: list[UUID] = Field(min_length=1, max_length=2000)
    zone_id: UUID = Field(description="the consignor's zone the lots go back into")
    reason: str = Field(min_length=2, max_length=300)


class CompletedLotIn(Schema):
    lot_id: UUID
    method_code: str = Field(max_length=8)
    completed_on: date


class ManifestDispose(Action):
    lots: list[CompletedLotIn] = Field(min_length=1, max_length=2000)


class TrackPointIn(Schema):
    at: Instant = Field(description="time of the fix, with its offset")
    lat: Latitude = Field(description="WGS-84 latitude, degrees (kept to 6 places)")
    lon: Longitude = Field(description="WGS-84 longitude, degrees (kept to 6 places)")


class ManifestTrack(Action):
    """GPS fixes of the trip, from the vehicle's terminal or the carrier's platform."""

    points: list[TrackPointIn] = Field(
        min_length=1, max_length=5000, description="fixes {at, lat, lon} in WGS-84 degrees"
    )
    terminal_id: str | None = Field(
        default=None,
        max_length=64,
        description="the GPS terminal (车载卫星定位终端) that sent them",
    )


class TrackRead(Schema):
    """The trip's track: every fix uploaded, and where it ends against the receiver's gate."""

    manifest_id: UUID
    points: list[TrackPoint]
    terminal_ids: list[str]
    facility_lat: Decimal | None
    facility_lon: Decimal | None
    end_distance_m: int | None = Field(description="last fix to the receiver's facility")
    geofence_m: int
    within_geofence: bool | None


class ManifestCancel(Action):
    reason: str = Field(min_length=2, max_length=300)


class CorrectionRequest(Action):
    changes: dict[str, Any] = Field(min_length=1)
    reason: str = Field(min_length=2, max_length=300)


class CorrectionDecision(Action):
    approve: bool
    note: str | None = Field(default=None, max_length=300)


class ChallengeCreate(Schema):
    step: HandoverStep
    ttl_minutes: int = Field(default=15, ge=1, le=240)


class ChallengeRead(Schema):
    challenge_id: UUID
    manifest_id: UUID
    step: HandoverStep
    party: Party
    code: str = Field(description="8 digits: read it out or show it; valid once")
    qr_payload: str = Field(description="the same, as a QR payload for the other device")
    expires_at: datetime


class ManifestRead(ManifestState):
    model_config = ConfigDict(frozen=True, extra="ignore")

    viewer_party: str | None = None
    total_weight_kg: Decimal = Decimal(0)
    receipt_due_on: date | None = None
    handler_name: str | None = None
    carrier_name: str | None = None
    licence_no: str | None = None


class ManifestCommandResult(Schema):
    event: EventRead
    manifest: ManifestRead
    findings: list[dict[str, Any]] = []


class ManifestSummary(Schema):
    manifest_id: UUID
    number: str
    site_id: UUID
    handler_enterprise_id: UUID
    carrier_enterprise_id: UUID
    status: ManifestStatus
    version: int
    planned_date: date
    total_kg: Decimal
    lot_count: int
    discrepancy_open: bool
    pending_corrections: int
    created_at: datetime
    dispatched_at: datetime | None
    received_at: datetime | None
    closed_at: datetime | None


class ManifestPage(Schema):
    items: list[ManifestSummary]
    total: int
    limit: int
    offset: int


class ManifestAlert(Schema):
    manifest_id: UUID
    number: str
    rule_id: str
    severity: str
    message_zh: str
    message_en: str
    due_on: date | None = None
    citation: dict[str, Any] | None = Field(
        default=None, description="the rule's document, clause and confidence (none: not a rule)"
    )
