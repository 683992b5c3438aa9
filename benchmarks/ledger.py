"""HJ 1259 ledger export of a year: seconds and peak RSS, XLSX and CSV, at 100,000 lots and at
a tenth of that (a flat peak RSS between the two shows memory is bounded, not per row).

The database is filled directly at the read-model level (rm_lot, rm_storage_in, rm_manifest,
rm_manifest_lot, zones, facility, parties): the ledger reads only projections, and building
100,000 lots through the event log would time the seeding, not the export. Each export runs in
a fresh subprocess so `ru_maxrss` is the export's own peak.

    python -m benchmarks.ledger [--lots 100000] [--backend sqlite|postgresql]
    from benchmarks import ledger; ledger.run()   # -> dict of figures
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import sqlalchemy as sa

from benchmarks.common import backends, database

YEAR = 2026
CODES = [
    ("900-039-49", "HW49", "废活性炭", "D10"),
    ("900-402-06", "HW06", "废有机溶剂", "R2"),
    ("271-001-02", "HW02", "精馏残渣", "D10"),
    ("900-349-34", "HW34", "废酸", "D9"),
]


def populate(url: str, lots: int, seed: int = 7) -> UUID:
    """`lots` hazardous lots generated over YEAR at one site; ~85 % shipped on manifests of 40
    lots to one handler. Returns the site id."""
    from app import tables  # noqa: F401
    from app.core.db import make_engine
    from app.identity.models import Enterprise, Site
    from app.parties.models import HandlerLicenceRow
    from app.projections.lots import LotRow, StorageInRow
    from app.projections.manifests import ManifestLotRow, ManifestRow
    from app.projections.zones import FacilityRow, ZoneRow

    rng = random.Random(seed)
    eng = make_engine(url)
    now = datetime(YEAR, 1, 1, tzinfo=UTC)
    plant, handler, site, licence = uuid4(), uuid4(), uuid4(), uuid4()
    facility, zone = uuid4(), uuid4()
    with eng.begin() as c:
        c.execute(
            sa.insert(Enterprise.__table__),  # type: ignore[attr-defined]
            [
                {"id": plant, "name": "基准药业", "uscc": "91320594MA1N2B3C4X", "kind": "plant",
                 "division_code": "320571", "created_at": now},
                {"id": handler, "name": "基准处置", "uscc": "91320506MA1P5Q6R7X", "kind": "handler",
                 "division_code": "320506", "created_at": now},
            ],
        )  # fmt: skip
        c.execute(
            sa.insert(Site.__table__),  # type: ignore[attr-defined]
            [{"id": site, "enterprise_id": plant, "code": "B01", "name": "基准厂区",
              "division_code": "320571", "created_at": now, "licensed_operator": False}],
        )  # fmt: skip
        c.execute(
            sa.insert(HandlerLicenceRow.__table__),  # type: ignore[attr-defined]
            [{"id": licence, "enterprise_id": handler, "licence_no": "JS-BENCH-1",
              "holder_uscc": "91320506MA1P5Q6R7X", "kind": "comprehensive",
              "division_code": "320506", "valid_from": date(YEAR - 1, 1, 1),
              "valid_to": date(YEAR + 3, 1, 1), "items": [], "revoked": False,
              "created_at": now, "updated_at": now}],
        )  # fmt: skip
        c.execute(
            sa.insert(FacilityRow.__table__),  # type: ignore[attr-defined]
            [{"facility_id": facility, "site_id": site, "version": 1, "code": "WH1",
              "name": "贮存库", "type": "storage_warehouse", "created_at": now}],
        )  # fmt: skip
        c.execute(
            sa.insert(ZoneRow.__table__),  # type: ignore[attr-defined]
            [{"zone_id": zone, "site_id": site, "version": 1, "code": "A1", "name": "A1",
              "kind": "hazardous", "created_at": now, "facility_id": facility,
              "allowed_categories": "", "allowed_codes": "", "gas_collection": False,
              "explosion_rated": False}],
        )  # fmt: skip
        batch: list[dict[str, Any]] = []
        entries: list[dict[str, Any]] = []
        mlots: list[dict[str, Any]] = []
        manifests: list[dict[str, Any]] = []
        current: UUID | None = None
        in_manifest = 0
        serial = 0
        for i in range(lots):
            at = now + timedelta(seconds=int(i * (365 * 86400 / lots)) + rng.randint(0, 600))
            code, cat, name, method = CODES[i % len(CODES)]
            lot_id = uuid4()
            kg = Decimal(rng.randint(200, 9000)) / 10
            shipped = rng.random() < 0.85
            ship_at = at + timedelta(days=20)
            status = "disposed" if shipped and ship_at.year == YEAR else "stored"
            if status == "disposed":
                if current is None or in_manifest >= 40:
                    current, in_manifest, serial = uuid4(), 0, serial + 1
                    manifests.append(
                        {"manifest_id": current, "number": f"{YEAR}3205{serial:06d}",
                         "site_id": site, "consignor_enterprise_id": plant,
                         "handler_enterprise_id": handler, "carrier_enterprise_id": handler,
                         "handler_licence_id": licence, "status": "closed", "version": 9,
                         "planned_date": ship_at.date(), "total_kg": 0, "lot_count": 40,
                         "discrepancy_open": False, "pending_corrections": 0,
                         "created_at": ship_at, "last_event_at": ship_at, "state": {}}
                    )  # fmt: skip
                in_manifest += 1
                mlots.append(
                    {"manifest_id": current, "lot_id": lot_id, "site_id": site, "line_no": 1,
                     "waste_code": code, "zone_id": zone, "facility_id": facility,
                     "planned_method": method,
                     "weight_kg": kg, "received_kg": kg, "outcome": "accepted",
                     "accepted_kg": kg, "method_code": method,
                     "completed_on": (ship_at + timedelta(days=5)).date(), "returned": False,
                     "cancelled": False, "dispatched_at": ship_at}
                )  # fmt: skip
            batch.append(
                {"lot_id": lot_id, "site_id": site, "version": 6, "status": status,
                 "kind": "hazardous", "name": name, "category": cat, "waste_code": code,
                 "hazard_characteristics": "T", "physical_form": "solid",
                 "container_type": "drum", "container_volume_l": 200, "condition": "intact",
                 "weight_kg": kg, "digital_id": f"91320594MA1N2B3C4X{i:019d}",
                 "label_prints": 1, "zone_id": None if status == "disposed" else zone,
                 "manifest_id": current if status == "disposed" else None, "generated_at": at,
                 "labelled_at": at, "stored_at": at + timedelta(hours=2),
                 "shipped_at": ship_at if status == "disposed" else None,
                 "last_event_at": at, "properties": ""}
            )  # fmt: skip
            entries.append(
                {"lot_id": lot_id, "seq": 1, "site_id": site, "entered_at": at + timedelta(hours=2),
                 "zone_id": zone, "facility_id": facility, "weight_kg": kg}
            )  # fmt: skip
            if len(batch) >= 5000:
                c.execute(sa.insert(LotRow.__table__), batch)  # type: ignore[attr-defined]
                c.execute(sa.insert(StorageInRow.__table__), entries)  # type: ignore[attr-defined]
                batch, entries = [], []
        if batch:
            c.execute(sa.insert(LotRow.__table__), batch)  # type: ignore[attr-defined]
            c.execute(sa.insert(StorageInRow.__table__), entries)  # type: ignore[attr-defined]
        for k in range(0, len(manifests), 2000):
            c.execute(sa.insert(ManifestRow.__table__), manifests[k : k + 2000])  # type: ignore[attr-defined]
        for k in range(0, len(mlots), 5000):
            c.execute(sa.insert(ManifestLotRow.__table__), mlots[k : k + 5000])  # type: ignore[attr-defined]
    with eng.connect() as c:  # fresh statistics, as autovacuum would have after a year
        c.exec_driver_sql("ANALYZE")
        c.commit()
    eng.dispose()
    return site


def _child(url: str, site_id: str, fmt: str, out: str) -> None:
    """Run one export in this (fresh) process and print seconds, rows and peak RSS."""
    from app import tables  # noqa: F401
    from app.core.db import Database
    from app.exports.service import ledger_sheets, period_bounds
    from reports.ledger import csv_lines, write_xlsx

    db = Database(url)
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    lo, hi = period_bounds(date(YEAR, 1, 1), date(YEAR, 12, 31))
    started = time.perf_counter()
    with db.session(write=False) as session:
        sheets = ledger_sheets(session=session, site_ids=[UUID(site_id)], start=lo, end=hi)
        if fmt == "xlsx":
            rows = write_xlsx(sheets, Path(out))
        else:
            rows = 0
            with open(out, "w", encoding="utf-8") as fh:
                for chunk in csv_lines(sheets):
                    rows += chunk.count("\r\n")
                    fh.write(chunk)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    db.engine.dispose()
    sys.stdout.write(
        json.dumps(
            {
                "seconds": seconds,
                "rows": rows,
                "peak_rss_mb": peak / 1024,
                "rss_before_mb": base_rss / 1024,
                "bytes": os.path.getsize(out),
            }
        )
        + "\n"
    )


def _measure(url: str, site: UUID, fmt: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        out = str(Path(tmp) / f"ledger.{fmt}")
        proc = subprocess.run(
            [sys.executable, "-m", "benchmarks.ledger", "--child", url, str(site), fmt, out],
            capture_output=True,
            text=True,
            check=True,
        )
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def run(lots: int = 100_000, backend: str = "sqlite") -> dict[str, Any]:
    """Ledger export of a year with `lots` lots (and with a tenth of them, as the baseline):
    seconds and peak RSS of the XLSX and the CSV export."""
    out: dict[str, Any] = {"lots": lots, "backend": backend}
    for label, n in (("baseline", max(1, lots // 10)), ("full", lots)):
        with database(backend) as url:
            site = populate(url, n)
            out[label] = {
                "lots": n,
                "xlsx": _measure(url, site, "xlsx"),
                "csv": _measure(url, site, "csv"),
            }
    return out


def markdown(r: dict[str, Any]) -> str:
    lines = [
        f"Ledger export of a year ({r['backend']}): one row per container per sheet "
        "(generation, storage-in, storage-out, off-site); each export in a fresh process.\n",
        "| lots | format | rows | seconds | rows/s | peak RSS (MB) | file (MB) |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for label in ("baseline", "full"):
        for fmt in ("xlsx", "csv"):
            m = r[label][fmt]
            lines.append(
                f"| {r[label]['lots']:,} | {fmt} | {m['rows']:,} | {m['seconds']:.1f} | "
                f"{m['rows'] / m['seconds']:,.0f} | {m['peak_rss_mb']:.0f} | "
                f"{m['bytes'] / 1e6:.1f} |"
            )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> str:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lots", type=int, default=100_000)
    ap.add_argument("--backend", default=None)
    args = ap.parse_args(argv)
    out = []
    for backend in [args.backend] if args.backend else backends():
        out.append(markdown(run(args.lots, backend)))
    return "\n".join(out)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _child(*sys.argv[2:6])
    else:
        sys.stdout.write(main(sys.argv[1:]))
