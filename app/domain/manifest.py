"""The transfer manifest (转移联单) aggregate: events, state, `evolve` and the deciders.

Lifecycle (转移管理办法 Arts. 10-18):

    draft -> submitted -> loaded -> in_transit -> received -> disposed -> closed
      \\________\\__ cancelled (before loading)

* draft: the consignor (移出人) names the handler, carrier, lines and lots; lots are allocated.
* submitted: the transfer rules passed (licence, capacity, contracts, approval, plan).
* loaded: every lot scanned at the vehicle and the crew checked (R37, R44, R45, R48).
* in_transit: consignor and carrier signed the handover; lots shipped.
* received: carrier and handler signed the handover; the handler weighed each lot. A
  discrepancy (weight beyond the tolerance, other name / form / packaging / characteristics)
  stays open until the handler resolves it (accept, partly accept, reject). Without one the
  receipt is confirmed at once.
* disposed: every accepted lot has its method code and completion date; rejected lots have
  gone back to the consignor (or on to another handler on a new manifest).
* closed: the consignor has the disposal result (Art. 10(5)).

Corrections after a signature are requested by one party and approved by another; the
original values stay in the request (and the log).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from app.domain import events as ev
from app.domain.errors import InvalidInput, InvalidTransition
from app.domain.values import Quantity, ReceiptOutcome


class ManifestStatus(StrEnum):
    draft = "draft"
    submitted = "submitted"
    loaded = "loaded"
    in_transit = "in_transit"
    received = "received"
    disposed = "disposed"
    closed = "closed"
    cancelled = "cancelled"


class Party(StrEnum):
    consignor = "consignor"  # 移出人
    carrier = "carrier"  # 承运人
    handler = "handler"  # 接受人


class HandoverStep(StrEnum):
    dispatch = "dispatch"  # consignor -> carrier
    receipt = "receipt"  # carrier -> handler


HANDOVER_PARTIES = {
    HandoverStep.dispatch: (Party.consignor, Party.carrier),
    HandoverStep.receipt: (Party.carrier, Party.handler),
}
# the status in which each handover is open: signed, and its one-time codes issued
HANDOVER_STATUS = {
    HandoverStep.dispatch: ManifestStatus.loaded,
    HandoverStep.receipt: ManifestStatus.in_transit,
}


class SignatureMethod(StrEnum):
    session = "session"  # a signed-in user of the party
    one_time_code = "one_time_code"  # a code / QR challenge issued to the party


class Mismatch(StrEnum):
    """What the handler found different from the manifest (Art. 18 ¶2)."""

    weight = "weight"
    name = "name"
    characteristics = "characteristics"
    form = "form"
    packaging = "packaging"


# Fields a correction may change (descriptive; custody steps change through their own events).
CORRECTABLE = {
    "emergency_measures",
    "dg_waybill_no",
    "route",
    "remarks",
    "contact_phone",
    "planned_date",
}

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class ManifestLine(BaseModel):
    model_config = _FROZEN

    line_no: int
    waste_code: str
    category: str
    name: str
    hazard_characteristics: list[str] = []
    physical_form: str
    harmful_components: str | None = None
    packaging: str  # 包装方式
    planned_method: str  # 拟利用/处置方式代码
    un_number: str | None = None
    dg_class: str | None = None


class ManifestLot(BaseModel):
    model_config = _FROZEN

    lot_id: UUID
    line_no: int
    digital_id: str | None
    name: str
    waste_code: str
    weight_kg: Quantity
    container_type: str
    zone_id: UUID | None = None
    loaded: bool = False
    received_kg: Quantity | None = None
    mismatches: list[Mismatch] = []
    outcome: ReceiptOutcome | None = None
    accepted_kg: Quantity | None = None
    method_code: str | None = None
    completed_on: date | None = None
    returned: bool = False
    # per-lot handheld steps: the loading scan, and the check-in weighing at the handler
    scanned_at: datetime | None = None
    vehicle_plate: str | None = None
    checked_in_at: datetime | None = None
    checked_in_kg: Quantity | None = None
    checked_in_mismatches: list[Mismatch] = []
    proposed_outcome: ReceiptOutcome | None = None
    proposed_accepted_kg: Quantity | None = None


class Signature(BaseModel):
    model_config = _FROZEN

    step: HandoverStep
    party: Party
    enterprise_id: UUID
    signer_user_id: UUID | None
    signer_name: str
    method: SignatureMethod
    challenge_id: UUID | None = None
    signed_at: datetime


class Correction(BaseModel):
    model_config = _FROZEN

    correction_id: UUID
    requested_by: Party
    changes: dict[str, Any]
    original: dict[str, Any]
    reason: str
    status: str = "pending"  # pending | approved | rejected
    decided_by: Party | None = None
    note: str | None = None


class Discrepancy(BaseModel):
    model_config = _FROZEN

    opened_at: datetime
    lot_ids: list[UUID]
    notes: str | None = None
    resolved_at: datetime | None = None
    decision: str | None = None  # accepted | partly_accepted | rejected | mixed
    consignor_notified_at: datetime | None = None
    eeb_report_ref: str | None = None  # report to the receiving-area EEB


def _micro_degrees(v: Decimal) -> Decimal:
    return v.quantize(Decimal("0.000001"))  # about 0.1 m: finer fixes are noise


class PaperFallback(BaseModel):
    """The transfer ran on a paper manifest while the system could not be used, and is entered
    afterwards (转移管理办法 Art. 20 ¶2: within 10 working days of its completion)."""

    model_config = _FROZEN

    paper_number: str
    completed_on: date  # the day the transfer was completed on paper
    reason: str


Latitude = Annotated[Decimal, Field(ge=-90, le=90), AfterValidator(_micro_degrees)]
Longitude = Annotated[Decimal, Field(ge=-180, le=180), AfterValidator(_micro_degrees)]


class TrackPoint(BaseModel):
    """One GPS fix of the vehicle (WGS-84 degrees)."""

    model_config = _FROZEN

    at: datetime
    lat: Latitude
    lon: Longitude


class TrackSummary(BaseModel):
    """What the state keeps of the trip's track; the points stay in the events."""

    model_config = _FROZEN

    points: int
    first: TrackPoint
    last: TrackPoint
    terminal_ids: list[str] = []


