"""Rules of the integrity step: the custody log's hash chain is intact (H02), and so is the
master data's change trail (H03).

The sweep assembles an `IntegritySituation` per site from the last recorded verification run:
the first broken link it found at the site, if any, and the change trail's break, if any (the
trail is one for every site: its licences, carriers and users are what every site's steps were
checked against). GB 18597-2023 4.7 asks that the electronic ledger's data be complete, true
and accurate, and HJ 1259-2022 6.4 that ledger records not be deleted: a broken chain means
records were changed or removed outside the application.
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
class TrailBreakSeen:
    row_id: int | None  # the first row that fails; none when rows were cut from its end
    reason: str
    verified_at: datetime


@dataclass(frozen=True)
class IntegritySituation:
    step: Step  # Step.integrity
    now: datetime
    broken: BrokenLinkSeen | None  # the site's first broken link in the last run, if any
    trail: TrailBreakSeen | None = None  # the change trail's break in the last run, if any


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


@rule(
    "H03",
    "主数据变更记录链完整",
    "the master data's change trail is intact",
    f"{GB18597}; HJ 1259-2022",
    "4.7; 6.4",
    P3,
    [Step.integrity],
    Severity.block,
)
def h03(s: IntegritySituation, r: Rule) -> Iterator[Finding]:
    b = s.trail
    if b is None:
        return
    where_zh = f"第 {b.row_id} 条" if b.row_id is not None else "末尾"
    where_en = f"at row {b.row_id}" if b.row_id is not None else "at its end"
    yield r.finding(
        s,  # type: ignore[arg-type]
        f"主数据变更记录（许可证、运输单位、用户等）校验未通过：{where_zh}起不可信（{b.reason}），"
        "记录可能在系统之外被改动或删除，请立即核查",
        f"the master data's change trail (licences, carriers, users, …) is broken {where_en} "
        f"({b.reason}): records may have been changed or removed outside the application; "
        "investigate now",
        row_id=b.row_id,
        reason=b.reason,
        verified_at=b.verified_at.isoformat(),
    )
