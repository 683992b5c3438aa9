"""Dashboard aggregates for the manager console, read from the projections (never the log).

Each is one SQL aggregate over `rm_lot`, `rm_manifest` or `rm_alert`, scoped to the actor's
sites, so the dashboard stays fast at 100,000 lots (see `benchmarks/web.py`).
"""

from __future__ import annotations

import threading
import time
import weakref
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlmodel import Session

from app.core.db import Database
from app.domain.errors import DomainError
from app.domain.lot import LotStatus
from app.domain.values import Role, WasteKind
from app.eventstore.models import ChainHead
from app.identity.permissions import Permission, Principal
from app.manifests import service as manifest_service
from app.projections.lots import (
    LotRow,
    managed_hazardous,
    storage_age_start,
    storage_time_conditions,
)
from app.projections.manifests import ManifestRow
from app.projections.scorecard import WasteMonthRow
from app.rules import service as rule_service

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


def licensed_sites(session: Session, actor: Principal, site_id: UUID | None) -> frozenset[UUID]:
    """The sites in view that hold a 经营许可证: where R32 counts the year from storage-in. Read
    once per dashboard and given to the tile and the histogram."""
    return rule_service.licensed_operator_sites(session, _sites(actor, site_id))


def storage_summary(
    *,
    session: Session,
    actor: Principal,
    now: datetime,
    warn_days: int,
    limit_days: int,
    licensed: frozenset[UUID],
    site_id: UUID | None = None,
) -> StorageSummary:
    """Lots and weight in storage on site (stored or allocated, not yet shipped), and how many
    are past the rule set's warning day (R32's `duration_warn_days`) or its one-year limit. A
    lot within an approved storage extension (延期贮存批准) is neither, as R32/R33 judge it,
    until the extension is as close to its last day as the warning day is to the year's: then
    it is near the limit again."""
    t = LotRow.__table__  # type: ignore[attr-defined]
    sites = _sites(actor, site_id)
    due, over = storage_time_conditions(now, warn_days, limit_days, licensed)
    q = sa.select(
        sa.func.count(),
        sa.func.coalesce(sa.func.sum(t.c.weight_kg), 0),
        sa.func.count().filter(sa.and_(due, sa.not_(over))),
        sa.func.count().filter(over),
    ).where(t.c.site_id.in_(sites), t.c.status.in_(IN_STORAGE))
    n, kg, n_near, n_over = session.execute(q).one()
    return StorageSummary(int(n), Decimal(kg), int(n_near), int(n_over))


