"""Manager console: server time of the dashboard and the lot list with 100,000 lots.

The lots are bulk-inserted straight into the read models (`rm_lot`, and the matching
`rm_zone_inventory` totals) rather than replayed through the log: the pages read only the
projections, so what matters is their size and shape. The lots spread evenly over 400 days of
generation: the last 45 days' lots are in storage in two zones, older ones shipped then
disposed, and 3 % of the old ones are still in storage (near or past the one-year limit).
Then `VACUUM ANALYZE` (the steady state autovacuum keeps).

Each page is requested in-process (FastAPI TestClient, signed-in session cookie) `n` times
after a warm-up; the figure is the server time (no network), p50 / p95 / max in ms. Aim: ≤ 300 ms.

    python -m benchmarks.web [--lots 100000] [--n 30] [--backend postgresql|sqlite]
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import uuid4

from tests.support.world import JWT_SECRET, PASSWORD, SIGNING_SEED

CHINA = timedelta(hours=8)

PAGES = [
    ("/dashboard", "dashboard (all sites)"),
    ("/lots", "lot list, first page"),
    ("/lots?status=stored&min_age=300", "lot list, stored ≥ 300 days"),
    ("/lots?due=1", "lot list, near or past the storage limit (the dashboard tile's)"),
    ("/lots?q=废矿物油&offset=1000", "lot list, name search, page 21"),
    ("/zones", "zones"),
    ("/exports", "exports: the declaration calendar and last period's declaration"),
]
CODES = [
    ("900-039-49", "HW49", "废活性炭", "solid"),
    ("900-249-08", "HW08", "废矿物油", "liquid"),
    ("900-041-49", "HW49", "废包装桶", "solid"),
    ("900-402-06", "HW06", "废有机溶剂", "liquid"),
]


def _settings(url: str, tmp: Path) -> Any:
    from app.config import Environment, Settings

    return Settings(
        app_env=Environment.testing,
        database_url=url,
        var_dir=tmp,
        jwt_secret=JWT_SECRET,
        site_signing_seed=SIGNING_SEED,
    )


def _prepare(url: str, tmp: Path, lots: int) -> dict[str, Any]:
    import sqlalchemy as sa

    from app.context import AppContext
    from app.projections.lots import LotRow, ZoneInventoryRow
    from tests.support.world import build_world

    world = build_world(url, tmp)
    ctx = AppContext.create(_settings(url, tmp))
    now = datetime.now(UTC)
    zones = [world.zones["A1"], world.zones["A2"]]
    table = LotRow.__table__  # type: ignore[attr-defined]
    inventory: dict[tuple[Any, str, str], list[Decimal]] = defaultdict(
        lambda: [Decimal(0), Decimal(0), Decimal(0)]
    )
    started = time.perf_counter()
    chunk: list[dict[str, Any]] = []
    rows_for_months: list[tuple[Any, ...]] = []
    with ctx.db.engine.begin() as conn:
        for i in range(lots):
            code, category, name, form = CODES[i % len(CODES)]
            age = 400 * ((i * 7919) % lots) / lots  # days, spread evenly
            generated = now - timedelta(days=age, minutes=i % 600)
            # recent lots are in storage; older ones shipped, then disposed; 3 % of the old
            # ones are still in storage (some near or past the one-year limit)
            if age < 45 or i % 33 == 0:
                status = "allocated" if i % 5 == 0 else "stored"
            else:
                status = "shipped" if age < 75 else "disposed"
            kind = {"stored": 0, "allocated": 4, "shipped": 5, "disposed": 7}[status]
            stored_at = generated + timedelta(hours=2)
            weight = Decimal(50 + i % 400)
            row = {
                "lot_id": uuid4(),
                "site_id": world.site_a,
                "version": 4,
                "status": status,
                "kind": "hazardous",
                "name": name,
                "category": category,
                "waste_code": code,
                "hazard_characteristics": "T",
                "physical_form": form,
                "container_type": "drum",
                "container_volume_l": Decimal(200),
                "condition": "intact",
                "weight_kg": weight,
                "digital_id": f"BENCH{i:032d}",
                "label_prints": 1,
                "generated_at": generated,
                "labelled_at": generated,
                "stored_at": stored_at,
                "last_event_at": stored_at,
                "properties": "",
                "zone_id": zones[i % 2] if status in ("stored", "allocated") else None,
                "shipped_at": stored_at + timedelta(days=20) if kind >= 5 else None,
                "completed_on": (stored_at + timedelta(days=30)).date() if kind >= 7 else None,
                "accepted_weight_kg": weight if kind >= 7 else None,
                "method_code": "D10" if kind >= 7 else None,
            }
            if row["zone_id"] is not None:
                acc = inventory[(row["zone_id"], category, form)]
                acc[0] += 1
                acc[1] += weight
                acc[2] += Decimal(200)
            chunk.append(row)
            rows_for_months.append(
                (
                    row["generated_at"],
                    row["shipped_at"],
                    row["completed_on"],
                    category,
                    code,
                    weight,
                )
            )
            if len(chunk) == 5000:
                conn.execute(table.insert(), chunk)
                chunk = []
        if chunk:
            conn.execute(table.insert(), chunk)
        inv = ZoneInventoryRow.__table__  # type: ignore[attr-defined]
        conn.execute(
            inv.insert(),
            [
                {
                    "zone_id": z,
                    "category": c,
                    "hazards": "T",
                    "properties": "",
                    "physical_form": f,
                    "lot_count": int(v[0]),
                    "weight_kg": v[1],
                    "volume_l": v[2],
                }
                for (z, c, f), v in inventory.items()
            ],
        )
        _month_aggregates(conn, world.site_a, rows_for_months)
    with ctx.db.engine.connect() as c:
        count = c.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
    ctx.db.dispose()
    # the steady state autovacuum keeps: statistics and the visibility map
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as c:
        c.exec_driver_sql("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE")
    engine.dispose()
    return {"bulk_seconds": time.perf_counter() - started, "rm_lot_rows": int(count)}


def _month_aggregates(conn: Any, site_id: Any, rows: list[tuple[Any, ...]]) -> None:
    """The scorecard's per-month aggregates (`rm_waste_month`, issue 7) for the same lots: the
    dashboard's monthly trend reads them."""
    from app.projections.scorecard import WasteMonthRow

    table = WasteMonthRow.__table__  # type: ignore[attr-defined]
    acc: dict[tuple[str, str, str], list[Decimal]] = defaultdict(lambda: [Decimal(0)] * 3)
    for generated, shipped, completed, category, code, kg in rows:
        acc[((generated + CHINA).strftime("%Y-%m"), category, code)][0] += kg
        if shipped is not None:
            acc[((shipped + CHINA).strftime("%Y-%m"), category, code)][1] += kg
        if completed is not None:
            acc[(completed.strftime("%Y-%m"), category, code)][2] += kg
    conn.execute(
        table.insert(),
        [
            {
                "site_id": site_id,
                "month": month,
                "kind": "hazardous",
                "category": category,
                "waste_code": code,
                "method_code": "",
                "generated_kg": v[0],
                "left_kg": v[1],
                "completed_kg": v[2],
            }
            for (month, category, code), v in acc.items()
        ],
    )


