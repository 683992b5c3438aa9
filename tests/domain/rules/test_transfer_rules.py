"""Transfer, loading, receipt and disposal rules (R37-R56), pure: a compliant situation passes
every rule, and one change per case makes exactly the named rule fire, with its citation.
One table per rule group."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest

from app.domain import manifest as md
from app.domain.lot import LotState, LotStatus
from app.domain.parties import (
    CarrierLicence,
    Contract,
    ContractKind,
    CrewMember,
    CrewRole,
    HandlerLicence,
    LicenceItem,
    LicenceKind,
    ManagementPlan,
    PlanItem,
    TransferApproval,
    Vehicle,
    VehicleType,
)
from app.domain.rules.base import Severity, Step
from app.domain.rules.registry import evaluate
from app.domain.rules.transfer import (
    Loading,
    TransferSituation,
    load_transfer_data,
    transit_overdue_hours,
)
from tests.domain.rules.support import lot as make_lot

NOW = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
DAY = date(2026, 6, 1)
SITE = uuid4()
PLANT, HANDLER, CARRIER = uuid4(), uuid4(), uuid4()
MID = uuid4()
DIV = "320571"


FACILITY = (Decimal("31.263100"), Decimal("120.731400"))  # the handler's gate


def track(lat: Decimal = FACILITY[0], lon: Decimal = FACILITY[1]) -> md.TrackSummary:
    """A trip's track from the plant to (lat, lon), by default the handler's gate."""
    start = md.TrackPoint(at=NOW - timedelta(hours=3), lat=Decimal("31.30"), lon=Decimal("120.60"))
    end = md.TrackPoint(at=NOW - timedelta(hours=2, minutes=5), lat=lat, lon=lon)
    return md.TrackSummary(points=40, first=start, last=end, terminal_ids=["GPS-1"])


def _lots() -> tuple[LotState, ...]:
    return tuple(
        make_lot(
            site_id=SITE,
            status=LotStatus.allocated,
            manifest_id=MID,
            digital_id=f"{i:037d}",
            stored_at=NOW - timedelta(days=3),
            zone_id=uuid4(),
        )
        for i in range(2)
    )


def manifest(lots: tuple[LotState, ...], **kw: Any) -> md.ManifestState:
    base = md.ManifestState(
        manifest_id=MID,
        number="202632050000012",
        site_id=SITE,
        consignor_enterprise_id=PLANT,
        handler_enterprise_id=HANDLER,
        handler_licence_id=uuid4(),
        carrier_enterprise_id=CARRIER,
        planned_date=DAY,
        emergency_measures="围堵、吸附",
        created_at=NOW - timedelta(days=2),
        track=track(),
        lines=[
            md.ManifestLine(
                line_no=1,
                waste_code="900-349-34",
                category="HW34",
                name="废酸",
                hazard_characteristics=["T", "C"],
                physical_form="solid",
                packaging="桶×2",
                planned_method="D9",
                un_number="UN1760",
                dg_class="8",
            )
        ],
        lots=[
            md.ManifestLot(
                lot_id=x.lot_id,
                line_no=1,
                digital_id=x.digital_id,
                name=x.name,
                waste_code="900-349-34",
                weight_kg=x.weight_kg,
                container_type="drum",
                zone_id=x.zone_id,
            )
            for x in lots
        ],
    )
    return base.model_copy(update={"number": "20263205000012", **kw})


def licence(**kw: Any) -> HandlerLicence:
    base = HandlerLicence(
        licence_id=uuid4(),
        enterprise_id=HANDLER,
        licence_no="JS0506OOD001",
        holder_name="处置中心",
        holder_uscc="91320506MA1P5Q6R7X",
        kind=LicenceKind.comprehensive,
        division_code="320506",
        facility_lat=FACILITY[0],
        facility_lon=FACILITY[1],
        valid_from=date(2025, 1, 1),
        valid_to=date(2029, 12, 31),
        items=(
            LicenceItem("HW34", ("900-349-34",), ("D9",), Decimal(100)),
            LicenceItem("HW49", (), ("D10",), Decimal(100)),
        ),
    )
    return replace(base, **kw)


def vehicle(**kw: Any) -> Vehicle:
    base = Vehicle(
        uuid4(),
        CARRIER,
        "苏E·D1234",
        "苏交运 001",
        VehicleType.dg_van,
        ("8", "9"),
        date(2027, 1, 1),
    )
    return replace(base, **kw)


def crew(role: CrewRole, **kw: Any) -> CrewMember:
    return replace(CrewMember(uuid4(), CARRIER, "周", role, "Q-001", date(2027, 1, 1)), **kw)


def contracts(**kw: Any) -> tuple[Contract, ...]:
    return tuple(
        replace(
            Contract(uuid4(), PLANT, party, kind, "HT-1", date(2026, 1, 1), date(2026, 12, 31)),
            **kw,
        )
        for kind, party in ((ContractKind.handler, HANDLER), (ContractKind.carrier, CARRIER))
    )


def situation(step: Step = Step.transfer, **kw: Any) -> TransferSituation:
    lots = kw.pop("lots", None) or _lots()
    m = kw.pop("manifest", None) or manifest(lots)
    base = TransferSituation(
        step=step,
        now=NOW,
        day=DAY,
        manifest=m,
        tdata=load_transfer_data(),
        consignor_division=DIV,
        consignor_enterprise_id=PLANT,
        lots=lots,
        licence=licence(),
        carrier_licence=CarrierLicence(
            uuid4(), CARRIER, "苏交运管 1", ("8", "9"), date(2025, 1, 1), date(2028, 1, 1)
        ),
        contracts=contracts(),
        plan=ManagementPlan(
            SITE,
            2026,
            "F-1",
            date(2026, 3, 1),
            (PlanItem("900-349-34", HANDLER, "D9", Decimal(10)),),
        ),
        loading=Loading(
            scanned=tuple(x.digital_id or "" for x in lots),
            vehicle=vehicle(),
            driver=crew(CrewRole.driver),
            escort=crew(CrewRole.escort),
        ),
        lot_facility_codes={x.lot_id: ("WH1", "storage_warehouse") for x in lots},
    )
    return replace(base, **kw)


def fired(s: TransferSituation) -> dict[str, Any]:
    return {f.rule_id: f for f in evaluate(s)}  # type: ignore[arg-type]


@pytest.mark.parametrize("step", [Step.transfer, Step.loading, Step.receipt, Step.disposal])
def test_a_compliant_transfer_passes_every_rule(step: Step) -> None:
    assert fired(situation(step, arriving=step is Step.receipt)) == {}


def _lots_other_site() -> dict[str, Any]:
    lots = _lots()
    return {"lots": (lots[0], replace(lots[1], site_id=uuid4()))}


def _cross(**approval: Any) -> dict[str, Any]:
    a = TransferApproval(
        uuid4(),
        "浙环转 2026-1",
        PLANT,
        HANDLER,
        ("900-349-34",),
        ("D9",),
        Decimal(1),
        date(2026, 1, 10),
        date(2026, 12, 31),
    )
    return {
        "licence": licence(division_code="330100"),
        "approval": replace(a, **approval) if approval is not None else None,
    }


TRANSFER_BLOCKS = [
    # rule, what breaks, document in the citation
    (
        "R38",
        lambda: {
            "lots": tuple(replace(x, status=LotStatus.stored, manifest_id=None) for x in _lots())
        },
        "转移管理办法",
    ),
    ("R39", lambda: {"manifest": manifest(_lots(), number="20263301000012")}, "转移管理办法"),
    ("R39", lambda: {"manifest": manifest(_lots(), number="2026320500001")}, "转移管理办法"),
    ("R40", _lots_other_site, "转移管理办法"),
    ("R41", lambda: {"licence": None}, "固废法"),
    ("R41", lambda: {"licence": licence(valid_to=date(2026, 5, 31))}, "固废法"),
    ("R41", lambda: {"licence": licence(revoked=True)}, "固废法"),
    (
        "R41",
        lambda: {"licence": licence(items=(LicenceItem("HW49", (), ("D10",), Decimal(1)),))},
        "固废法",
    ),
    (
        "R41",
        lambda: {"licence": licence(items=(LicenceItem("HW34", (), ("D10",), Decimal(1)),))},
        "固废法",
    ),
    ("R41", lambda: {"licence": licence(kind=LicenceKind.collection)}, "固废法"),
    ("R43", lambda: {"contracts": contracts()[:1]}, "转移管理办法"),
    ("R43", lambda: {"contracts": contracts(valid_to=date(2026, 5, 1))}, "转移管理办法"),
    ("R46", lambda: {"licence": licence(division_code="330100")}, "转移管理办法"),
    ("R46", lambda: _cross(quantity_t=Decimal("0.1")), "转移管理办法"),
    ("R46", lambda: _cross(waste_codes=("900-300-34",)), "转移管理办法"),
    ("R46", lambda: _cross(approved_on=date(2025, 5, 1)), "转移管理办法"),
    ("R46", lambda: _cross(receiver_enterprise_id=uuid4()), "转移管理办法"),
]


@pytest.mark.parametrize(("rule_id", "change", "doc"), TRANSFER_BLOCKS)
def test_transfer_blocks(rule_id: str, change: Any, doc: str) -> None:
    f = fired(situation(Step.transfer, **change()))
    assert set(f) == {rule_id}, {k: v.message_en for k, v in f.items()}
    assert f[rule_id].severity is Severity.block
    assert doc in f[rule_id].citation["document"]


def test_cross_province_within_its_approval_passes() -> None:
    assert fired(situation(Step.transfer, **_cross())) == {}


# completed on paper Friday 2026-05-15: ten working days run to Friday 2026-05-29
PAPER = md.PaperFallback(
    paper_number="苏-2026-000123", completed_on=date(2026, 5, 15), reason="断网"
)


def test_r53_counts_working_days_from_the_paper_completion_to_the_entry() -> None:
    m = manifest(_lots(), paper=PAPER)
    on_time = situation(Step.transfer, manifest=m, entered_at=datetime(2026, 5, 29, 9, tzinfo=UTC))
    assert fired(on_time) == {}
    # entered on Monday 1 June (NOW): 11 working days, although the steps are backdated
    late = situation(Step.transfer, manifest=m, now=datetime(2026, 5, 14, 9, tzinfo=UTC))
    late = replace(late, entered_at=NOW)
    f = fired(late)["R53"]
    assert f.values["working_days"] == 11 and f.values["due_on"] == "2026-05-29"
    assert f.citation["clause"] == "Art. 20 ¶2"
    # an electronic manifest is not concerned
    assert "R53" not in fired(situation(Step.transfer, entered_at=NOW + timedelta(days=90)))


def test_r49_flags_a_vehicle_on_the_road_past_the_configured_hours() -> None:
    tdata = load_transfer_data()
    assert tdata.transit_overdue_hours == 48  # transfer.toml [track] overdue_hours
    left = datetime(2026, 6, 1, 8, tzinfo=UTC)

    def overdue(after: timedelta, status: str = "in_transit", data: Any = tdata) -> int | None:
        return transit_overdue_hours(data, status, left, left + after)

    assert overdue(timedelta(hours=47, minutes=59)) is None
    assert overdue(timedelta(hours=48)) == 48
    assert overdue(timedelta(days=3, minutes=30)) == 72
    assert overdue(timedelta(hours=7), data=replace(tdata, transit_overdue_hours=6)) == 7
    # only a trip under way: arrived (received) or not yet left, nothing is overdue
    assert overdue(timedelta(days=5), status="received") is None
    assert transit_overdue_hours(tdata, "in_transit", None, left) is None


TRANSFER_WARNINGS = [
    ("R42", {"ytd_shipped_t": {}}, "licence_small"),
    ("R47", {"plan": None}, None),
    (
        "R47",
        {
            "plan": ManagementPlan(
                SITE,
                2026,
                "F",
                date(2026, 4, 2),
                (PlanItem("900-349-34", HANDLER, "D9", Decimal(1)),),
            )
        },
        None,
    ),
    ("R47", {"plan": ManagementPlan(SITE, 2026, "F", date(2026, 3, 1), ())}, None),
    ("R53", {"manifest": manifest(_lots(), paper=PAPER)}, None),  # entered on day 11
]


@pytest.mark.parametrize(("rule_id", "change", "special"), TRANSFER_WARNINGS)
def test_transfer_warnings(rule_id: str, change: dict[str, Any], special: str | None) -> None:
    if special == "licence_small":
        change = {"licence": licence(items=(LicenceItem("HW34", (), ("D9",), Decimal("0.3")),))}
    f = fired(situation(Step.transfer, **change))
    assert set(f) == {rule_id}
    assert f[rule_id].severity is Severity.warn


def _load(**kw: Any) -> dict[str, Any]:
    lots = _lots()
    base = Loading(
        scanned=tuple(x.digital_id or "" for x in lots),
        vehicle=vehicle(),
        driver=crew(CrewRole.driver),
        escort=crew(CrewRole.escort),
    )
    return {"lots": lots, "loading": replace(base, **kw)}


def _scan(drop: int = 0, extra: str | None = None) -> dict[str, Any]:
    lots = _lots()
    codes = [x.digital_id or "" for x in lots][drop:]
    if extra:
        codes.append(extra)
    d = _load()
    d["lots"] = lots
    d["loading"] = replace(d["loading"], scanned=tuple(codes))
    return d


def _relabelled() -> dict[str, Any]:
    lots = _lots()
    m = manifest(lots)
    changed = (replace(lots[0], weight_kg=Decimal(170)), lots[1])
    return {"lots": changed, "manifest": m, "loading": _load()["loading"]}


LOADING_BLOCKS = [
    ("R37", lambda: _scan(drop=1)),
    ("R37", lambda: _scan(extra="9" * 37)),
    ("R37", _relabelled),
    ("R44", lambda: {"carrier_licence": None}),
    ("R44", lambda: _load(vehicle=vehicle(valid_to=date(2026, 5, 1)))),
    ("R44", lambda: _load(vehicle=vehicle(dg_classes=("3",)))),
    ("R44", lambda: _load(escort=None)),
    ("R44", lambda: _load(driver=crew(CrewRole.driver, valid_to=date(2026, 1, 1)))),
    ("R45", lambda: _load(vehicle=vehicle(vehicle_type=VehicleType.passenger))),
    ("R45", lambda: _load(passengers=1)),
    ("R48", lambda: {"lot_facility_codes": {}}),
]


@pytest.mark.parametrize(("rule_id", "change"), LOADING_BLOCKS)
def test_loading_blocks(rule_id: str, change: Any) -> None:
    f = fired(situation(Step.loading, **change()))
    assert set(f) == {rule_id}, {k: v.message_en for k, v in f.items()}
    assert f[rule_id].severity is Severity.block
    assert f[rule_id].citation["clause"]


def test_missing_dg_class_blocks_loading() -> None:
    lots = _lots()
    m = manifest(lots)
    m = m.model_copy(update={"lines": [m.lines[0].model_copy(update={"dg_class": None})]})
    assert set(fired(situation(Step.loading, lots=lots, manifest=m))) == {"R44"}


def _received(disc: bool) -> md.ManifestState:
    lots = _lots()
    m = manifest(lots, status=md.ManifestStatus.received, received_at=NOW - timedelta(hours=2))
    if disc:
        m = m.model_copy(
            update={"discrepancy": md.Discrepancy(opened_at=NOW, lot_ids=[lots[0].lot_id])}
        )
    return m


RECEIPT_CASES = [
    ("R51", {"manifest": _received(True), "confirming": True, "resolution": {}}, Severity.block),
    (
        "R52",
        {
            "manifest": _received(False),
            "confirming": True,
            "decisions": ((uuid4(), "accepted", None),),
        },
        Severity.block,
    ),
    (
        "R52",
        {
            "manifest": _received(False),
            "confirming": True,
            "decisions": ((uuid4(), "accepted", "Z9"),),
        },
        Severity.block,
    ),
    (
        "R50",
        {"manifest": _received(False), "now": NOW + timedelta(days=9)},
        Severity.warn,
    ),
    (
        "R49",
        {"manifest": _received(False).model_copy(update={"track": None}), "arriving": True},
        Severity.warn,
    ),
    (
        "R49",
        {"manifest": _received(False), "licence": licence(facility_lat=None), "arriving": True},
        Severity.warn,
    ),
    (  # 0.01 degree of latitude north of the gate: 1.1 km, over the 1,000 m geofence
        "R49",
        {
            "manifest": _received(False).model_copy(update={"track": track(Decimal("31.2731"))}),
            "arriving": True,
        },
        Severity.warn,
    ),
]


@pytest.mark.parametrize(("rule_id", "change", "severity"), RECEIPT_CASES)
def test_receipt_rules(rule_id: str, change: dict[str, Any], severity: Severity) -> None:
    f = fired(situation(Step.receipt, **change))
    assert set(f) == {rule_id}, {k: v.message_en for k, v in f.items()}
    assert f[rule_id].severity is severity
    assert f[rule_id].citation["clause"].split()[1][:2] in {"18", "12", "11"}


def test_r49_measures_the_track_end_against_the_geofence() -> None:
    """0.008 degree north is 890 m: inside the 1,000 m fence. 0.01 degree is 1,112 m."""
    near = _received(False).model_copy(update={"track": track(Decimal("31.2711"))})
    assert fired(situation(Step.receipt, manifest=near, arriving=True)) == {}
    far = _received(False).model_copy(update={"track": track(Decimal("31.2731"))})
    f = fired(situation(Step.receipt, manifest=far, arriving=True))["R49"]
    assert f.values["problem"] == "off_destination"
    assert f.values["distance_m"] == 1112 and f.values["geofence_m"] == 1000
    assert f.citation["clause"] == "Art. 11(3)(4)"
    # the handler deciding on the load later is not told again
    assert fired(situation(Step.receipt, manifest=far, confirming=True)) == {}
    none = _received(False).model_copy(update={"track": None})
    arrival = situation(Step.receipt, manifest=none, arriving=True)
    assert fired(arrival)["R49"].values["problem"] == "no_track"


def test_receipt_within_five_working_days_over_a_weekend_is_on_time() -> None:
    # received Friday 2026-06-05, confirmed Friday 2026-06-12 (5 working days later)
    m = _received(False).model_copy(update={"received_at": datetime(2026, 6, 5, 2, tzinfo=UTC)})
    s = situation(Step.receipt, manifest=m, now=datetime(2026, 6, 12, 2, tzinfo=UTC))
    assert "R50" not in fired(s)
    s = replace(s, now=datetime(2026, 6, 15, 2, tzinfo=UTC))
    assert "R50" in fired(s)
    assert fired(s)["R50"].citation["clause"] == "Art. 18 ¶1"


def test_a_late_confirmation_dated_back_is_still_late() -> None:
    m = _received(False).model_copy(update={"received_at": datetime(2026, 6, 5, 2, tzinfo=UTC)})
    backdated = situation(
        Step.receipt,
        manifest=m,
        now=datetime(2026, 6, 8, 2, tzinfo=UTC),  # what the confirmation claims
        entered_at=datetime(2026, 6, 19, 2, tzinfo=UTC),  # when it was recorded
    )
    assert fired(backdated)["R50"].values["working_days"] == 9  # 19 June: 端午节
    # a back-entered paper manifest carries its steps' paper dates: judged on those
    paper = md.PaperFallback(paper_number="苏-2026-1", completed_on=date(2026, 6, 8), reason="停机")
    on_paper = replace(backdated, manifest=m.model_copy(update={"paper": paper}))
    assert "R50" not in fired(on_paper)


def _disposing(method: str, **lot: Any) -> dict[str, Any]:
    """Lot 1 of a received manifest, loaded at the plant and accepted in full, is disposed of;
    `lot` changes that manifest lot."""
    lots = _lots()
    m = manifest(lots, status=md.ManifestStatus.received, received_at=NOW - timedelta(days=1))
    done = {"loaded": True, "accepted_kg": Decimal(100), "outcome": md.ReceiptOutcome.accepted}
    first = m.lots[0].model_copy(update={**done, **lot})
    m = m.model_copy(update={"lots": [first, *m.lots[1:]]})
    return {"lots": lots, "manifest": m, "disposal": ((lots[0].lot_id, method),)}


DISPOSAL_CASES = [
    ("R54", lambda: _disposing("D10"), Severity.block),  # not approved for HW34
    ("R54", lambda: _disposing("X1"), Severity.block),  # unknown code
    ("R51", lambda: {"manifest": _received(True)}, Severity.block),
    ("R55", lambda: _disposing("D9", digital_id=None), Severity.block),  # no generation batch
    ("R55", lambda: _disposing("D9", loaded=False), Severity.block),  # never scanned out
    ("R55", lambda: _disposing("D9", accepted_kg=None), Severity.block),
    ("R55", lambda: {**_disposing("D9"), "licence": licence(licence_no=" ")}, Severity.block),
    (
        "R55",
        lambda: {**_disposing("D9"), "licence": licence(enterprise_id=uuid4())},
        Severity.block,
    ),
    (
        "R56",
        lambda: {
            "manifest": manifest(_lots(), created_at=NOW - timedelta(days=90)),
            "closing": True,
        },
        Severity.warn,
    ),
]


@pytest.mark.parametrize(("rule_id", "change", "severity"), DISPOSAL_CASES)
def test_disposal_rules(rule_id: str, change: Any, severity: Severity) -> None:
    f = fired(situation(Step.disposal, **change()))
    assert set(f) == {rule_id}, {k: v.message_en for k, v in f.items()}
    assert f[rule_id].severity is severity


def test_a_complete_off_site_record_passes_r55() -> None:
    assert fired(situation(Step.disposal, **_disposing("D9"))) == {}
    f = fired(situation(Step.disposal, **_disposing("D9", loaded=False, accepted_kg=None)))
    assert f["R55"].values["missing"] == [
        "出库批次 storage-out batch (loading scan)",
        "接收量 accepted quantity",
    ]
    assert f["R55"].citation["clause"] == "6.3.4, 6.3.5"


def test_every_blocking_transfer_rule_has_a_failing_case() -> None:
    from app.domain.rules.registry import all_rules

    steps = {Step.transfer, Step.loading, Step.receipt, Step.disposal}
    blocking = {r.id for r in all_rules() if r.steps & steps and r.severity is Severity.block}
    covered = (
        {c[0] for c in TRANSFER_BLOCKS}
        | {c[0] for c in LOADING_BLOCKS}
        | {c[0] for c in RECEIPT_CASES if c[2] is Severity.block}
        | {c[0] for c in DISPOSAL_CASES if c[2] is Severity.block}
    )
    assert blocking <= covered, blocking - covered


def test_weight_tolerance_is_configurable_data() -> None:
    t = load_transfer_data()
    assert t.within_tolerance(Decimal(100), Decimal("101.9"))
    assert not t.within_tolerance(Decimal(100), Decimal("97.9"))
    assert t.within_tolerance(Decimal(10), Decimal("10.4"))  # below the 0.5 kg floor


_ = UUID
