"""HJ 1259 §7 periodic declarations (申报): periods, deadlines and the filing event.

The management class (重点 / 简化 / 登记) sets the cycle: key units declare monthly, simplified
ones quarterly, registered ones yearly, and every class also yearly. A month or quarter is due
by the 15th of the month after it; a year by 31 March of the next (HJ 1259 7.2, rule R60).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from app.domain import events as ev
from app.domain.errors import InvalidInput
from app.domain.values import FIRST_YEAR, LAST_YEAR

# HJ 1259-2022 §4.2.1: the class thresholds in tonnes of hazardous waste a year.
KEY_T = 100
SIMPLIFIED_T = 10


def classify(
    annual_t: Decimal,
    *,
    own_facility: bool = False,
    licence: bool = False,
    key_t: Decimal | int = KEY_T,
    simplified_t: Decimal | int = SIMPLIFIED_T,
    year_note: str = "",
) -> tuple[str, list[str]]:
    """The HJ 1259 §4.2 management class and why. `annual_t` is the annual quantity of §4.2.3:
    the largest of the last three years' generation (the caller picks the years, and may say
    which gave it in `year_note`). Key supervision on ≥ `key_t`, an own utilisation/disposal
    facility or an operating licence; simplified on ≥ `simplified_t`; registration below."""
    t = f"{annual_t.quantize(Decimal('0.001'))} t{year_note}"
    reasons = []
    if annual_t >= key_t:
        reasons.append(f"年产生量 {t} ≥ {key_t} t")
    if own_facility:
        reasons.append("自建利用/处置设施")
    if licence:
        reasons.append("持有危险废物经营许可证")
    if reasons:
        return "key", reasons
    if annual_t >= simplified_t:
        return "simplified", [f"{simplified_t} t ≤ 年产生量 {t} < {key_t} t"]
    return "registration", [f"年产生量 {t} < {simplified_t} t"]


CYCLE = {"key": "monthly", "simplified": "quarterly", "registration": "yearly"}
CLASS_ZH = {"key": "重点监管单位", "simplified": "简化管理单位", "registration": "登记管理单位"}
CYCLE_ZH = {"monthly": "月度", "quarterly": "季度", "yearly": "年度"}


@dataclass(frozen=True, order=True)
class Period:
    first: date
    last: date
    kind: str  # monthly | quarterly | yearly
    label: str  # 2026-10 | 2026Q3 | 2026

    @property
    def due(self) -> date:
        if self.kind == "yearly":
            return date(self.last.year + 1, 3, 31)
        nxt = self.last + timedelta(days=1)
        return date(nxt.year, nxt.month, 15)


def month(year: int, m: int) -> Period:
    first = date(year, m, 1)
    nxt = date(year + (m == 12), 1 if m == 12 else m + 1, 1)
    return Period(first, nxt - timedelta(days=1), "monthly", f"{year}-{m:02d}")


def quarter(year: int, q: int) -> Period:
    first = date(year, 3 * q - 2, 1)
    nxt = date(year + (q == 4), 1 if q == 4 else 3 * q + 1, 1)
    return Period(first, nxt - timedelta(days=1), "quarterly", f"{year}Q{q}")


def year(y: int) -> Period:
    return Period(date(y, 1, 1), date(y, 12, 31), "yearly", str(y))


def _parse_period(text: str) -> Period:
    p = text.strip().upper()
    try:
        if len(p) == 4:
            return year(int(p))
        if "Q" in p:
            y, q = p.split("Q")
            if not 1 <= int(q) <= 4:
                raise ValueError
            return quarter(int(y), int(q))
        y, m = p.split("-")
        return month(int(y), int(m))
    except ValueError as exc:
        raise InvalidInput(
            "period is YYYY-MM (monthly), YYYYQn (quarterly) or YYYY (yearly)", field="period"
        ) from exc


def parse_period(text: str) -> Period:
    head = text.strip()[:4]
    if head.isdigit() and not FIRST_YEAR <= int(head) <= LAST_YEAR:
        raise InvalidInput(
            f"the period's year must lie between {FIRST_YEAR} and {LAST_YEAR}", field="period"
        )
    return _parse_period(text)


def check_cycle(klass: str, period: Period) -> None:
    """A class declares its own cycle plus yearly (R60)."""
    required = CYCLE[klass]
    if period.kind not in (required, "yearly"):
        raise InvalidInput(
            f"a {CLASS_ZH[klass]} declares {required} (plus yearly), not {period.kind} "
            "(HJ 1259 7.2; rule R60)",
            field="period",
            management_class=klass,
        )


def recent_periods(klass: str, today: date, since: date, months: int = 12) -> list[Period]:
    """The periods of the class's cycles that ended in the last `months` months (and after
    `since`, when the site started), oldest first."""
    start = max(since, date(today.year - (months // 12), today.month, 1) - timedelta(days=1))
    out: set[Period] = set()
    for y in range(start.year, today.year + 1):
        out.add(year(y))
        if CYCLE[klass] == "monthly":
            out.update(month(y, m) for m in range(1, 13))
        elif CYCLE[klass] == "quarterly":
            out.update(quarter(y, q) for q in range(1, 5))
    return sorted(p for p in out if start < p.last < today)


@ev.register
class DeclarationFiled(ev.Event):
    """The site's declaration for a period was filed in the national system (receipt number
    from it). Filing again for the same period records a corrected declaration."""

    TYPE = "declaration.filed"

    period: str
    filed_on: date
    receipt_no: str
    management_class: str
