"""Storage-duration rules, checked by the sweep (and at storage-in where they block)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from app.domain.lot import LotState, storage_clock_start
from app.domain.rules.base import Finding, Rule, Severity, Situation, Step
from app.domain.rules.common import (
    GB18597,
    LAW,
    P3,
    SPOT,
    T,
    age_days,
    rule,
)
from app.domain.values import china_date

# ---------------------------------------------------------------- storage duration


def _age_findings(
    s: Situation, r: Rule, lot: LotState, limit_severity: Severity
) -> Iterator[Finding]:
    since = storage_clock_start(lot, licensed_operator=s.site.licensed_operator)
    if since is None:
        return
    warn_at, limit = s.data.storage_days()
    age = age_days(s, since)
    deadline = since + timedelta(days=limit)
    due = china_date(deadline)
    until = lot.storage_extended_until
    if until is not None and (s.now > deadline or age >= warn_at):
        # An approved extension (延期贮存批准) moves the limit to its last day, China time.
        approval = lot.storage_extension_approval_no
        values = dict(
            age_days=age,
            limit_days=limit,
            due=str(due),
            extended_until=str(until),
            approval_no=approval,
        )
        today = china_date(s.now)
        left = (until - today).days
        if today > until:
            yield r.finding(
                s,
                f"已贮存 {age} 天，延期贮存批准（文号 {approval}）已于 {until} 到期",
                f"stored for {age} days: the storage extension (approval {approval}) "
                f"ran out on {until}",
                severity=limit_severity,
                **values,
            )
        elif left <= limit - warn_at:
            # the same notice before the extension's last day as before the year's
            yield r.finding(
                s,
                f"延期贮存批准（文号 {approval}）将于 {until} 到期（还剩 {left} 天），"
                f"请安排转移或续批",
                f"the storage extension (approval {approval}) ends on {until} "
                f"({left} days left): ship the lot or renew the approval",
                severity=Severity.warn,
                days_left=left,
                **values,
            )
        else:
            yield r.finding(
                s,
                f"已获延期贮存批准（文号 {approval}）至 {until}",
                f"storage extended until {until} (approval {approval})",
                severity=Severity.info,
                **values,
            )
        return
    if s.now > deadline:  # "not more than one year": past it, not at it
        yield r.finding(
            s,
            f"已贮存 {age} 天，超过一年贮存期限（{due} 到期）",
            f"stored for {age} days: past the one-year limit (due {due})",
            severity=limit_severity,
            age_days=age,
            limit_days=limit,
            due=str(due),
        )
    elif age >= warn_at:
        yield r.finding(
            s,
            f"已贮存 {age} 天，将于 {due} 达到一年贮存期限",
            f"stored for {age} days: the one-year limit falls on {due}",
            severity=Severity.warn,
            age_days=age,
            limit_days=limit,
            due=str(due),
        )


@rule(
    "R32",
    "经营单位贮存不超过一年",
    "licensed operators store for at most one year",
    LAW,
    "Art. 81 ¶3",
    T,
    [Step.storage_duration, Step.storage_in],
    Severity.block,
)
def r32(s: Situation, r: Rule) -> Iterator[Finding]:
    if s.lot is None:
        return  # a lot-level rule
    if s.site.licensed_operator:
        yield from _age_findings(s, r, s.lot, Severity.block)


@rule(
    "R33",
    "产生单位贮存超过一年",
    "a generator's storage beyond one year",
    LAW,
    "Art. 81 (scope) + province profile",
    T,
    [Step.storage_duration, Step.storage_in],
    Severity.warn,
)
def r33(s: Situation, r: Rule) -> Iterator[Finding]:
    if s.lot is None:
        return  # a lot-level rule
    if s.site.licensed_operator:
        return
    profile = s.data.province(s.site.province_code)
    sev = Severity(
        profile.get("generator_one_year_severity", s.data.param("generator", "one_year_severity"))
    )
    yield from _age_findings(s, r, s.lot, sev)


@rule(
    "R34",
    "贮存点废物及时清运",
    "storage-spot waste is cleared promptly",
    GB18597,
    "8.3.5",
    P3,
    [Step.storage_duration],
    Severity.warn,
)
def r34(s: Situation, r: Rule) -> Iterator[Finding]:
    lot, z = s.lot, s.zone
    if lot is None:
        return  # a lot-level rule
    if z is None or z.facility_type != SPOT or lot.stored_at is None:
        return
    limit = s.site.spot_max_days or int(s.data.param("storage", "spot_max_days"))
    age = age_days(s, lot.stored_at)
    if age > limit:
        yield r.finding(
            s,
            f"在贮存点 {z.code} 已 {age} 天，超过本厂规定的 {limit} 天，请及时清运",
            f"at storage spot {z.code} for {age} days, beyond the site's {limit} days: clear it",
            age_days=age,
            limit_days=limit,
        )


@rule(
    "R35",
    "定期检查贮存设施",
    "storage is inspected at the set interval",
    GB18597,
    "8.2.2",
    P3,
    [Step.storage_duration],
    Severity.warn,
)
def r35(s: Situation, r: Rule) -> Iterator[Finding]:
    z = s.zone
    if z is None or s.lot is not None:
        return  # a zone-level rule
    interval = z.inspection_interval_days or int(
        s.data.param("storage", "inspection_interval_days")
    )
    last = s.last_zone_inspection
    if last is None or s.now - last > timedelta(days=interval):
        since_zh = "从未检查" if last is None else f"上次检查 {last.date()}"
        since_en = "never inspected" if last is None else f"last {last.date()}"
        yield r.finding(
            s,
            f"{z.code} 区检查逾期（{since_zh}，周期 {interval} 天）",
            f"zone {z.code} inspection overdue ({since_en}; every {interval} days)",
            interval_days=interval,
            last_inspection=str(last) if last else None,
        )