def run(lots: int = 100_000, backend: str = "postgresql", n: int = 30) -> dict[str, Any]:
    from fastapi.testclient import TestClient

    from app.main import create_app
    from benchmarks.common import database

    with tempfile.TemporaryDirectory() as tmp, database(backend) as url:
        data = _prepare(url, Path(tmp), lots)
        app = create_app(_settings(url, Path(tmp)))
        client = TestClient(app, follow_redirects=False)
        try:
            form = client.get("/login").text
            token = re.search(r'name="csrf" value="([^"]+)"', form)
            assert token is not None
            r = client.post(
                "/login",
                data={"username": "ehs_manager", "password": PASSWORD, "csrf": token.group(1)},
            )
            assert r.status_code == 303, r.text
            pages = []
            for path, label in PAGES:
                for _ in range(3):  # warm-up: plans, pools, template cache
                    assert client.get(path).status_code == 200
                times = []
                for _ in range(n):
                    started = time.perf_counter()
                    r = client.get(path)
                    times.append((time.perf_counter() - started) * 1000)
                    assert r.status_code == 200, r.text[:500]
                times.sort()
                pages.append(
                    {
                        "path": path,
                        "label": label,
                        "p50_ms": statistics.median(times),
                        "p95_ms": times[int(0.95 * (len(times) - 1))],
                        "max_ms": times[-1],
                    }
                )
        finally:
            client.close()
            app.state.ctx.db.dispose()
    return {
        "backend": backend,
        "lots": data["rm_lot_rows"],
        "n": n,
        "pages": pages,
        "bulk_load_s": data["bulk_seconds"],
    }


def markdown(r: dict[str, Any]) -> str:
    lines = [
        f"{r['backend']}, {r['lots']:,} lots in `rm_lot` (bulk-loaded), signed in as the EHS "
        f"manager, {r['n']} requests per page in-process (server time, no network).\n",
        "| page | p50 ms | p95 ms | max ms |",
        "|---|---:|---:|---:|",
    ]
    for p in r["pages"]:
        lines.append(
            f"| {p['label']} (`{p['path']}`) | {p['p50_ms']:.1f} | {p['p95_ms']:.1f} "
            f"| {p['max_ms']:.1f} |"
        )
    worst = max(p["p95_ms"] for p in r["pages"] if p["path"] in ("/dashboard", "/lots"))
    lines.append(f"\nDashboard and lot list p95 {worst:.0f} ms (aim ≤ 300 ms).\n")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> str:
    from benchmarks.common import PG_URL

    ap = argparse.ArgumentParser()
    ap.add_argument("--lots", type=int, default=100_000)
    ap.add_argument("--n", type=int, default=30)
    ap.add_argument("--backend", default=None)
    args = ap.parse_args(argv)
    backend = args.backend or ("postgresql" if PG_URL else "sqlite")
    return markdown(run(args.lots, backend, args.n))


if __name__ == "__main__":
    print(main(sys.argv[1:]))