class ManifestState(BaseModel):
    model_config = _FROZEN

    manifest_id: UUID
    number: str
    site_id: UUID
    consignor_enterprise_id: UUID
    handler_enterprise_id: UUID
    handler_licence_id: UUID
    carrier_enterprise_id: UUID
    transfer_approval_id: UUID | None = None
    cross_province: bool = False
    shipper: Party = Party.consignor
    planned_date: date
    emergency_measures: str
    contact_phone: str | None = None
    route: str | None = None
    remarks: str | None = None
    lines: list[ManifestLine]
    lots: list[ManifestLot]
    status: ManifestStatus = ManifestStatus.draft
    version: int = 1
    created_at: datetime
    submitted_at: datetime | None = None
    vehicle_id: UUID | None = None
    driver_id: UUID | None = None
    escort_id: UUID | None = None
    dg_waybill_no: str | None = None
    passengers: int = 0
    loaded_at: datetime | None = None
    dispatched_at: datetime | None = None
    received_at: datetime | None = None
    confirmed_at: datetime | None = None
    disposed_at: datetime | None = None
    closed_at: datetime | None = None
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None
    signatures: list[Signature] = []
    discrepancy: Discrepancy | None = None
    corrections: list[Correction] = []
    forwarded_from: UUID | None = None  # a manifest whose rejected lots this one carries on
    paper: PaperFallback | None = None  # a back-entered paper manifest
    track: TrackSummary | None = None  # the vehicle's GPS track (运输轨迹), Art. 11(3)

    @property
    def total_kg(self) -> Decimal:
        return sum((lot.weight_kg for lot in self.lots), Decimal(0))

    @property
    def discrepancy_open(self) -> bool:
        return self.discrepancy is not None and self.discrepancy.resolved_at is None

    def lot(self, lot_id: UUID) -> ManifestLot:
        for lot in self.lots:
            if lot.lot_id == lot_id:
                return lot
        raise InvalidInput("the lot is not on this manifest", lot_id=str(lot_id))

    def line(self, line_no: int) -> ManifestLine:
        for line in self.lines:
            if line.line_no == line_no:
                return line
        raise InvalidInput("no such manifest line", line_no=line_no)

    def signed(self, step: HandoverStep, party: Party) -> Signature | None:
        for s in self.signatures:
            if s.step is step and s.party is party:
                return s
        return None

    def party_enterprise(self, party: Party) -> UUID:
        return {
            Party.consignor: self.consignor_enterprise_id,
            Party.carrier: self.carrier_enterprise_id,
            Party.handler: self.handler_enterprise_id,
        }[party]