def age_histogram(
    *,
    session: Session,
    actor: Principal,
    now: datetime,
    licensed: frozenset[UUID],
    site_id: UUID | None = None,
) -> list[tuple[str, int, Decimal]]:
    """(bucket label, lots, kg) of hazardous lots in storage by storage age, counted as the lots
    list and R32/R33 count it (`storage_age_start`). Only what the one-year limit applies to:
    general waste has none (its age would fill the buckets coloured as near or past it)."""
    t = LotRow.__table__  # type: ignore[attr-defined]
    sites = _sites(actor, site_id)
    since = storage_age_start(licensed)
    cols = []
    for lo, hi in AGE_BUCKETS:
        cond = since <= now - timedelta(days=lo)
        if hi is not None:
            cond = sa.and_(cond, since > now - timedelta(days=hi))
        cols.append(sa.func.count().filter(cond))
        cols.append(sa.func.coalesce(sa.func.sum(t.c.weight_kg).filter(cond), 0))
    row = session.execute(
        sa.select(*cols).where(
            t.c.site_id.in_(sites),
            t.c.status.in_(IN_STORAGE),
            t.c.stored_at.is_not(None),
            managed_hazardous(),
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
    the last `months` months, from the per-month aggregates the scorecard's projection keeps
    (`rm_waste_month`): a few hundred rows a year, whatever the number of lots."""
    local = now + CHINA
    y, m = local.year, local.month - (months - 1)
    while m <= 0:
        y, m = y - 1, m + 12
    keys = [f"{y + (m + i - 1) // 12}-{(m + i - 1) % 12 + 1:02d}" for i in range(months)]
    t = WasteMonthRow.__table__  # type: ignore[attr-defined]
    q = (
        sa.select(
            t.c.month,
            sa.func.sum(t.c.generated_kg),
            sa.func.sum(t.c.left_kg),
            sa.func.sum(t.c.completed_kg),
        )
        .where(
            t.c.site_id.in_(_sites(actor, site_id)),
            t.c.kind == WasteKind.hazardous.value,
            t.c.month.in_(keys),
        )
        .group_by(t.c.month)
    )
    got = {
        month: (Decimal(g or 0), Decimal(sh or 0), Decimal(d or 0))
        for month, g, sh, d in session.execute(q)
    }
    zero = (Decimal(0),) * 3
    return [MonthRow(k, *got.get(k, zero)) for k in keys]


def manifest_counts(
    *, session: Session, actor: Principal, site_id: UUID | None = None
) -> dict[str, int]:
    """Manifests in the actor's scope (of one consigning site, if given) by status."""
    t = ManifestRow.__table__  # type: ignore[attr-defined]
    q = sa.select(t.c.status, sa.func.count()).where(manifest_service.scope_filter(actor))
    if site_id is not None:
        q = q.where(t.c.site_id == site_id)
    return {status: int(n) for status, n in session.execute(q.group_by(t.c.status))}


# ---------------------------------------------------------------- scorecard tile


@dataclass(frozen=True)
class ScoreTile:
    """One site's scorecard total for the dashboard tile."""

    site_id: UUID
    site_code: str
    raw_total: Decimal | None  # None: the scorecard refused (the reason in `error`)
    table_max: Decimal | None = None
    passed: bool = False
    vetoed: bool = False
    error: str | None = None


SCORE_TTL_SECONDS = 60.0
_SCORE_CACHE_MAX = 512
_score_lock = threading.Lock()
# per database (tests run many apps in one process): (site, year, chain position) -> tile
_score_cache: weakref.WeakKeyDictionary[Database, dict[tuple[UUID, int, int], Any]] = (
    weakref.WeakKeyDictionary()
)


def _chain_positions(session: Session, site_ids: list[UUID]) -> dict[UUID, int]:
    rows = session.execute(
        sa.select(ChainHead.site_id, ChainHead.chain_position).where(  # type: ignore[call-overload]
            ChainHead.site_id.in_(site_ids)  # type: ignore[attr-defined]
        )
    )
    return {site_id: int(pos) for site_id, pos in rows}


def scorecard_tiles(
    *, session: Session, ctx: Any, actor: Principal, year: int, site_ids: list[UUID]
) -> list[ScoreTile]:
    """The scorecard total of each site, computed by the scorecard service and kept per
    process for `SCORE_TTL_SECONDS`, keyed by (site, year, the site's chain position): any
    event at the site (a lot step, a manifest, a period input, an evidence file) moves the
    position and so recomputes at once; the TTL bounds what changes outside the log (party
    licences, management plans). Scope and permission are checked on every call."""
    from app.scorecard import service as scorecard_service

    if not actor.has(Permission.scorecard_read) or not site_ids:
        return []
    positions = _chain_positions(session, site_ids)
    now = time.monotonic()
    with _score_lock:
        cache = _score_cache.setdefault(ctx.db, {})
    tiles = []
    for site_id in site_ids:
        key = (site_id, year, positions.get(site_id, 0))
        hit = cache.get(key)
        if hit is not None and now - hit[0] < SCORE_TTL_SECONDS:
            tile = hit[1]
            if actor.role is Role.admin or site_id in actor.site_ids:
                tiles.append(tile)
                continue
        try:
            c = scorecard_service.compute(
                session=session, ctx=ctx, actor=actor, site_id=site_id, year=year
            )
        except DomainError as exc:
            tiles.append(ScoreTile(site_id, "", None, error=exc.message))
            continue
        card = c.card
        tile = ScoreTile(
            site_id=site_id,
            site_code=c.site.code,
            raw_total=card.raw_total,
            table_max=card.definition.table_base + card.definition.table_bonus,
            passed=card.passed,
            vetoed=card.vetoed,
        )
        with _score_lock:
            if len(cache) >= _SCORE_CACHE_MAX:
                cache.clear()
            cache[key] = (now, tile)
        tiles.append(tile)
    return tiles


def clear_score_cache() -> None:
    with _score_lock:
        _score_cache.clear()
