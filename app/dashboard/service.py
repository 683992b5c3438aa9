"""Dashboard aggregates for the manager console, read from the projections (never the log).

Each is one SQL aggregate over `rm_lot`, `rm_manifest` or `rm_alert`, scoped to the actor's
sites, so the dashboard stays fast at 100,000 lots (see `benchmarks/web.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlmodel import Session

from app.domain.lot import LotStatus
from app.domain.values import WasteKind
from app.identity.permissions import Principal
from app.manifests import service as manifest_service
from app.projections.lots import LotRow
from app.projections.manifests import ManifestRow

CHINA = timedelta(hours=8)
# Storage-age buckets in days (the legal limit is one year, 固废法 Art. 81).
AGE_BUCKETS: list[tuple[int, int | None]] = [
    (0, 30),
    (30, 90),
    (90, 180),
    (180, 270),
    (270, 330),
    (330, 365),
    (365, None),
]
NEAR_LIMIT_DAYS = 330  # a month before the one-year limit
IN_STORAGE = (LotStatus.stored.value, LotStatus.allocated.value)
OPEN_MANIFEST = ("draft", "submitted", "loaded", "in_transit", "received", "disposed")


@dataclass(frozen=True)
class StorageSummary:
    lots: int
    weight_kg: Decimal
    near_limit: int
    over_limit: int


@dataclass(frozen=True)
class MonthRow:
    month: str  # YYYY-MM, China time
    generated_kg: Decimal
    shipped_kg: Decimal
    disposed_kg: Decimal


def _sites(actor: Principal, site_id: UUID | None) -> list[UUID]:
    ids = sorted(actor.site_ids)
    return [s for s in ids if s == site_id] if site_id is not None else ids


def _month(dialect: str, col: Any) -> Any:
    """The China-time month of a timestamp column as 'YYYY-MM' (in SQL)."""
    if dialect == "postgresql":
        return sa.func.to_char(
            sa.func.timezone("UTC", col) + sa.text("interval '8 hours'"), "YYYY-MM"
        )
    return sa.func.strftime("%Y-%m", col, "+8 hours")


def storage_summary(
    *, session: Session, actor: Principal, now: datetime, site_id: UUID | None = None
) -> StorageSummary:
    """Lots and weight in storage on site (stored or allocated, not yet shipped), and how many
    are within a month of the one-year limit or past it."""
    t = LotRow.__table__  # type: ignore[attr-defined]
    near = now - timedelta(days=NEAR_LIMIT_DAYS)
    over = now - timedelta(days=365)
    q = sa.select(
        sa.func.count(),
        sa.func.coalesce(sa.func.sum(t.c.weight_kg), 0),
        sa.func.count().filter(sa.and_(t.c.stored_at <= near, t.c.stored_at > over)),
        sa.func.count().filter(t.c.stored_at <= over),
    ).where(t.c.site_id.in_(_sites(actor, site_id)), t.c.status.in_(IN_STORAGE))
    n, kg, n_near, n_over = session.execute(q).one()
    return StorageSummary(int(n), Decimal(kg), int(n_near), int(n_over))


def age_histogram(
    *, session: Session, actor: Principal, now: datetime, site_id: UUID | None = None
) -> list[tuple[str, int, Decimal]]:
    """(bucket label, lots, kg) of lots in storage by days since storage-in."""
    t = LotRow.__table__  # type: ignore[attr-defined]
    cols = []
    for lo, hi in AGE_BUCKETS:
        cond = t.c.stored_at <= now - timedelta(days=lo)
        if hi is not None:
            cond = sa.and_(cond, t.c.stored_at > now - timedelta(days=hi))
        cols.append(sa.func.count().filter(cond))
        cols.append(sa.func.coalesce(sa.func.sum(t.c.weight_kg).filter(cond), 0))
    row = session.execute(
        sa.select(*cols).where(
            t.c.site_id.in_(_sites(actor, site_id)),
            t.c.status.in_(IN_STORAGE),
            t.c.stored_at.is_not(None),
        )
    ).one()
    out = []
    for i, (lo, hi) in enumerate(AGE_BUCKETS):
        label = f"{lo}–{hi}" if hi is not None else f"≥{lo}"
        out.append((label, int(row[2 * i]), Decimal(row[2 * i + 1])))
    return out


def monthly_trend(
    *,
    session: Session,
    actor: Principal,
    now: datetime,
    months: int = 12,
    site_id: UUID | None = None,
) -> list[MonthRow]:
    """Hazardous waste generated, shipped and disposed (accepted weight) per China-time month,
    the last `months` months."""
    dialect = session.get_bind().dialect.name
    t = LotRow.__table__  # type: ignore[attr-defined]
    local = now + CHINA
    y, m = local.year, local.month - (months - 1)
    while m <= 0:
        y, m = y - 1, m + 12
    start = datetime(y, m, 1, tzinfo=UTC) - CHINA
    keys = []
    for i in range(months):
        mm = m + i
        keys.append(f"{y + (mm - 1) // 12:04d}-{(mm - 1) % 12 + 1:02d}")
    sites = _sites(actor, site_id)
    base = [t.c.site_id.in_(sites), t.c.kind == WasteKind.hazardous.value]
    sums: dict[str, dict[str, Decimal]] = {k: {} for k in keys}

    def collect(name: str, col: Any, weight: Any) -> None:
        month = _month(dialect, col).label("m")
        q = sa.select(month, sa.func.sum(weight)).where(*base, col >= start).group_by(month)
        for key, kg in session.execute(q):
            if key in sums:
                sums[key][name] = Decimal(kg or 0)

    collect("generated", t.c.generated_at, t.c.weight_kg)
    collect("shipped", t.c.shipped_at, t.c.weight_kg)
    # completed_on is a date (China day): compare as text-free date bounds
    day = t.c.completed_on
    month_d = (
        sa.func.to_char(day, "YYYY-MM")
        if dialect == "postgresql"
        else sa.func.strftime("%Y-%m", day)
    ).label("m")
    q = (
        sa.select(month_d, sa.func.sum(sa.func.coalesce(t.c.accepted_weight_kg, t.c.weight_kg)))
        .where(*base, day >= (start + CHINA).date())
        .group_by(month_d)
    )
    for key, kg in session.execute(q):
        if key in sums:
            sums[key]["disposed"] = Decimal(kg or 0)
    z = Decimal(0)
    return [
        MonthRow(k, v.get("generated", z), v.get("shipped", z), v.get("disposed", z))
        for k, v in sums.items()
    ]


def manifest_counts(*, session: Session, actor: Principal) -> dict[str, int]:
    """Manifests in the actor's scope by status."""
    t = ManifestRow.__table__  # type: ignore[attr-defined]
    q = (
        sa.select(t.c.status, sa.func.count())
        .where(manifest_service.scope_filter(actor))
        .group_by(t.c.status)
    )
    return {status: int(n) for status, n in session.execute(q)}
