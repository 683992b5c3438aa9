"""The 豁免管理清单 #24 exemption (R61) on the lot aggregate: 900-041-49 rags and PPE collected
unsorted with household waste are not managed as hazardous waste — no storage limit runs,
and they leave with the household waste (`lot.discarded`) — until they are stored in a zone,
which segregates them. No database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from uuid import uuid4

import pytest

from app.domain import events as ev
from app.domain import lot
from app.domain.errors import InvalidInput, InvalidTransition
from app.domain.lot import DiscardLot, LotStatus
from app.domain.rules.base import Severity, Step
from app.domain.values import Container
from tests.domain.rules.support import findings_of, situation
from tests.domain.rules.support import lot as lot_state
from tests.domain.test_lot import CTX, GENERATED, LABELLED, STORED, T0, generate_cmd, given

RAGS = dict(
    name="废含油抹布",
    waste_code="900-041-49",
    physical_form="solid",
    container=Container(type="bag", volume_l=Decimal(50)),
    weight_kg=Decimal("12.5"),
)
EXEMPT = lot.generate(generate_cmd(**RAGS, collected_unsorted=True), CTX)
SEGREGATED = lot.generate(generate_cmd(**RAGS), CTX)
TODAY = date(2026, 3, 5)


def discard(state: lot.LotState, on: date = date(2026, 3, 2)) -> ev.LotDiscarded:
    return lot.discard(state, DiscardLot(discarded_on=on, note="随生活垃圾"), today=TODAY)


@pytest.mark.parametrize(
    ("generated", "exempt"),
    [
        (EXEMPT, True),
        (SEGREGATED, False),  # collected separately: hazardous waste
        # another code collected unsorted is not exempt (R61 warns at generation)
        (lot.generate(generate_cmd(collected_unsorted=True), CTX), False),
    ],
)
def test_only_unsorted_900_041_49_is_exempt(generated: ev.LotGenerated, exempt: bool) -> None:
    assert given(generated).exempt is exempt
    assert given(generated, LABELLED).exempt is exempt  # a label does not segregate it


def test_storing_it_in_a_zone_ends_the_exemption_for_good() -> None:
    state = given(EXEMPT, LABELLED, STORED)
    assert (state.exempt, state.status) == (False, LotStatus.stored)
    returned = given(EXEMPT, LABELLED, STORED, ev.LotReturned(manifest_id=uuid4(), reason="拒收"))
    assert returned.exempt is False


def test_no_storage_limit_runs_for_an_exempt_lot() -> None:
    for licensed in (False, True):
        assert lot.storage_clock_start(given(EXEMPT), licensed_operator=licensed) is None
        assert lot.one_year_limit(given(EXEMPT), 365, licensed_operator=licensed) is None
    # the same rags segregated: the generator's year runs from generation (R33)
    assert lot.storage_clock_start(given(SEGREGATED), licensed_operator=False) == T0
    # stored after all: the year runs from generation, as for any generator's lot
    assert lot.storage_clock_start(given(EXEMPT, LABELLED, STORED), licensed_operator=False) == T0


def test_an_exempt_lot_is_discarded_with_the_household_waste() -> None:
    for past in ((EXEMPT,), (EXEMPT, LABELLED)):
        e = discard(given(*past))
        assert (e.completed_on, e.note) == (date(2026, 3, 2), "随生活垃圾")
        after = lot.fold(
            ((x, T0 + timedelta(hours=i)) for i, x in enumerate((*past, e))), GENERATED.site_id
        )
        assert after is not None
        assert (after.status, after.completed_on) == (LotStatus.discarded, date(2026, 3, 2))
        assert after.status in lot.TERMINAL
        assert lot.storage_clock_start(after, licensed_operator=False) is None
    with pytest.raises(InvalidTransition, match="discarded"):
        discard(given(EXEMPT, e))


@pytest.mark.parametrize(
    "past",
    [(SEGREGATED,), (GENERATED,), (EXEMPT, LABELLED, STORED)],
    ids=["segregated rags", "waste acid", "exempt rags stored in a zone"],
)
def test_hazardous_waste_is_never_discarded(past: tuple[ev.Event, ...]) -> None:
    with pytest.raises(InvalidInput, match="豁免管理清单 #24") as err:
        discard(given(*past))
    assert err.value.details["rule_id"] == "R61"


def test_the_discard_date_lies_between_generation_and_today() -> None:
    with pytest.raises(InvalidInput, match="future"):
        discard(given(EXEMPT), on=TODAY + timedelta(days=1))
    with pytest.raises(InvalidInput, match="before the lot was generated"):
        discard(given(EXEMPT), on=date(2026, 2, 28))
    assert discard(given(EXEMPT), on=TODAY).completed_on == TODAY


def test_r61_warns_that_storing_an_exempt_lot_segregates_it() -> None:
    at = datetime(2026, 3, 2, tzinfo=UTC)
    found = findings_of(situation(Step.storage_in, lot_state(exempt=True), now=at), "R61")
    assert [f.severity for f in found] == [Severity.warn]
    assert "按危险废物管理" in found[0].message_zh
    assert findings_of(situation(Step.storage_in, lot_state(), now=at), "R61") == []
