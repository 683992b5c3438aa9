"""R60: declarations on the management class's cycle (HJ 1259 7.2), no database."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from app.domain.declarations import (
    CYCLE,
    check_cycle,
    month,
    parse_period,
    quarter,
    recent_periods,
    year,
)
from app.domain.errors import InvalidInput
from app.domain.rules.base import Severity, Step
from app.domain.rules.registry import evaluate
from app.domain.rules.reporting import ReportingSituation
from app.domain.rules.transfer import load_transfer_data

SINCE = date(2025, 6, 1)  # the site started using hazchain


def situation(klass: str, today: date, filed: set[str]) -> ReportingSituation:
    return ReportingSituation(
        step=Step.reporting,
        now=datetime(today.year, today.month, today.day, 2, tzinfo=UTC),
        today=today,
        management_class=klass,
        annual_t=Decimal(150),
        periods=tuple(recent_periods(klass, today, SINCE)),
        filed=frozenset(filed),
        tdata=load_transfer_data(),
    )


def fired(s: ReportingSituation) -> dict[str, tuple[str, Severity]]:
    return {
        f.values["period"]: (f.values["level"], f.severity)
        for f in evaluate(s)  # type: ignore[arg-type]
        if f.rule_id == "R60"
    }


# the twelve months back from November 2026: November 2025 to September 2026
MONTHS_2026 = {"2025-11", "2025-12"} | {f"2026-{m:02d}" for m in range(1, 10)}


@pytest.mark.parametrize(
    ("klass", "today", "filed", "expected"),
    [
        # key unit, October's monthly report is due 15 November; warned from the 8th (7 days)
        ("key", date(2026, 11, 7), MONTHS_2026 | {"2025"}, {}),
        ("key", date(2026, 11, 8), MONTHS_2026 | {"2025"}, {"2026-10": "due"}),
        ("key", date(2026, 11, 15), MONTHS_2026 | {"2025"}, {"2026-10": "due"}),
        ("key", date(2026, 11, 16), MONTHS_2026 | {"2025"}, {"2026-10": "past"}),
        ("key", date(2026, 11, 16), MONTHS_2026 | {"2025", "2026-10"}, {}),
        # a forgotten month stays overdue; 2025's annual report too
        (
            "key",
            date(2026, 11, 8),
            MONTHS_2026 - {"2026-03"},
            {"2026-03": "past", "2026-10": "due", "2025": "past"},
        ),
        # simplified: quarterly, Q3 due 15 October
        (
            "simplified",
            date(2026, 10, 9),
            {"2025", "2025Q4", "2026Q1", "2026Q2"},
            {"2026Q3": "due"},
        ),
        (
            "simplified",
            date(2026, 10, 20),
            {"2025", "2025Q4", "2026Q1", "2026Q2"},
            {"2026Q3": "past"},
        ),
        # registration: the annual declaration by 31 March
        ("registration", date(2026, 3, 24), set(), {"2025": "due"}),
        ("registration", date(2026, 3, 23), set(), {}),
        ("registration", date(2026, 4, 1), set(), {"2025": "past"}),
    ],
)
def test_r60(klass: str, today: date, filed: set[str], expected: dict[str, str]) -> None:
    got = fired(situation(klass, today, filed))
    assert {k: level for k, (level, _) in got.items()} == expected
    assert all(sev is Severity.warn for _, sev in got.values())


def test_r60_cites_hj_1259_7_2() -> None:
    (f,) = evaluate(situation("registration", date(2026, 4, 1), set()))  # type: ignore[arg-type]
    assert f.citation == {"document": "HJ 1259-2022", "clause": "7.2", "confidence": "TEXT"}
    assert f.values["due_on"] == "2026-03-31" and "逾期 1 天" in f.message_zh


def test_periods_and_deadlines() -> None:
    assert parse_period("2026-02") == month(2026, 2) and month(2026, 2).last == date(2026, 2, 28)
    assert parse_period("2026q4") == quarter(2026, 4) and quarter(2026, 4).due == date(2027, 1, 15)
    assert parse_period("2026") == year(2026) and year(2026).due == date(2027, 3, 31)
    assert month(2026, 12).due == date(2027, 1, 15)
    for bad in ("2026-13", "2026Q5", "26", "2026/01"):
        with pytest.raises(InvalidInput):
            parse_period(bad)
    # a year outside the calendar a record may name (9999 overflowed the day bounds: a 500)
    for far in ("9999", "0001", "1899-12", "3000Q1", "9999Q4"):
        with pytest.raises(InvalidInput, match="between 1900 and 2999") as refused:
            parse_period(far)
        assert refused.value.details == {"field": "period"}
    assert parse_period("2999").last == date(2999, 12, 31)
    check_cycle("key", month(2026, 1))
    check_cycle("key", year(2025))
    with pytest.raises(InvalidInput, match="declares monthly"):
        check_cycle("key", quarter(2026, 1))
    assert set(CYCLE) == {"key", "simplified", "registration"}
    # only ended periods, at most a year back and not before the site started
    labels = [p.label for p in recent_periods("simplified", date(2026, 11, 21), date(2026, 2, 1))]
    assert labels == ["2026Q1", "2026Q2", "2026Q3"]
