"""Lot aggregate: given past events, when a command, then events or an error. No database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from uuid import UUID, uuid4

import pytest

from app.context import load_catalogue
from app.domain import events as ev
from app.domain import lot
from app.domain.errors import InvalidInput, InvalidTransition
from app.domain.lot import GenerateLot, LotContext, LotStatus
from app.domain.values import Container, ContainerCondition, ReceiptOutcome

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
SITE = UUID("00000000-0000-4000-8000-000000000001")
LOT = UUID("00000000-0000-4000-8000-0000000000aa")
ZONE_A, ZONE_B = uuid4(), uuid4()
MANIFEST = uuid4()
CTX = LotContext(load_catalogue(), date(2026, 3, 1))


def generate_cmd(**kw: object) -> GenerateLot:
    base: dict[str, object] = dict(
        site_id=SITE,
        name="废酸",
        waste_code="900-349-34",
        physical_form="liquid",
        container=Container(type="drum", volume_l=Decimal(200), material="HDPE"),
        weight_kg=Decimal("180.5"),
    )
    base.update(kw)
    return GenerateLot.model_validate(base)


def given(*events: ev.Event) -> lot.LotState:
    state = lot.fold(((e, T0 + timedelta(hours=i)) for i, e in enumerate(events)), LOT)
    assert state is not None
    return state


GENERATED = lot.generate(generate_cmd(), CTX)
LABELLED = ev.LotLabelled()
STORED = ev.LotStored(zone_id=ZONE_A)


class TestGenerate:
    def test_hazardous_lot_takes_category_and_listed_hazards_from_the_catalogue(self) -> None:
        e = lot.generate(generate_cmd(), CTX)
        assert (e.category, e.waste_code, e.hazard_characteristics) == (
            "HW34",
            "900-349-34",
            ["T", "C"],
        )
        assert e.catalogue_edition == "2021"

    def test_code_without_hyphens_is_normalised(self) -> None:
        assert lot.generate(generate_cmd(waste_code="90034934"), CTX).waste_code == "900-349-34"

    def test_unknown_code_is_refused_with_the_edition(self) -> None:
        with pytest.raises(InvalidInput, match=r"not in the 国家危险废物名录 \(2021 edition"):
            lot.generate(generate_cmd(waste_code="900-040-49"), CTX)  # a 2016 code

    def test_malformed_code_is_refused(self) -> None:
        with pytest.raises(InvalidInput, match="ddd-ddd-dd"):
            lot.generate(generate_cmd(waste_code="HW34"), CTX)

    def test_explicit_hazards_are_ordered_and_checked(self) -> None:
        assert lot.generate(
            generate_cmd(hazard_characteristics=["C", "T", "C"]), CTX
        ).hazard_characteristics == ["T", "C"]
        with pytest.raises(InvalidInput, match="unknown hazard"):
            lot.generate(generate_cmd(hazard_characteristics=["X"]), CTX)

    def test_general_waste_needs_class_and_category_and_no_code(self) -> None:
        e = lot.generate(
            generate_cmd(
                kind="general",
                waste_code=None,
                general_class="I",
                general_category="sw13",
                name="药渣",
                physical_form="solid",
            ),
            CTX,
        )
        assert (e.category, e.general_class, e.hazard_characteristics) == ("SW13", "I", [])
        with pytest.raises(ValueError, match="general_class"):
            generate_cmd(kind="general", waste_code=None)
        with pytest.raises(ValueError, match="no 名录 waste_code"):
            generate_cmd(kind="general", general_class="I", general_category="SW13")
        with pytest.raises(InvalidInput, match="unknown general-waste category"):
            lot.generate(
                generate_cmd(
                    kind="general", waste_code=None, general_class="II", general_category="SW99"
                ),
                CTX,
            )

    def test_hazardous_lot_needs_a_code(self) -> None:
        with pytest.raises(ValueError, match="needs waste_code"):
            generate_cmd(waste_code=None)


class TestHappyPath:
    def test_full_lifecycle_folds_to_disposed(self) -> None:
        s = given(GENERATED)
        assert (s.status, s.version, s.generated_at) == (LotStatus.generated, 1, T0)
        events: list[ev.Event] = [GENERATED]
        for decide in [
            lambda s: lot.label(s),
            lambda s: lot.weigh(s, Decimal("181.0")),
            lambda s: lot.store(s, ZONE_A),
            lambda s: lot.move(s, ZONE_B),
            lambda s: lot.inspect(s, ContainerCondition.intact),
            lambda s: lot.allocate(s, MANIFEST),
            lambda s: lot.ship(s, MANIFEST),
            lambda s: lot.receive(s, ReceiptOutcome.accepted, Decimal("181.0")),
            lambda s: lot.complete(s, "D10", date(2026, 4, 1)),
        ]:
            events.append(decide(given(*events)))
        s = given(*events)
        assert s.status is LotStatus.disposed
        assert s.version == 10
        assert s.weight_kg == Decimal("181.0")
        assert s.zone_id is None  # left the site at shipping
        assert s.stored_at == T0 + timedelta(hours=3)  # first storage, not the move
        assert (s.method_code, s.completed_on) == ("D10", date(2026, 4, 1))

    def test_r_code_means_utilised(self) -> None:
        s = given(
            GENERATED,
            LABELLED,
            STORED,
            ev.LotAllocated(manifest_id=MANIFEST),
            ev.LotShipped(manifest_id=MANIFEST),
        )
        s = given(
            GENERATED,
            LABELLED,
            STORED,
            ev.LotAllocated(manifest_id=MANIFEST),
            ev.LotShipped(manifest_id=MANIFEST),
            lot.receive(s, ReceiptOutcome.accepted, Decimal(180)),
        )
        assert isinstance(lot.complete(s, "r2", date(2026, 4, 1)), ev.LotUtilised)
        with pytest.raises(InvalidInput, match="unknown method code"):
            lot.complete(s, "D99", date(2026, 4, 1))


class TestIllegalTransitions:
    @pytest.mark.parametrize(
        ("history", "decide", "message"),
        [
            ([GENERATED], lambda s: lot.store(s, ZONE_A), "cannot store a lot that is generated"),
            ([GENERATED, LABELLED], lambda s: lot.label(s), "cannot label a lot that is labelled"),
            (
                [GENERATED, LABELLED],
                lambda s: lot.move(s, ZONE_A),
                "cannot move a lot that is labelled",
            ),
            ([GENERATED, LABELLED, STORED], lambda s: lot.move(s, ZONE_A), "already in that zone"),
            ([GENERATED, LABELLED, STORED], lambda s: lot.ship(s, MANIFEST), "cannot ship"),
            (
                [GENERATED, LABELLED, STORED],
                lambda s: lot.receive(s, ReceiptOutcome.accepted, Decimal(1)),
                "cannot receive",
            ),
            ([GENERATED], lambda s: lot.reprint_label(s, "torn"), "no label yet"),
            (
                [GENERATED, LABELLED, STORED, ev.LotAllocated(manifest_id=MANIFEST)],
                lambda s: lot.ship(s, uuid4()),
                "different manifest",
            ),
        ],
    )
    def test_refused_with_a_reason(
        self, history: list[ev.Event], decide: object, message: str
    ) -> None:
        with pytest.raises(InvalidTransition, match=message):
            decide(given(*history))  # type: ignore[operator]

    def test_terminal_lot_accepts_nothing(self) -> None:
        s = given(
            GENERATED,
            LABELLED,
            STORED,
            ev.LotAllocated(manifest_id=MANIFEST),
            ev.LotShipped(manifest_id=MANIFEST),
            ev.LotReceived(
                manifest_id=MANIFEST,
                outcome="accepted",
                received_weight_kg=Decimal(1),
                accepted_weight_kg=Decimal(1),
            ),
            ev.LotDisposed(method_code="D10", completed_on=date(2026, 4, 1)),
        )
        for decide in (
            lambda: lot.weigh(s, Decimal(1)),
            lambda: lot.inspect(s, "intact"),
            lambda: lot.repack(s, s.container, "x"),
            lambda: lot.complete(s, "D10", date.today()),
        ):
            with pytest.raises(InvalidTransition):
                decide()


class TestInspectionAndRepack:
    def test_damaged_container_blocks_moves_and_shipping_until_repacked(self) -> None:
        leaking = ev.LotInspected(condition=ContainerCondition.leaking, notes="桶底渗漏")
        s = given(GENERATED, LABELLED, STORED, leaking)
        assert s.needs_repack
        with pytest.raises(InvalidTransition, match="leaking: repack it before moving"):
            lot.move(s, ZONE_B)
        with pytest.raises(InvalidTransition, match="repacked before shipping"):
            lot.allocate(s, MANIFEST)
        new = Container(type="drum", volume_l=Decimal(200), material="HDPE")
        repacked = lot.repack(s, new, "转入新桶", Decimal("179"))
        s = given(GENERATED, LABELLED, STORED, leaking, repacked)
        assert not s.needs_repack and s.weight_kg == Decimal(179)
        assert isinstance(lot.move(s, ZONE_B), ev.LotMoved)

    def test_a_leak_found_on_a_manifest_holds_the_lot_until_it_is_overpacked(self) -> None:
        allocated = ev.LotAllocated(manifest_id=MANIFEST)
        leaking = ev.LotInspected(condition=ContainerCondition.leaking, notes="装车前发现渗漏")
        s = given(GENERATED, LABELLED, STORED, allocated, leaking)
        with pytest.raises(InvalidTransition, match="leaking: repack it before it is loaded"):
            lot.load(s, MANIFEST)
        with pytest.raises(InvalidTransition, match="leaking: repack it before it is loaded"):
            lot.ship(s, MANIFEST)
        overpack = Container(type="drum", volume_l=Decimal(360), material="steel", code="套桶-01")
        # the manifest declared the weight: a new one means releasing the lot first
        with pytest.raises(InvalidTransition, match=r"declares 180\.500 kg"):
            lot.repack(s, overpack, "套桶", Decimal(185))
        repacked = lot.repack(s, overpack, "套桶")
        s = given(GENERATED, LABELLED, STORED, allocated, leaking, repacked)
        assert not s.needs_repack and s.status is LotStatus.allocated
        assert s.weight_kg == Decimal("180.5") and s.container == overpack
        assert isinstance(lot.load(s, MANIFEST), ev.LotLoaded)
        assert isinstance(lot.ship(s, MANIFEST), ev.LotShipped)

    def test_repack_needs_a_reason(self) -> None:
        with pytest.raises(InvalidInput, match="needs a reason"):
            lot.repack(given(GENERATED), given(GENERATED).container, "  ")


class TestReceipt:
    def shipped(self) -> lot.LotState:
        return given(
            GENERATED,
            LABELLED,
            STORED,
            ev.LotAllocated(manifest_id=MANIFEST),
            ev.LotShipped(manifest_id=MANIFEST),
        )

    def test_partly_accepted_needs_a_smaller_accepted_weight(self) -> None:
        e = lot.receive(self.shipped(), ReceiptOutcome.partly_accepted, Decimal(180), Decimal(150))
        assert e.accepted_weight_kg == Decimal(150)
        with pytest.raises(InvalidInput, match="partly_accepted needs"):
            lot.receive(self.shipped(), ReceiptOutcome.partly_accepted, Decimal(180), Decimal(180))
        with pytest.raises(InvalidInput, match="exceeds received"):
            lot.receive(self.shipped(), ReceiptOutcome.partly_accepted, Decimal(180), Decimal(181))
        with pytest.raises(InvalidInput, match="use partly_accepted"):
            lot.receive(self.shipped(), ReceiptOutcome.accepted, Decimal(180), Decimal(170))

    def test_rejected_lot_returns_to_the_consignor_inventory(self) -> None:
        rejected = lot.receive(self.shipped(), ReceiptOutcome.rejected, Decimal(180))
        assert rejected.accepted_weight_kg == 0
        history = [
            GENERATED,
            LABELLED,
            STORED,
            ev.LotAllocated(manifest_id=MANIFEST),
            ev.LotShipped(manifest_id=MANIFEST),
            rejected,
        ]
        s = given(*history)
        assert s.status is LotStatus.rejected
        with pytest.raises(InvalidTransition):
            lot.complete(s, "D10", date(2026, 4, 1))
        s = given(*history, lot.return_to_consignor(s, "包装不符"))
        assert (s.status, s.manifest_id, s.zone_id) == (LotStatus.labelled, None, None)
        assert isinstance(lot.store(s, ZONE_A), ev.LotStored)


class TestCorrection:
    def test_only_descriptive_fields_can_be_corrected(self) -> None:
        s = given(GENERATED)
        e = lot.correct(s, uuid4(), {"name": "废硫酸"}, "名称录入错误")
        assert given(GENERATED, e).name == "废硫酸"
        with pytest.raises(InvalidInput, match="cannot correct weight_kg"):
            lot.correct(s, uuid4(), {"weight_kg": "1"}, "x")
        with pytest.raises(InvalidInput, match="needs a reason"):
            lot.correct(s, uuid4(), {"name": "x"}, " ")


def test_per_lot_manifest_steps_check_the_lots_own_manifest_and_keep_its_status() -> None:
    s = given(GENERATED, LABELLED, STORED)
    with pytest.raises(InvalidTransition):
        lot.load(s, MANIFEST)  # stored, not allocated
    s = given(GENERATED, LABELLED, STORED, ev.LotAllocated(manifest_id=MANIFEST))
    with pytest.raises(InvalidTransition, match="different manifest"):
        lot.load(s, uuid4())
    e = lot.load(s, MANIFEST, " 苏e12345 ")
    assert e.vehicle_plate == "苏E12345"
    after = lot.evolve(s, e, datetime(2026, 3, 2, tzinfo=UTC), s.lot_id)
    assert (after.status, after.version) == (LotStatus.allocated, s.version + 1)
    s = lot.evolve(after, ev.LotShipped(manifest_id=MANIFEST), datetime.now(UTC), s.lot_id)
    with pytest.raises(InvalidInput, match="accepted weight exceeds"):
        lot.check_in(s, MANIFEST, ReceiptOutcome.partly_accepted, Decimal(10), Decimal(11))
    c = lot.check_in(s, MANIFEST, ReceiptOutcome.rejected, Decimal(10))
    assert c.accepted_weight_kg == 0
    after = lot.evolve(s, c, datetime.now(UTC), s.lot_id)
    assert after.status is LotStatus.shipped  # decided at the receipt
