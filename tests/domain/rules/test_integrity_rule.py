"""H02 and H03 without a database: the last verification run's broken link for a site, or
its break of the change trail, is a blocking finding with its citation; none, no finding."""

from __future__ import annotations

from datetime import UTC, datetime

from app.domain.rules.base import Severity, Step
from app.domain.rules.integrity import BrokenLinkSeen, IntegritySituation, TrailBreakSeen
from app.domain.rules.registry import evaluate, rules_for

NOW = datetime(2026, 11, 21, 12, tzinfo=UTC)


def test_an_intact_chain_gives_no_finding() -> None:
    assert evaluate(IntegritySituation(Step.integrity, NOW, None)) == []  # type: ignore[arg-type]


def test_a_broken_chain_blocks_and_says_where() -> None:
    seen = BrokenLinkSeen(17, "prev_hash does not match the previous event's hash", NOW)
    (f,) = evaluate(IntegritySituation(Step.integrity, NOW, seen))  # type: ignore[arg-type]
    assert (f.rule_id, f.severity, f.step) == ("H02", Severity.block, Step.integrity)
    assert f.citation["clause"] == "4.7; 6.4" and "GB 18597-2023" in f.citation["document"]
    assert "第 17 条" in f.message_zh and "position 17" in f.message_en
    assert f.values == {
        "chain_position": 17,
        "reason": seen.reason,
        "verified_at": NOW.isoformat(),
    }


def test_a_broken_change_trail_blocks_and_says_where() -> None:
    seen = TrailBreakSeen(42, "hash does not match the row: the row was altered", NOW)
    (f,) = evaluate(IntegritySituation(Step.integrity, NOW, None, seen))  # type: ignore[arg-type]
    assert (f.rule_id, f.severity, f.step) == ("H03", Severity.block, Step.integrity)
    assert f.citation["clause"] == "4.7; 6.4" and "GB 18597-2023" in f.citation["document"]
    assert "第 42 条起不可信" in f.message_zh and "broken at row 42" in f.message_en
    assert f.values == {"row_id": 42, "reason": seen.reason, "verified_at": NOW.isoformat()}
    # rows cut from its end: no row to name
    cut = TrailBreakSeen(None, "3 rows where an earlier verification saw 4: rows removed", NOW)
    (f,) = evaluate(IntegritySituation(Step.integrity, NOW, None, cut))  # type: ignore[arg-type]
    assert "末尾起不可信" in f.message_zh and "broken at its end" in f.message_en


def test_both_breaks_are_two_findings() -> None:
    chain = BrokenLinkSeen(3, "x", NOW)
    trail = TrailBreakSeen(1, "y", NOW)
    found = evaluate(IntegritySituation(Step.integrity, NOW, chain, trail))  # type: ignore[arg-type]
    assert [f.rule_id for f in found] == ["H02", "H03"]


def test_h02_and_h03_are_the_integrity_step_s_rules() -> None:
    assert [r.id for r in rules_for(Step.integrity)] == ["H02", "H03"]
