"""Storage-in with the rules into a zone holding 10,000 lots vs an empty zone (issue 4).

The storage rules read the target zone's inventory rows and one index lookup (the largest
liquid container), never its lots one by one, so the cost should not grow with the zone.
The 10,000 lots already in the zone are written straight into the read models (rm_lot and
rm_zone_inventory) — storage-in reads nothing else — while the lots being stored go through
the real service path: generate, label, then `store_lot` (rules, decide, append, project).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from app import tables  # noqa: F401
from app.context import AppContext
from app.identity import service as identity_service
from app.lots import schemas as lot_schemas
from app.lots import service as lot_service
from app.projections.lots import LotRow, ZoneInventoryRow
from app.zones import schemas as zone_schemas
from app.zones import service as zone_service
from benchmarks.common import backends, database
from benchmarks.eventstore import _ctx, _site

MIXES = [
    ("HW49", "900-041-49", "T,In", "solid", 200),
    ("HW02", "271-001-02", "T", "semi_solid", 200),
    ("HW50", "271-006-50", "T", "solid", 50),
    ("HW06", "900-402-06", "I,T", "liquid", 200),
    ("HW02", "271-002-02", "T", "liquid", 1000),
]


def _setup(ctx: AppContext, site: UUID) -> tuple[Any, UUID, UUID]:
    with ctx.db.session() as s:
        admin = _admin(ctx, s, site)
        fac = zone_service.register_facility(
            session=s,
            ctx=ctx,
            actor=admin,
            cmd=zone_schemas.FacilityCreate(
                event_id=uuid4(),
                site_id=site,
                code="WH",
                name="库",
                type="storage_warehouse",
                surface_antiseepage=True,
            ),
        )
        zones = []
        for code in ("FULL", "EMPTY"):
            zones.append(
                zone_service.register_zone(
                    session=s,
                    ctx=ctx,
                    actor=admin,
                    cmd=zone_schemas.ZoneCreate(
                        event_id=uuid4(),
                        site_id=site,
                        code=code,
                        name=code,
                        facility_id=fac.facility_id,
                        capacity_kg=Decimal(10**8),
                        containment_l=Decimal(10**6),
                        gas_collection=True,
                    ),
                ).zone_id
            )
    return admin, zones[0], zones[1]


def _admin(ctx: AppContext, s: Any, site: UUID) -> Any:
    from app.domain.values import Role
    from app.identity import schemas
    from app.identity.models import Site

    ent = s.get(Site, site).enterprise_id
    u = identity_service.create_user(
        session=s,
        ctx=ctx,
        cmd=schemas.UserCreate(
            username=f"bench{uuid4().hex[:6]}",
            display_name="bench",
            password="bench-password",
            role=Role.ehs_manager,
            enterprise_id=ent,
            all_sites=True,
        ),
    )
    return identity_service.principal_for(session=s, user_id=u.id)


def _fill(ctx: AppContext, site: UUID, zone: UUID, n: int) -> None:
    now = datetime.now(UTC) - timedelta(days=30)
    rows, inv = [], {}
    for i in range(n):
        cat, code, haz, form, vol = MIXES[i % len(MIXES)]
        rows.append(
            LotRow(
                lot_id=uuid4(),
                site_id=site,
                version=3,
                status="stored",
                kind="hazardous",
                name="bench",
                category=cat,
                waste_code=code,
                hazard_characteristics=haz.replace(",", ","),
                physical_form=form,
                container_type="drum",
                container_volume_l=Decimal(vol),
                condition="intact",
                weight_kg=Decimal(10),
                label_prints=1,
                zone_id=zone,
                generated_at=now,
                labelled_at=now,
                stored_at=now,
                last_event_at=now,
                properties="",
            )
        )
        key = (cat, haz, form)
        c = inv.setdefault(key, [0, Decimal(0), Decimal(0)])
        c[0] += 1
        c[1] += Decimal(10)
        c[2] += Decimal(vol)
    with ctx.db.session() as s:
        s.add_all(rows)
        for (cat, haz, form), (count, kg, litres) in inv.items():
            s.add(
                ZoneInventoryRow(
                    zone_id=zone,
                    category=cat,
                    hazards=haz,
                    properties="",
                    physical_form=form,
                    lot_count=count,
                    weight_kg=kg,
                    volume_l=litres,
                )
            )


def _labelled_lots(ctx: AppContext, actor: Any, site: UUID, n: int) -> list[lot_schemas.LotRead]:
    out = []
    for _ in range(n):
        with ctx.db.session() as s:
            lot = lot_service.generate_lot(
                session=s,
                ctx=ctx,
                actor=actor,
                cmd=lot_schemas.LotGenerate(
                    event_id=uuid4(),
                    site_id=site,
                    name="废包装",
                    waste_code="900-041-49",
                    physical_form="solid",
                    container={"type": "bag", "volume_l": "200"},  # type: ignore[arg-type]
                    weight_kg=Decimal("12.5"),
                    main_components="包装",
                    harmful_components="有机物",
                    precautions="防潮",
                ),
            ).lot
            out.append(
                lot_service.label_lot(
                    session=s,
                    ctx=ctx,
                    actor=actor,
                    lot_id=lot.lot_id,
                    cmd=lot_schemas.LotLabel(event_id=uuid4(), expected_version=1),
                ).lot
            )
    return out


def _store_all(ctx: AppContext, actor: Any, lots: list[Any], zone: UUID) -> list[float]:
    times = []
    for lot in lots:
        started = time.perf_counter()
        with ctx.db.session() as s:
            lot_service.store_lot(
                session=s,
                ctx=ctx,
                actor=actor,
                lot_id=lot.lot_id,
                cmd=lot_schemas.LotStore(
                    event_id=uuid4(), expected_version=lot.version, zone_id=zone
                ),
            )
        times.append(time.perf_counter() - started)
    return times


def bench(kind: str, held: int, n: int) -> dict[str, Any]:
    with database(kind) as url, tempfile.TemporaryDirectory() as tmp:
        ctx = _ctx(url, Path(tmp))
        site = _site(ctx)
        # the site needs contacts for labels
        from app.identity.models import Site

        with ctx.db.session() as s:
            row = s.get(Site, site)
            row.contact_name, row.contact_phone = "王敏", "0512-0000"  # type: ignore[union-attr]
        actor, full, empty = _setup(ctx, site)
        _fill(ctx, site, full, held)
        lots = _labelled_lots(ctx, actor, site, 2 * n)
        # interleave so that both zones see the same machine conditions
        t_empty = _store_all(ctx, actor, lots[: n // 2], empty) + _store_all(
            ctx, actor, lots[n : n + n // 2], empty
        )
        t_full = _store_all(ctx, actor, lots[n // 2 : n], full) + _store_all(
            ctx, actor, lots[n + n // 2 :], full
        )
        ctx.db.dispose()
    e, f = statistics.median(t_empty) * 1000, statistics.median(t_full) * 1000
    return {
        "backend": kind,
        "held": held,
        "n": len(t_full),
        "empty_ms": e,
        "full_ms": f,
        "ratio": f / e,
        "p95_empty_ms": sorted(t_empty)[int(len(t_empty) * 0.95)] * 1000,
        "p95_full_ms": sorted(t_full)[int(len(t_full) * 0.95)] * 1000,
    }


def main(argv: list[str] | None = None) -> str:
    p = argparse.ArgumentParser("benchmarks.storage")
    p.add_argument("--held", type=int, default=10_000)
    p.add_argument("--n", type=int, default=200)
    args = p.parse_args(argv)
    out = [
        "### Storage-in with rules: full zone vs empty zone (median per storage-in)\n",
        "| backend | lots in zone | storage-ins | empty zone ms | full zone ms | ratio | p95 empty / full ms |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for kind in backends():
        r = bench(kind, args.held, args.n)
        out.append(
            f"| {r['backend']} | {r['held']:,} | {r['n']} | {r['empty_ms']:.2f} | "
            f"{r['full_ms']:.2f} | {r['ratio']:.2f}× | {r['p95_empty_ms']:.1f} / {r['p95_full_ms']:.1f} |"
        )
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    print(main())