# ---------------------------------------------------------------- events


@ev.register
class ManifestDrafted(ev.Event):
    TYPE = "manifest.drafted"

    number: str
    site_id: UUID
    consignor_enterprise_id: UUID
    handler_enterprise_id: UUID
    handler_licence_id: UUID
    carrier_enterprise_id: UUID
    transfer_approval_id: UUID | None = None
    cross_province: bool = False
    shipper: Party = Party.consignor
    planned_date: date
    emergency_measures: str
    contact_phone: str | None = None
    route: str | None = None
    remarks: str | None = None
    lines: list[ManifestLine]
    lots: list[ManifestLot]
    forwarded_from: UUID | None = None
    paper: PaperFallback | None = None


@ev.register
class ManifestSubmitted(ev.Event):
    TYPE = "manifest.submitted"


@ev.register
class ManifestLoaded(ev.Event):
    TYPE = "manifest.loaded"

    scanned: list[str]
    vehicle_id: UUID
    driver_id: UUID
    escort_id: UUID
    dg_waybill_no: str | None = None
    passengers: int = 0


@ev.register
class ManifestLotScanned(ev.Event):
    """One lot scanned at the vehicle by a handheld, before the load is signed off. The
    manifest's `load` takes these scans when it is given none of its own."""

    TYPE = "manifest.lot_scanned"

    lot_id: UUID
    code: str
    vehicle_plate: str | None = None


@ev.register
class ManifestLotArrivalChecked(ev.Event):
    """One lot scanned and weighed at the receiving facility by a handheld, before the
    receipt handover. The manifest's `receive` takes these weighings for lots it is given
    no weight for; the proposed outcome prefills the handler's decision."""

    TYPE = "manifest.lot_arrival_checked"

    lot_id: UUID
    received_kg: Quantity
    mismatches: list[Mismatch] = []
    outcome: ReceiptOutcome
    accepted_kg: Quantity


@ev.register
class ManifestSigned(ev.Event):
    """One party's handover signature (Trackdéchets-style: an authenticated act)."""

    TYPE = "manifest.signed"

    step: HandoverStep
    party: Party
    enterprise_id: UUID
    signer_user_id: UUID | None = None
    signer_name: str
    method: SignatureMethod
    challenge_id: UUID | None = None


@ev.register
class ManifestDispatched(ev.Event):
    TYPE = "manifest.dispatched"


class ReceivedLot(BaseModel):
    model_config = _FROZEN

    lot_id: UUID
    received_kg: Quantity
    mismatches: list[Mismatch] = []


@ev.register
class ManifestReceived(ev.Event):
    """The handler took the load over and weighed each lot."""

    TYPE = "manifest.received"

    lots: list[ReceivedLot]
    discrepancy: bool = False
    notes: str | None = None


class LotDecision(BaseModel):
    model_config = _FROZEN

    lot_id: UUID
    outcome: ReceiptOutcome
    accepted_kg: Quantity
    method_code: str | None = None  # the method the handler will apply (R52)


@ev.register
class ManifestReceiptConfirmed(ev.Event):
    """Accept / reject per lot (Art. 12(2)); resolves an open discrepancy."""

    TYPE = "manifest.receipt_confirmed"

    lots: list[LotDecision]
    consignor_notified_at: datetime | None = None
    eeb_report_ref: str | None = None
    notes: str | None = None


@ev.register
class ManifestLotsReturned(ev.Event):
    TYPE = "manifest.lots_returned"

    lot_ids: list[UUID]
    reason: str
    forwarded_to: UUID | None = None  # the new manifest, when forwarded to another handler


class CompletedLot(BaseModel):
    model_config = _FROZEN

    lot_id: UUID
    method_code: str
    completed_on: date


@ev.register
class ManifestDisposalRecorded(ev.Event):
    TYPE = "manifest.disposal_recorded"

    lots: list[CompletedLot]


