"""H02 without a database: the last verification run's broken link for a site is a blocking
finding with its citation; no broken link, no finding."""

from __future__ import annotations

from datetime import UTC, datetime

from app.domain.rules.base import Severity, Step
from app.domain.rules.integrity import BrokenLinkSeen, IntegritySituation
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


def test_h02_is_the_integrity_step_s_only_rule() -> None:
    assert [r.id for r in rules_for(Step.integrity)] == ["H02"]
