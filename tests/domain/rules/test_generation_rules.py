"""Generation rules (名录): R01, R02, R04, R61 — passing, failing and edge cases."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.domain.rules.base import Severity, Step
from tests.domain.rules.support import findings_of, proposal, situation


def gen(**kw: object) -> object:
    return situation(Step.generation, proposal=proposal(**kw))


@pytest.mark.parametrize(
    ("code", "rule", "expected", "text"),
    [
        ("900-349-34", "R01", None, None),
        ("900-349-41", "R01", Severity.block, "HW41-HW44 do not exist"),
        ("900-040-49", "R02", Severity.block, "not in the 2021 edition"),  # a 2016 code
        ("900-041-49", "R02", None, None),
        ("90004149", "R02", None, None),  # without hyphens
        ("900-000-34", "R02", Severity.block, "identification report"),
    ],
)
def test_code_rules(code: str, rule: str, expected: Severity | None, text: str | None) -> None:
    found = findings_of(gen(waste_code=code, hazard_characteristics=["C"]), rule)  # type: ignore[arg-type]
    if expected is None:
        assert found == []
    else:
        assert [f.severity for f in found] == [expected]
        assert text in found[0].message_en
        assert found[0].citation["document"] == "国家危险废物名录 (2021)"


def test_900_000_with_an_identification_report_passes() -> None:
    s = gen(
        waste_code="900-000-34", hazard_characteristics=["C"], identification_report="JB-2026-001"
    )
    assert findings_of(s, "R02") == []  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("code", "given", "warned"),
    [
        ("900-349-34", ["C"], False),  # "C,T": first-listed C present
        ("900-349-34", ["T"], True),  # first-listed C missing
        ("900-047-49", ["I"], False),  # "T/C/I/R": any overlap
        ("900-047-49", ["In"], True),
        ("900-349-34", None, False),  # defaults from the listing
    ],
)
def test_r04_hazards_match_the_listing(code: str, given: list[str] | None, warned: bool) -> None:
    found = findings_of(gen(waste_code=code, hazard_characteristics=given), "R04")  # type: ignore[arg-type]
    assert bool(found) is warned
    if warned:
        assert found[0].severity is Severity.warn and found[0].citation["clause"] == "附表注1"


def test_r61_exemption_of_unsorted_oily_rags() -> None:
    found = findings_of(gen(waste_code="900-041-49", collected_unsorted=True), "R61")  # type: ignore[arg-type]
    assert [f.severity for f in found] == [Severity.info]
    assert "豁免管理清单 #24" in found[0].citation["clause"]
    other = findings_of(gen(waste_code="900-349-34", collected_unsorted=True), "R61")  # type: ignore[arg-type]
    assert [f.severity for f in other] == [Severity.warn]


def test_the_edition_in_force_follows_the_generation_date() -> None:
    s = situation(
        Step.generation,
        proposal=proposal(waste_code="900-040-49"),
        now=datetime(2020, 6, 1, tzinfo=UTC),
    )
    # Before 2021 the 2021 list is still the oldest loaded one: the code is unknown there too.
    assert findings_of(s, "R02")