@ev.register
class ManifestTrackRecorded(ev.Event):
    """GPS fixes of the trip from the vehicle's terminal or the carrier's platform
    (运输轨迹, 转移管理办法 Art. 11(3)). Several uploads add up."""

    TYPE = "manifest.track_recorded"

    points: list[TrackPoint]
    terminal_id: str | None = None


@ev.register
class ManifestClosed(ev.Event):
    TYPE = "manifest.closed"


@ev.register
class ManifestCancelled(ev.Event):
    TYPE = "manifest.cancelled"

    reason: str


@ev.register
class ManifestCorrectionRequested(ev.Event):
    TYPE = "manifest.correction_requested"

    correction_id: UUID
    party: Party
    changes: dict[str, Any]
    original: dict[str, Any]
    reason: str


@ev.register
class ManifestCorrectionDecided(ev.Event):
    TYPE = "manifest.correction_decided"

    correction_id: UUID
    party: Party
    approved: bool
    note: str | None = None


# ---------------------------------------------------------------- evolve


def _replace(s: ManifestState, **changes: Any) -> ManifestState:
    return s.model_copy(update=changes)


def _map_lots(s: ManifestState, ids: Iterable[UUID], **changes: Any) -> list[ManifestLot]:
    wanted = set(ids)
    return [lot.model_copy(update=changes) if lot.lot_id in wanted else lot for lot in s.lots]


def evolve(
    state: ManifestState | None, event: ev.Event, at: datetime, manifest_id: UUID
) -> ManifestState:
    """Fold one event into the state. Never raises for events already in the log."""
    if isinstance(event, ManifestDrafted):
        return ManifestState(
            manifest_id=manifest_id,
            created_at=at,
            **event.model_dump(),
        )
    if state is None:
        raise ValueError(f"{event.TYPE} before manifest.drafted")
    s = _replace(state, version=state.version + 1)
    match event:
        case ManifestSubmitted():
            return _replace(s, status=ManifestStatus.submitted, submitted_at=at)
        case ManifestLoaded():
            return _replace(
                s,
                status=ManifestStatus.loaded,
                loaded_at=at,
                vehicle_id=event.vehicle_id,
                driver_id=event.driver_id,
                escort_id=event.escort_id,
                dg_waybill_no=event.dg_waybill_no or s.dg_waybill_no,
                passengers=event.passengers,
                lots=[lot.model_copy(update={"loaded": True}) for lot in s.lots],
            )
        case ManifestLotScanned():
            return _replace(
                s,
                lots=_map_lots(s, [event.lot_id], scanned_at=at, vehicle_plate=event.vehicle_plate),
            )
        case ManifestLotArrivalChecked():
            return _replace(
                s,
                lots=_map_lots(
                    s,
                    [event.lot_id],
                    checked_in_at=at,
                    checked_in_kg=event.received_kg,
                    checked_in_mismatches=list(event.mismatches),
                    proposed_outcome=event.outcome,
                    proposed_accepted_kg=event.accepted_kg,
                ),
            )
        case ManifestSigned():
            sig = Signature(signed_at=at, **event.model_dump())
            return _replace(s, signatures=[*s.signatures, sig])
        case ManifestDispatched():
            return _replace(s, status=ManifestStatus.in_transit, dispatched_at=at)
        case ManifestReceived():
            by_id = {r.lot_id: r for r in event.lots}
            lots = [
                lot.model_copy(
                    update={
                        "received_kg": by_id[lot.lot_id].received_kg,
                        "mismatches": list(by_id[lot.lot_id].mismatches),
                    }
                )
                if lot.lot_id in by_id
                else lot
                for lot in s.lots
            ]
            disc = None
            if event.discrepancy:
                disc = Discrepancy(
                    opened_at=at,
                    lot_ids=[r.lot_id for r in event.lots if r.mismatches],
                    notes=event.notes,
                )
            return _replace(
                s, status=ManifestStatus.received, received_at=at, lots=lots, discrepancy=disc
            )
        case ManifestReceiptConfirmed():
            by_id = {d.lot_id: d for d in event.lots}
            lots = [
                lot.model_copy(
                    update={
                        "outcome": by_id[lot.lot_id].outcome,
                        "accepted_kg": by_id[lot.lot_id].accepted_kg,
                        "method_code": by_id[lot.lot_id].method_code,
                    }
                )
                if lot.lot_id in by_id
                else lot
                for lot in s.lots
            ]
            disc = s.discrepancy
            if disc is not None and disc.resolved_at is None:
                outcomes = {d.outcome for d in event.lots if d.lot_id in set(disc.lot_ids)}
                disc = disc.model_copy(
                    update={
                        "resolved_at": at,
                        "decision": outcomes.pop().value if len(outcomes) == 1 else "mixed",
                        "consignor_notified_at": event.consignor_notified_at,
                        "eeb_report_ref": event.eeb_report_ref,
                    }
                )
            s = _replace(s, lots=lots, discrepancy=disc, confirmed_at=at)
            return _maybe_disposed(s, at)
        case ManifestLotsReturned():
            s = _replace(s, lots=_map_lots(s, event.lot_ids, returned=True))
            return _maybe_disposed(s, at)
        case ManifestDisposalRecorded():
            lots = list(s.lots)
            by_id = {c.lot_id: c for c in event.lots}
            lots = [
                lot.model_copy(
                    update={
                        "method_code": by_id[lot.lot_id].method_code,
                        "completed_on": by_id[lot.lot_id].completed_on,
                    }
                )
                if lot.lot_id in by_id
                else lot
                for lot in s.lots
            ]
            return _maybe_disposed(_replace(s, lots=lots), at)
        case ManifestTrackRecorded():
            return _replace(s, track=_add_track(s.track, event))
        case ManifestClosed():
            return _replace(s, status=ManifestStatus.closed, closed_at=at)
        case ManifestCancelled():
            return _replace(
                s, status=ManifestStatus.cancelled, cancelled_at=at, cancel_reason=event.reason
            )
        case ManifestCorrectionRequested():
            c = Correction(
                correction_id=event.correction_id,
                requested_by=event.party,
                changes=event.changes,
                original=event.original,
                reason=event.reason,
            )
            return _replace(s, corrections=[*s.corrections, c])
        case ManifestCorrectionDecided():
            corrections = []
            applied: dict[str, Any] = {}
            for c in s.corrections:
                if c.correction_id == event.correction_id:
                    c = c.model_copy(
                        update={
                            "status": "approved" if event.approved else "rejected",
                            "decided_by": event.party,
                            "note": event.note,
                        }
                    )
                    if event.approved:
                        applied = dict(c.changes)
                corrections.append(c)
            if "planned_date" in applied and isinstance(applied["planned_date"], str):
                applied["planned_date"] = date.fromisoformat(applied["planned_date"])
            return _replace(s, corrections=corrections, **applied)
    raise ValueError(f"manifest cannot fold {event.TYPE}")


