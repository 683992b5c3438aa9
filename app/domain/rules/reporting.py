"""Rule of the reporting step (R60): periodic declarations filed on time.

The sweep assembles a `ReportingSituation` per site: its management class, the recent periods
of the class's cycles and which of them were filed. R60 warns before a declaration falls due
(`warn_days` in `data/transfer.toml`) and after, until it is filed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from app.domain.declarations import CLASS_ZH, CYCLE_ZH, Period
from app.domain.rules.base import Finding, Rule, Severity, Step
from app.domain.rules.common import T, rule
from app.domain.rules.transfer import HJ1259, TransferData


@dataclass(frozen=True)
class ReportingSituation:
    step: Step  # Step.reporting
    now: datetime
    today: date  # China calendar day
    management_class: str  # key | simplified | registration (HJ 1259 4.2)
    annual_t: Decimal  # the figure the class was decided on
    periods: tuple[Period, ...]  # recent periods of the class's cycles, oldest first
    filed: frozenset[str]  # period labels with a filed declaration
    tdata: TransferData
    class_reasons: tuple[str, ...] = ()  # why the class (HJ 1259 4.2.1), in Chinese


@rule(
    "R60",
    "按管理类别按期申报",
    "declarations filed on the management class's cycle",
    HJ1259,
    "7.2",
    T,
    [Step.reporting],
    Severity.warn,
)
def r60(s: ReportingSituation, r: Rule) -> Iterator[Finding]:
    klass = CLASS_ZH[s.management_class]
    for p in s.periods:
        if p.label in s.filed:
            continue
        days = (p.due - s.today).days
        cycle = CYCLE_ZH[p.kind]
        if days < 0:
            level = "past"
            zh = f"{p.label} {cycle}申报已逾期 {-days} 天（{klass}，应于 {p.due} 前）"
            en = f"the {p.kind} declaration for {p.label} is {-days} days overdue (due {p.due})"
        elif days <= s.tdata.declaration_warn_days:
            level = "due"
            zh = f"{p.label} {cycle}申报将于 {p.due} 到期（{klass}，还有 {days} 天）"
            en = f"the {p.kind} declaration for {p.label} is due on {p.due} ({days} days left)"
        else:
            continue
        yield r.finding(
            s,  # type: ignore[arg-type]
            zh,
            en,
            period=p.label,
            cycle=p.kind,
            due_on=p.due.isoformat(),
            level=level,
            management_class=s.management_class,
        )
