"""R32/R33 with a storage extension (延期贮存批准, 固废法 Art. 81 ¶3) on a frozen clock: no
block while the approval runs: an info note naming it, a warning from 65 days before its last
day (the year's own lead), the limit again after it. No database."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from app.domain.rules.base import Severity, SiteProfile, Step
from app.domain.values import china_date
from tests.domain.rules.support import NOW, SITE, findings_of, lot, situation, zone

OPERATOR = SiteProfile(site_id=SITE, province_code="32", licensed_operator=True)
GENERATOR = SiteProfile(site_id=SITE, province_code="32")
STRICT_PROVINCE = SiteProfile(site_id=SITE, province_code="33")  # profile: R33 blocks
APPROVAL = "苏环危延〔2026〕12号"
CITATION = {"document": "固废法 (2020)", "confidence": "TEXT"}


def aged(days: float, until: date | None = None) -> object:
    """A lot generated and stored `days` ago, extended until `until` (if given)."""
    since = NOW - timedelta(days=days)
    return lot(
        generated_at=since,
        stored_at=since,
        storage_extended_until=until,
        storage_extension_approval_no=APPROVAL if until else None,
    )


TODAY = china_date(NOW)


def check(site: SiteProfile, rule: str, days: float, until: date | None, step: Step) -> list:  # type: ignore[type-arg]
    kw = {"zone": zone()} if step is Step.storage_in else {}
    s = situation(step, the_lot=aged(days, until), site=site, **kw)  # type: ignore[arg-type]
    return findings_of(s, rule)


@pytest.mark.parametrize("step", [Step.storage_duration, Step.storage_in])
def test_r32_blocks_a_licence_holder_past_a_year_unless_an_extension_runs(step: Step) -> None:
    clause = {**CITATION, "clause": "Art. 81 ¶3"}
    # day 366 without an approval: blocked, citing the clause
    [f] = check(OPERATOR, "R32", 366, None, step)
    assert (f.rule_id, f.severity, f.citation) == ("R32", Severity.block, clause)
    assert "approval_no" not in f.values
    # with an approval running to a later day: an info note, no block
    until = TODAY + timedelta(days=90)
    [f] = check(OPERATOR, "R32", 366, until, step)
    assert (f.rule_id, f.severity, f.citation) == ("R32", Severity.info, clause)
    assert f.message_zh == f"已获延期贮存批准（文号 {APPROVAL}）至 {until}"
    assert (f.values["extended_until"], f.values["approval_no"]) == (str(until), APPROVAL)
    assert f.values["age_days"] == 366 and f.values["limit_days"] == 365
    # from 65 days before its last day (the year's lead: 365 - 300) it warns, as before a year
    [f] = check(OPERATOR, "R32", 366, TODAY + timedelta(days=65), step)
    assert (f.severity, f.values["days_left"]) == (Severity.warn, 65)
    assert f.message_zh == (
        f"延期贮存批准（文号 {APPROVAL}）将于 {TODAY + timedelta(days=65)} 到期（还剩 65 天），"
        "请安排转移或续批"
    )
    [f] = check(OPERATOR, "R32", 366, TODAY + timedelta(days=66), step)
    assert f.severity is Severity.info and "days_left" not in f.values
    # its last day still counts: a warning, not a block
    [f] = check(OPERATOR, "R32", 366, TODAY, step)
    assert (f.severity, f.values["days_left"]) == (Severity.warn, 0)
    # the day after, it blocks again, naming the approval that ran out
    [f] = check(OPERATOR, "R32", 366, TODAY - timedelta(days=1), step)
    assert (f.rule_id, f.severity, f.citation) == ("R32", Severity.block, clause)
    assert APPROVAL in f.message_zh and "到期" in f.message_zh
    assert f.values["extended_until"] == str(TODAY - timedelta(days=1))


def test_r32_an_extension_recorded_ahead_of_the_limit_replaces_the_warning() -> None:
    [f] = check(OPERATOR, "R32", 320, None, Step.storage_duration)
    assert f.severity is Severity.warn  # from day 300 without an approval
    [f] = check(OPERATOR, "R32", 320, TODAY + timedelta(days=200), Step.storage_duration)
    assert f.severity is Severity.info
    # a young lot says nothing, approval or not
    assert check(OPERATOR, "R32", 100, TODAY + timedelta(days=400), Step.storage_duration) == []


def test_r33_does_not_warn_a_generator_within_an_extension() -> None:
    clause = {**CITATION, "clause": "Art. 81 (scope) + province profile"}
    [f] = check(GENERATOR, "R33", 366, None, Step.storage_duration)
    assert (f.rule_id, f.severity, f.citation) == ("R33", Severity.warn, clause)
    [f] = check(GENERATOR, "R33", 366, TODAY + timedelta(days=100), Step.storage_duration)
    assert (f.rule_id, f.severity, f.citation) == ("R33", Severity.info, clause)
    assert APPROVAL in f.message_zh
    [f] = check(GENERATOR, "R33", 366, TODAY + timedelta(days=10), Step.storage_duration)
    assert (f.rule_id, f.severity, f.values["days_left"]) == ("R33", Severity.warn, 10)
    [f] = check(GENERATOR, "R33", 366, TODAY - timedelta(days=1), Step.storage_duration)
    assert (f.rule_id, f.severity, f.citation) == ("R33", Severity.warn, clause)
    assert "到期" in f.message_zh
    # R32 stays out of a generator's way, and R33 out of a licence holder's
    assert check(GENERATOR, "R32", 366, TODAY + timedelta(days=10), Step.storage_duration) == []
    assert check(OPERATOR, "R33", 366, TODAY + timedelta(days=10), Step.storage_duration) == []


def test_r33_where_a_province_makes_it_block_an_extension_lifts_the_block_until_its_day() -> None:
    assert [f.severity for f in check(STRICT_PROVINCE, "R33", 366, None, Step.storage_in)] == [
        Severity.block
    ]
    running = check(STRICT_PROVINCE, "R33", 366, TODAY + timedelta(days=100), Step.storage_in)
    assert [f.severity for f in running] == [Severity.info]
    ending = check(STRICT_PROVINCE, "R33", 366, TODAY, Step.storage_in)  # its last day
    assert [f.severity for f in ending] == [Severity.warn]
    over = check(STRICT_PROVINCE, "R33", 366, TODAY - timedelta(days=1), Step.storage_in)
    assert [f.severity for f in over] == [Severity.block]