def _maybe_disposed(s: ManifestState, at: datetime) -> ManifestState:
    """Disposed once every lot is settled: accepted lots completed, rejected lots returned."""
    if s.status is not ManifestStatus.received or s.discrepancy_open:
        return s
    if all(_settled(lot) for lot in s.lots):
        return _replace(s, status=ManifestStatus.disposed, disposed_at=at)
    return s


def _settled(lot: ManifestLot) -> bool:
    if lot.outcome is None:
        return False
    if lot.outcome is ReceiptOutcome.rejected:
        return lot.returned
    return lot.completed_on is not None


def fold(items: Iterable[tuple[ev.Event, datetime]], manifest_id: UUID) -> ManifestState | None:
    state: ManifestState | None = None
    for event, at in items:
        state = evolve(state, event, at, manifest_id)
    return state


# ---------------------------------------------------------------- deciders


def _require(state: ManifestState, allowed: set[ManifestStatus], action: str) -> None:
    if state.status not in allowed:
        names = ", ".join(sorted(s.value for s in allowed))
        raise InvalidTransition(
            f"cannot {action} a manifest that is {state.status.value} (allowed when: {names})",
            status=state.status.value,
            action=action,
        )


def submit(state: ManifestState) -> ManifestSubmitted:
    _require(state, {ManifestStatus.draft}, "submit")
    return ManifestSubmitted()


