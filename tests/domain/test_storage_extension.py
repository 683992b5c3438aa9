"""Storage extension (延期贮存批准, 固废法 Art. 81 ¶3) on the lot aggregate: given past events,
when the approval is recorded, then the event and the state, or the reason it is refused. No
database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from app.domain import events as ev
from app.domain import lot
from app.domain.errors import InvalidInput, InvalidTransition
from app.domain.lot import ExtendStorage, LotStatus
from tests.domain.test_lot import CTX, GENERATED, LABELLED, STORED, generate_cmd

# stored on 2025-03-01 (China time): the one-year limit is its last day, 2026-03-01
T0 = datetime(2025, 3, 1, 0, 0, tzinfo=UTC)
LOT = UUID("00000000-0000-4000-8000-0000000000bb")
TODAY = date(2026, 2, 20)
MANIFEST = uuid4()


def given(*events: ev.Event) -> lot.LotState:
    state = lot.fold(((e, T0 + timedelta(hours=i)) for i, e in enumerate(events)), LOT)
    assert state is not None
    return state


def approval(**kw: Any) -> ExtendStorage:
    base: dict[str, Any] = dict(
        approval_no="苏环危延〔2026〕12号",
        authority="江苏省生态环境厅",
        approved_on=date(2026, 2, 10),
        extended_until=date(2026, 9, 1),
        note="处置单位检修",
    )
    base.update(kw)
    return ExtendStorage.model_validate(base)


STORED_LOT = (GENERATED, LABELLED, STORED)


def extend(state: lot.LotState, cmd: ExtendStorage, **kw: Any) -> ev.LotStorageExtended:
    """At a licence holder unless told otherwise: R32 counts from the storage date."""
    kw.setdefault("licensed_operator", True)
    return lot.extend_storage(state, cmd, **kw)


def kept_before_storage(days: int, *first: ev.Event) -> lot.LotState:
    """Generated `days` before T0 and stored at T0 (China time 08:00, 2025-03-01)."""
    at = [T0 - timedelta(days=days), T0 - timedelta(days=days, hours=-1), T0]
    state = lot.fold(zip((*(first or (GENERATED,)), LABELLED, STORED), at, strict=True), LOT)
    assert state is not None
    return state


def test_the_approval_is_an_event_that_the_lot_carries() -> None:
    state = given(*STORED_LOT)
    assert lot.one_year_limit(state, 365, licensed_operator=True) == date(2026, 3, 1)
    e = extend(state, approval(), today=TODAY, limit_days=365)
    assert e.TYPE == "lot.storage_extended"
    assert (e.approval_no, e.authority) == ("苏环危延〔2026〕12号", "江苏省生态环境厅")
    assert (e.approved_on, e.extended_until, e.note) == (
        date(2026, 2, 10),
        date(2026, 9, 1),
        "处置单位检修",
    )
    after = given(*STORED_LOT, e)
    assert after.storage_extended_until == date(2026, 9, 1)
    assert after.storage_extension_approval_no == "苏环危延〔2026〕12号"
    assert (after.status, after.version) == (LotStatus.stored, 4)  # no change of status
    # the payload survives the log's round trip
    again = ev.load_event(e.TYPE, e.SCHEMA_VERSION, e.payload())
    assert again == e


def test_a_later_approval_replaces_the_earlier_one() -> None:
    first = extend(given(*STORED_LOT), approval(), today=TODAY)
    state = given(*STORED_LOT, first)
    # a correction to an earlier day is a new event too, as long as it still extends the limit
    second = extend(
        state,
        approval(approval_no="苏环危延〔2026〕12号（更正）", extended_until=date(2026, 6, 30)),
        today=TODAY,
    )
    after = given(*STORED_LOT, first, second)
    assert after.storage_extended_until == date(2026, 6, 30)
    assert after.storage_extension_approval_no == "苏环危延〔2026〕12号（更正）"


def test_an_allocated_lot_is_still_in_storage() -> None:
    state = given(*STORED_LOT, ev.LotAllocated(manifest_id=MANIFEST))
    e = extend(state, approval(), today=TODAY)
    assert given(*STORED_LOT, ev.LotAllocated(manifest_id=MANIFEST), e).status is (
        LotStatus.allocated
    )


@pytest.mark.parametrize(
    "history",
    [
        (GENERATED,),
        (GENERATED, LABELLED),
        (*STORED_LOT, ev.LotAllocated(manifest_id=MANIFEST), ev.LotShipped(manifest_id=MANIFEST)),
        (
            *STORED_LOT,
            ev.LotAllocated(manifest_id=MANIFEST),
            ev.LotShipped(manifest_id=MANIFEST),
            ev.LotReceived(
                manifest_id=MANIFEST,
                outcome="accepted",  # type: ignore[arg-type]
                received_weight_kg="180.5",  # type: ignore[arg-type]
                accepted_weight_kg="180.5",  # type: ignore[arg-type]
            ),
            ev.LotDisposed(method_code="D10", completed_on=date(2026, 1, 5)),
        ),
    ],
    ids=["generated", "labelled", "shipped", "disposed"],
)
def test_a_lot_not_in_storage_is_refused_with_the_reason(history: tuple[ev.Event, ...]) -> None:
    state = given(*history)
    with pytest.raises(InvalidTransition, match="only a lot in storage") as exc:
        extend(state, approval(), today=TODAY)
    assert exc.value.details["status"] == state.status.value


def test_a_returned_lot_starts_its_storage_afresh_without_the_old_extension() -> None:
    e = extend(given(*STORED_LOT), approval(), today=TODAY)
    state = given(
        *STORED_LOT,
        e,
        ev.LotAllocated(manifest_id=MANIFEST),
        ev.LotShipped(manifest_id=MANIFEST),
        ev.LotReceived(
            manifest_id=MANIFEST,
            outcome="rejected",  # type: ignore[arg-type]
            received_weight_kg="180.5",  # type: ignore[arg-type]
            accepted_weight_kg="0",  # type: ignore[arg-type]
        ),
        ev.LotReturned(manifest_id=MANIFEST, reason="拒收"),
    )
    assert (state.status, state.stored_at) == (LotStatus.labelled, None)
    assert (state.storage_extended_until, state.storage_extension_approval_no) == (None, None)


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({"extended_until": date(2026, 3, 1)}, "extended_until", "may be stored until 2026-03-01"),
        (
            {"approved_on": date(2025, 12, 1), "extended_until": date(2026, 1, 1)},
            "extended_until",
            "does not extend anything",
        ),
        (
            {"approved_on": date(2026, 4, 1), "extended_until": date(2026, 3, 20)},
            "approved_on",  # dated after the day it is recorded (checked first)
            "after the day it is recorded",
        ),
        (
            {"approved_on": date(2026, 2, 20), "extended_until": date(2026, 2, 20)},
            "extended_until",
            "must be after the approval date",
        ),
        ({"approval_no": "   "}, "approval_no", "批准文号"),
        ({"authority": " "}, "authority", "批准机关"),
    ],
)
def test_dates_that_extend_nothing_are_refused(
    change: dict[str, Any], field: str, reason: str
) -> None:
    with pytest.raises(InvalidInput, match=reason) as exc:
        extend(given(*STORED_LOT), approval(**change), today=TODAY)
    assert exc.value.details["field"] == field


def test_the_limit_follows_the_rule_sets_days() -> None:
    state = given(*STORED_LOT)
    # with a 400-day limit, 2026-03-20 is still inside it: nothing to extend
    with pytest.raises(InvalidInput, match="2026-04-05"):
        extend(state, approval(extended_until=date(2026, 3, 20)), today=TODAY, limit_days=400)


def test_the_command_refuses_what_is_missing_or_too_long() -> None:
    with pytest.raises(ValueError, match="extended_until"):
        ExtendStorage.model_validate({"approval_no": "x", "authority": "y", "approved_on": TODAY})
    with pytest.raises(ValueError, match="approval_no"):
        approval(approval_no="x" * 65)


def test_a_generators_limit_counts_from_generation() -> None:
    """R33 counts a generator's year from generation, R32 a licence holder's from storage-in
    (regulations.md §10): the extension's check counts as the rule does."""
    state = kept_before_storage(60)  # generated 2024-12-31, stored 2025-03-01
    assert lot.storage_clock_start(state, licensed_operator=False) == state.generated_at
    assert lot.storage_clock_start(state, licensed_operator=True) == state.stored_at
    assert lot.one_year_limit(state, 365, licensed_operator=False) == date(2025, 12, 31)
    assert lot.one_year_limit(state, 365, licensed_operator=True) == date(2026, 3, 1)
    # 2026-01-31 extends a generator's limit, and nothing at a licence holder
    cmd = approval(approved_on=date(2025, 12, 20), extended_until=date(2026, 1, 31))
    e = extend(state, cmd, today=date(2025, 12, 25), licensed_operator=False)
    assert e.extended_until == date(2026, 1, 31)
    with pytest.raises(InvalidInput, match="may be stored until 2026-03-01"):
        extend(state, cmd, today=date(2025, 12, 25), licensed_operator=True)


def test_general_waste_has_no_limit_to_extend() -> None:
    general = lot.generate(
        generate_cmd(kind="general", waste_code=None, general_class="I", general_category="SW13"),
        CTX,
    )
    state = kept_before_storage(400, general)
    for licensed in (False, True):
        assert lot.storage_clock_start(state, licensed_operator=licensed) is None
        assert lot.one_year_limit(state, 365, licensed_operator=licensed) is None
        with pytest.raises(InvalidInput, match="general industrial solid waste") as exc:
            extend(state, approval(), today=TODAY, licensed_operator=licensed)
        assert exc.value.details["kind"] == "general"


def test_no_limit_runs_once_the_lot_has_left() -> None:
    shipped = given(
        *STORED_LOT, ev.LotAllocated(manifest_id=MANIFEST), ev.LotShipped(manifest_id=MANIFEST)
    )
    for licensed in (False, True):
        assert lot.storage_clock_start(shipped, licensed_operator=licensed) is None
    labelled = given(GENERATED, LABELLED)  # a generator's year runs before storage-in
    assert lot.storage_clock_start(labelled, licensed_operator=False) == labelled.generated_at
    assert lot.storage_clock_start(labelled, licensed_operator=True) is None
