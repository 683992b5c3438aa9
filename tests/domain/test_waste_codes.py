"""The 名录 catalogue loaded from the versioned CSV."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from app.context import CATALOGUE_CSV, load_catalogue
from app.domain.waste_codes import code_format_problem, normalise_code

SHARED = Path(__file__).resolve().parents[3] / "shared" / "reference" / "waste-codes.csv"


def test_all_467_codes_of_the_2021_list_load_with_category_and_hazards() -> None:
    cat = load_catalogue()
    codes = cat.all("2021")
    assert len(codes) == 467
    assert {c.category for c in codes} == {f"HW{n:02d}" for n in range(1, 51)} - {
        "HW41",
        "HW42",
        "HW43",
        "HW44",
    }
    for c in codes:
        assert code_format_problem(c.code) is None
        assert c.code[-2:] == c.category[2:], c.code  # 名录 Art. 5(3)
        assert c.hazard_set <= {"T", "C", "I", "R", "In"}, c.hazard


def test_vendored_csv_matches_the_shared_reference_when_present() -> None:
    if not SHARED.exists():
        pytest.skip("../shared is not beside this checkout")
    assert CATALOGUE_CSV.read_bytes() == SHARED.read_bytes()


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("900-041-49", ["900-041-49"]),
        ("90004149", ["900-041-49"]),
        ("HW34", None),
        ("废碱", None),
        ("activated carbon", None),
    ],
)
def test_search(q: str, expected: list[str] | None) -> None:
    total, items = load_catalogue().search(q)
    assert total > 0
    if expected:
        assert [c.code for c in items] == expected
    if q == "HW34":
        assert total == 19 and all(c.category == "HW34" for c in items)


def test_edition_in_force() -> None:
    cat = load_catalogue()
    assert cat.edition_for(date(2024, 12, 31)) == "2021"
    assert cat.in_force("900-040-49", date(2024, 1, 1)) is None  # a 2016 code


@pytest.mark.parametrize(
    ("code", "problem"),
    [
        ("900-041-49", None),
        ("900-041-4", "ddd-ddd-dd"),
        ("900-041-00", "category 01-50"),
        ("HW49", "ddd-ddd-dd"),
    ],
)
def test_code_format(code: str, problem: str | None) -> None:
    found = code_format_problem(code)
    assert (found is None) if problem is None else (problem in (found or ""))


def test_normalise_code() -> None:
    assert normalise_code(" 90004149 ") == "900-041-49"
    assert normalise_code("900-041-49") == "900-041-49"