def load(
    state: ManifestState,
    scanned: list[str],
    vehicle_id: UUID,
    driver_id: UUID,
    escort_id: UUID,
    dg_waybill_no: str | None,
    passengers: int,
) -> ManifestLoaded:
    _require(state, {ManifestStatus.submitted}, "load")
    return ManifestLoaded(
        scanned=scanned,
        vehicle_id=vehicle_id,
        driver_id=driver_id,
        escort_id=escort_id,
        dg_waybill_no=dg_waybill_no,
        passengers=passengers,
    )


def scan_lot(
    state: ManifestState, lot_id: UUID, code: str, vehicle_plate: str | None
) -> ManifestLotScanned:
    """A handheld's loading scan of one lot (the load itself is checked as a whole by R37)."""
    _require(state, {ManifestStatus.submitted}, "scan lots for loading onto")
    lot = state.lot(lot_id)
    if lot.scanned_at is not None:
        raise InvalidTransition(
            f"lot {lot.digital_id} was already scanned for loading at {lot.scanned_at:%H:%M}",
            lot_id=str(lot_id),
        )
    return ManifestLotScanned(lot_id=lot_id, code=code, vehicle_plate=vehicle_plate)


def check_in_lot(
    state: ManifestState,
    lot_id: UUID,
    received_kg: Decimal,
    mismatches: list[Mismatch],
    outcome: ReceiptOutcome,
    accepted_kg: Decimal,
    tolerance: Any,
) -> ManifestLotArrivalChecked:
    """A handheld's check-in of one lot at the receiving facility. A lot the handler would
    not accept in full must say what was found different (Art. 18 ¶2): that opens the
    discrepancy when the receipt is recorded. The weight mismatch is decided as at the receipt:
    by `tolerance(shipped_kg, received_kg)`, whatever the handheld said."""
    _require(state, {ManifestStatus.in_transit}, "check lots in from")
    shipped = state.lot(lot_id).weight_kg
    found = set(mismatches) - {Mismatch.weight}
    if not tolerance(shipped, received_kg):
        found.add(Mismatch.weight)
    if outcome is not ReceiptOutcome.accepted and not found:
        raise InvalidInput(
            "a lot not accepted in full needs what was found different (mismatches: weight, "
            "name, characteristics, form or packaging)",
            field="mismatches",
        )
    return ManifestLotArrivalChecked(
        lot_id=lot_id,
        received_kg=received_kg,
        mismatches=sorted(found),
        outcome=outcome,
        accepted_kg=accepted_kg,
    )


def check_handover_open(state: ManifestState, step: HandoverStep, party: Party) -> None:
    """The party signs this handover, it is open in the manifest's status, and the party has
    not signed it yet: what a signature, and a one-time code for one, both need."""
    if party not in HANDOVER_PARTIES[step]:
        raise InvalidInput(
            f"the {party.value} does not sign the {step.value} handover "
            f"(signed by {' and '.join(p.value for p in HANDOVER_PARTIES[step])})",
            field="step",
        )
    _require(state, {HANDOVER_STATUS[step]}, f"sign the {step.value} handover of")
    if state.signed(step, party) is not None:
        raise InvalidTransition(
            f"the {party.value} already signed the {step.value} handover",
            step=step.value,
            party=party.value,
        )


def sign(
    state: ManifestState,
    step: HandoverStep,
    party: Party,
    signer_user_id: UUID | None,
    signer_name: str,
    method: SignatureMethod,
    challenge_id: UUID | None = None,
) -> ManifestSigned:
    check_handover_open(state, step, party)
    return ManifestSigned(
        step=step,
        party=party,
        enterprise_id=state.party_enterprise(party),
        signer_user_id=signer_user_id,
        signer_name=signer_name,
        method=method,
        challenge_id=challenge_id,
    )


def _missing_signatures(state: ManifestState, step: HandoverStep) -> list[Party]:
    return [p for p in HANDOVER_PARTIES[step] if state.signed(step, p) is None]


def dispatch(state: ManifestState) -> ManifestDispatched:
    _require(state, {ManifestStatus.loaded}, "dispatch")
    missing = _missing_signatures(state, HandoverStep.dispatch)
    if missing:
        raise InvalidTransition(
            "the handover to the carrier needs the signatures of the consignor and the carrier; "
            f"missing: {', '.join(p.value for p in missing)}",
            missing=[p.value for p in missing],
        )
    return ManifestDispatched()


