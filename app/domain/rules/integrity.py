"""Rule of the integrity step (H02): the custody log's hash chain is intact.

The sweep assembles an `IntegritySituation` per site from the last recorded verification run:
the first broken link it found at the site, if any. GB 18597-2023 4.7 asks that the electronic
ledger's data be complete, true and accurate, and HJ 1259-2022 6.4 that ledger records not be
deleted: a broken chain means records were changed or removed outside the application.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from app.domain.rules.base import Finding, Rule, Severity, Step
from app.domain.rules.common import GB18597, P3, rule


@dataclass(frozen=True)
class BrokenLinkSeen:
    chain_position: int
    reason: str
    verified_at: datetime  # when the run that found it started


@dataclass(frozen=True)
class IntegritySituation:
    step: Step  # Step.integrity
    now: datetime
    broken: BrokenLinkSeen | None  # the site's first broken link in the last run, if any


@rule(
    "H02",
    "电子台账记录链完整",
    "the custody log's hash chain is intact",
    f"{GB18597}; HJ 1259-2022",
    "4.7; 6.4",
    P3,
    [Step.integrity],
    Severity.block,
)
def h02(s: IntegritySituation, r: Rule) -> Iterator[Finding]:
    b = s.broken
    if b is None:
        return
    position = b.chain_position
    yield r.finding(
        s,  # type: ignore[arg-type]
        f"电子台账记录链校验未通过：第 {position} 条记录起不可信（{b.reason}），"
        "记录可能在系统之外被改动或删除，请立即核查",
        f"the custody log's chain is broken at position {position} ({b.reason}): records "
        "may have been changed or removed outside the application; investigate now",
        chain_position=position,
        reason=b.reason,
        verified_at=b.verified_at.isoformat(),
    )
