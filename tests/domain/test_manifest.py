"""The manifest aggregate without a database: given events, when a command, then events."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import uuid4

import pytest

from app.domain import manifest as md
from app.domain.errors import InvalidInput, InvalidTransition
from app.domain.values import ReceiptOutcome

AT = datetime(2026, 6, 1, 2, tzinfo=UTC)
MID = uuid4()
LOT = uuid4()


def drafted() -> md.ManifestDrafted:
    return md.ManifestDrafted(
        number="20263205000001",
        site_id=uuid4(),
        consignor_enterprise_id=uuid4(),
        handler_enterprise_id=uuid4(),
        handler_licence_id=uuid4(),
        carrier_enterprise_id=uuid4(),
        planned_date=date(2026, 6, 1),
        emergency_measures="围堵",
        lines=[
            md.ManifestLine(
                line_no=1,
                waste_code="900-039-49",
                category="HW49",
                name="废活性炭",
                physical_form="solid",
                packaging="袋×1",
                planned_method="D10",
            )
        ],
        lots=[
            md.ManifestLot(
                lot_id=LOT,
                line_no=1,
                digital_id="X" * 37,
                name="废活性炭",
                waste_code="900-039-49",
                weight_kg=Decimal("100"),
                container_type="bag",
            )
        ],
    )


def given(*events: object) -> md.ManifestState:
    s = None
    for e in (drafted(), *events):
        s = md.evolve(s, e, AT, MID)  # type: ignore[arg-type]
    assert s is not None
    return s


def sig(step: md.HandoverStep, party: md.Party) -> md.ManifestSigned:
    return md.ManifestSigned(
        step=step,
        party=party,
        enterprise_id=uuid4(),
        signer_name="x",
        method=md.SignatureMethod.session,
    )


def test_number_is_year_province_city_serial() -> None:
    assert md.format_number(2026, "320571", 12) == "20263205000012"
    with pytest.raises(InvalidInput):
        md.format_number(2026, "320571", 1_000_000)


def test_dispatch_needs_both_signatures() -> None:
    loaded = md.ManifestLoaded(
        scanned=["X" * 37], vehicle_id=uuid4(), driver_id=uuid4(), escort_id=uuid4()
    )
    s = given(md.ManifestSubmitted(), loaded, sig(md.HandoverStep.dispatch, md.Party.consignor))
    with pytest.raises(InvalidTransition, match="carrier"):
        md.dispatch(s)
    s = md.evolve(s, sig(md.HandoverStep.dispatch, md.Party.carrier), AT, MID)
    assert isinstance(md.dispatch(s), md.ManifestDispatched)
    with pytest.raises(InvalidInput):
        md.sign(
            s, md.HandoverStep.dispatch, md.Party.handler, None, "h", md.SignatureMethod.session
        )


def _in_transit() -> md.ManifestState:
    loaded = md.ManifestLoaded(
        scanned=["X" * 37], vehicle_id=uuid4(), driver_id=uuid4(), escort_id=uuid4()
    )
    return given(
        md.ManifestSubmitted(),
        loaded,
        sig(md.HandoverStep.dispatch, md.Party.consignor),
        sig(md.HandoverStep.dispatch, md.Party.carrier),
        md.ManifestDispatched(),
        sig(md.HandoverStep.receipt, md.Party.carrier),
        sig(md.HandoverStep.receipt, md.Party.handler),
    )


def tolerance(shipped: Decimal, received: Decimal) -> bool:
    return abs(shipped - received) <= Decimal(2)


def test_weight_beyond_tolerance_opens_a_discrepancy_until_resolved() -> None:
    s = _in_transit()
    e = md.receive(s, [md.ReceivedLot(lot_id=LOT, received_kg=Decimal(90))], tolerance)
    assert e.discrepancy and e.lots[0].mismatches == [md.Mismatch.weight]
    s = md.evolve(s, e, AT, MID)
    assert s.discrepancy_open and s.status is md.ManifestStatus.received
    decision = md.LotDecision(lot_id=LOT, outcome=ReceiptOutcome.rejected, accepted_kg=Decimal(0))
    s = md.evolve(s, md.confirm_receipt(s, [decision]), AT, MID)
    assert not s.discrepancy_open and s.discrepancy and s.discrepancy.decision == "rejected"
    with pytest.raises(InvalidTransition):
        md.record_disposal(
            s, [md.CompletedLot(lot_id=LOT, method_code="D10", completed_on=date(2026, 6, 2))]
        )
    s = md.evolve(s, md.return_lots(s, [LOT], "退回"), AT, MID)
    assert s.status is md.ManifestStatus.disposed  # settled: nothing left to dispose of
    assert isinstance(md.close(s), md.ManifestClosed)


def test_within_tolerance_and_other_packaging_still_opens_one() -> None:
    s = _in_transit()
    e = md.receive(
        s,
        [md.ReceivedLot(lot_id=LOT, received_kg=Decimal(101), mismatches=[md.Mismatch.packaging])],
        tolerance,
    )
    assert e.discrepancy and e.lots[0].mismatches == [md.Mismatch.packaging]


def test_cancel_only_before_loading() -> None:
    assert isinstance(md.cancel(given(md.ManifestSubmitted()), "取消"), md.ManifestCancelled)
    with pytest.raises(InvalidTransition):
        md.cancel(_in_transit(), "太晚")


def test_handheld_scans_are_recorded_once_and_only_while_submitted() -> None:
    s = given()
    with pytest.raises(InvalidTransition, match="draft"):
        md.scan_lot(s, LOT, "X" * 37, None)
    s = given(md.ManifestSubmitted())
    e = md.scan_lot(s, LOT, "X" * 37, "苏E12345")
    s = md.evolve(s, e, AT, MID)
    assert s.lot(LOT).scanned_at == AT and s.lot(LOT).vehicle_plate == "苏E12345"
    with pytest.raises(InvalidTransition, match="already scanned"):
        md.scan_lot(s, LOT, "X" * 37, None)
    with pytest.raises(InvalidInput, match="not on this manifest"):
        md.scan_lot(s, uuid4(), "Y" * 37, None)


def test_a_check_in_refusing_a_lot_must_name_a_real_difference() -> None:
    s = given(md.ManifestSubmitted())
    with pytest.raises(InvalidTransition, match="submitted"):
        md.check_in_lot(s, LOT, Decimal(100), [], ReceiptOutcome.accepted, Decimal(100), tolerance)
    s = _in_transit()
    # the weight within tolerance is no difference, whatever the handheld says
    with pytest.raises(InvalidInput, match="mismatches"):
        md.check_in_lot(
            s,
            LOT,
            Decimal(101),
            [md.Mismatch.weight],
            ReceiptOutcome.rejected,
            Decimal(0),
            tolerance,
        )
    e = md.check_in_lot(
        s, LOT, Decimal(90), [], ReceiptOutcome.partly_accepted, Decimal(80), tolerance
    )
    assert e.mismatches == [md.Mismatch.weight]  # beyond tolerance: found by the rule
    s = md.evolve(s, e, AT, MID)
    lot = s.lot(LOT)
    assert (lot.checked_in_kg, lot.proposed_outcome, lot.proposed_accepted_kg) == (
        Decimal(90),
        ReceiptOutcome.partly_accepted,
        Decimal(80),
    )