def receive(
    state: ManifestState, lots: list[ReceivedLot], tolerance: Any, notes: str | None = None
) -> ManifestReceived:
    """`tolerance(shipped_kg, received_kg) -> bool` says whether a weight difference is
    within the configured tolerance."""
    _require(state, {ManifestStatus.in_transit}, "receive")
    missing = _missing_signatures(state, HandoverStep.receipt)
    if missing:
        raise InvalidTransition(
            "the handover to the handler needs the signatures of the carrier and the handler; "
            f"missing: {', '.join(p.value for p in missing)}",
            missing=[p.value for p in missing],
        )
    given = {r.lot_id for r in lots}
    expected = {lot.lot_id for lot in state.lots}
    if given != expected or len(lots) != len(given):
        raise InvalidInput(
            "weigh every lot of the manifest exactly once",
            field="lots",
            missing=sorted(str(i) for i in expected - given),
            unknown=sorted(str(i) for i in given - expected),
        )
    out = []
    for r in lots:
        mism = set(r.mismatches) - {Mismatch.weight}
        if not tolerance(state.lot(r.lot_id).weight_kg, r.received_kg):
            mism.add(Mismatch.weight)
        out.append(r.model_copy(update={"mismatches": sorted(mism)}))
    return ManifestReceived(lots=out, discrepancy=any(r.mismatches for r in out), notes=notes)


def confirm_receipt(
    state: ManifestState,
    decisions: list[LotDecision],
    consignor_notified_at: datetime | None = None,
    eeb_report_ref: str | None = None,
    notes: str | None = None,
) -> ManifestReceiptConfirmed:
    _require(state, {ManifestStatus.received}, "confirm the receipt of")
    if state.confirmed_at is not None:
        raise InvalidTransition("the receipt is already confirmed")
    given = {d.lot_id for d in decisions}
    expected = {lot.lot_id for lot in state.lots}
    if given != expected or len(decisions) != len(given):
        raise InvalidInput(
            "decide on every lot of the manifest exactly once",
            field="lots",
            missing=sorted(str(i) for i in expected - given),
            unknown=sorted(str(i) for i in given - expected),
        )
    for d in decisions:
        lot = state.lot(d.lot_id)
        received = lot.received_kg if lot.received_kg is not None else lot.weight_kg
        if d.accepted_kg > received:
            raise InvalidInput(
                "the accepted weight exceeds the received weight",
                lot_id=str(d.lot_id),
                field="accepted_kg",
            )
    return ManifestReceiptConfirmed(
        lots=decisions,
        consignor_notified_at=consignor_notified_at,
        eeb_report_ref=eeb_report_ref,
        notes=notes,
    )


def return_lots(
    state: ManifestState, lot_ids: list[UUID], reason: str, forwarded_to: UUID | None = None
) -> ManifestLotsReturned:
    _require(state, {ManifestStatus.received}, "return rejected lots of")
    if not lot_ids:
        raise InvalidInput("name the rejected lots to return", field="lot_ids")
    for lot_id in lot_ids:
        lot = state.lot(lot_id)
        if lot.outcome is not ReceiptOutcome.rejected:
            raise InvalidTransition(
                "only rejected lots go back to the consignor", lot_id=str(lot_id)
            )
        if lot.returned:
            raise InvalidTransition("the lot was already returned", lot_id=str(lot_id))
    if not reason.strip():
        raise InvalidInput("a return needs a reason", field="reason")
    return ManifestLotsReturned(lot_ids=lot_ids, reason=reason.strip(), forwarded_to=forwarded_to)


TRACK_STATUSES = {ManifestStatus.loaded, ManifestStatus.in_transit, ManifestStatus.received}


def record_track(
    state: ManifestState, points: list[TrackPoint], terminal_id: str | None
) -> ManifestTrackRecorded:
    """Attach GPS fixes once the load is on the vehicle, until the receipt is confirmed (a
    carrier's platform often delivers the track after arrival)."""
    _require(state, TRACK_STATUSES, "attach a GPS track to")
    if state.confirmed_at is not None:
        raise InvalidTransition(
            "the receipt is confirmed: the trip's track is closed", status=state.status.value
        )
    if not points:
        raise InvalidInput("a track needs at least one point", field="points")
    terminal = terminal_id.strip() if terminal_id else None
    return ManifestTrackRecorded(
        points=sorted(points, key=lambda p: p.at), terminal_id=terminal or None
    )


def _add_track(track: TrackSummary | None, event: ManifestTrackRecorded) -> TrackSummary:
    first, last = event.points[0], event.points[-1]
    terminals = list(track.terminal_ids) if track else []
    if event.terminal_id and event.terminal_id not in terminals:
        terminals.append(event.terminal_id)
    if track is None:
        return TrackSummary(
            points=len(event.points), first=first, last=last, terminal_ids=terminals
        )
    return TrackSummary(
        points=track.points + len(event.points),
        first=min(track.first, first, key=lambda p: p.at),
        last=max(track.last, last, key=lambda p: p.at),
        terminal_ids=terminals,
    )


def record_disposal(state: ManifestState, lots: list[CompletedLot]) -> ManifestDisposalRecorded:
    _require(state, {ManifestStatus.received}, "record disposal for")
    if not lots:
        raise InvalidInput("name the lots whose utilisation/disposal is complete", field="lots")
    for c in lots:
        lot = state.lot(c.lot_id)
        if lot.outcome is None:
            raise InvalidTransition(
                "the receipt of this lot is not confirmed yet", lot_id=str(c.lot_id)
            )
        if lot.outcome is ReceiptOutcome.rejected:
            raise InvalidTransition("a rejected lot is not disposed of", lot_id=str(c.lot_id))
        if lot.completed_on is not None:
            raise InvalidTransition("the lot's disposal is already recorded", lot_id=str(c.lot_id))
    return ManifestDisposalRecorded(lots=lots)


def close(state: ManifestState) -> ManifestClosed:
    _require(state, {ManifestStatus.disposed}, "close")
    return ManifestClosed()


def cancel(state: ManifestState, reason: str) -> ManifestCancelled:
    _require(state, {ManifestStatus.draft, ManifestStatus.submitted}, "cancel")
    if not reason.strip():
        raise InvalidInput("a cancellation needs a reason", field="reason")
    return ManifestCancelled(reason=reason.strip())


def request_correction(
    state: ManifestState, correction_id: UUID, party: Party, changes: dict[str, Any], reason: str
) -> ManifestCorrectionRequested:
    if not state.signatures:
        raise InvalidTransition(
            "nobody has signed this manifest yet: no correction is needed "
            "(cancel a draft or submitted manifest and draft it again)"
        )
    if state.status is ManifestStatus.cancelled:
        raise InvalidTransition("a cancelled manifest is not corrected")
    bad = sorted(set(changes) - CORRECTABLE)
    if bad:
        raise InvalidInput(
            f"cannot correct {', '.join(bad)}: only {', '.join(sorted(CORRECTABLE))}",
            field="changes",
        )
    if not changes:
        raise InvalidInput("a correction needs at least one change", field="changes")
    if not reason.strip():
        raise InvalidInput("a correction needs a reason", field="reason")
    if any(c.status == "pending" for c in state.corrections):
        raise InvalidTransition("another correction of this manifest is still pending")
    current = state.model_dump(mode="json")
    original = {k: current.get(k) for k in changes}
    return ManifestCorrectionRequested(
        correction_id=correction_id,
        party=party,
        changes=changes,
        original=original,
        reason=reason.strip(),
    )


def decide_correction(
    state: ManifestState, correction_id: UUID, party: Party, approved: bool, note: str | None
) -> ManifestCorrectionDecided:
    for c in state.corrections:
        if c.correction_id == correction_id:
            if c.status != "pending":
                raise InvalidTransition(f"the correction is already {c.status}")
            if c.requested_by is party:
                raise InvalidTransition(
                    "a correction needs the approval of another party than the one asking",
                    party=party.value,
                )
            return ManifestCorrectionDecided(
                correction_id=correction_id, party=party, approved=approved, note=note
            )
    raise InvalidInput("no such correction", correction_id=str(correction_id))


# ---------------------------------------------------------------- number


def format_number(year: int, division_code: str, serial: int) -> str:
    """14 digits: year, origin province (2), origin city (2), serial per city (6) (Art. 15)."""
    if not 1 <= serial <= 999_999:
        raise InvalidInput("the manifest serial of this city and year is exhausted", serial=serial)
    return f"{year:04d}{division_code[:4]}{serial:06d}"
