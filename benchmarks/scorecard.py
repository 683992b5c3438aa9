"""The year's no-waste factory scorecard over 1,000,000 lots / 5,000,000 events (issue 7:
≤ 2 s on PostgreSQL, ≤ 5 s on SQLite).

The scorecard reads the inline aggregates (rm_waste_month, rm_waste_transfer_day,
rm_event_delay_month, rm_manifest_month), never the log or every lot. Building 5,000,000
events through the log would time the seeding, so the full run fills the aggregates in bulk
from a synthetic year (and rm_lot, which only the drill-down reads), computed by `aggregate()`
from the same per-lot lifecycles. A small run first proves that `aggregate()` equals what the
inline projectors build from real events: the same lifecycles recorded through the Recorder
(the one write path), then the aggregate tables compared row for row.

Per lot: generated, labelled, stored (3 events); half of them also allocated, shipped,
received and disposed / utilised (4 more): 5 events per lot on average; 3 % of events are
recorded 30 h after they happened.

    python -m benchmarks.scorecard [--lots 1000000] [--backend sqlite|postgresql] [--proof 300]
    from benchmarks import scorecard; scorecard.run()   # -> dict of figures
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import sqlalchemy as sa

from benchmarks.common import backends, database

YEAR = 2026
CHINA = timedelta(hours=8)
# (kind, code, category, name, method)
CODES = [
    ("hazardous", "900-039-49", "HW49", "废活性炭", "R15"),
    ("hazardous", "900-402-06", "HW06", "废有机溶剂", "R2"),
    ("hazardous", "271-001-02", "HW02", "精馏残渣", "D10"),
    ("hazardous", "900-349-34", "HW34", "废酸", "D9"),
    ("hazardous", "900-002-03", "HW03", "过期药品", "D10"),
    ("general", "", "SW59", "一般固废", ""),
]
LATE = timedelta(hours=30)


@dataclass(frozen=True)
class Lot:
    lot_id: UUID
    kind: str
    code: str
    category: str
    name: str
    kg: Decimal
    generated_at: datetime
    labelled: bool
    ship_at: datetime | None  # allocated, shipped, received, completed after this
    method: str
    late: tuple[bool, ...]  # per event: recorded 30 h late

    @property
    def events(self) -> int:
        return len(self.late)


def lifecycles(n: int, seed: int = 11) -> list[Lot]:
    rng = random.Random(seed)
    start = datetime(YEAR, 1, 1, tzinfo=UTC) - CHINA
    out = []
    for i in range(n):
        kind, code, cat, name, method = CODES[i % len(CODES)]
        at = start + timedelta(seconds=int(i * (330 * 86400 / n)) + rng.randint(0, 600))
        labelled = rng.random() < 0.98
        ship = kind == "hazardous" and labelled and rng.random() < 0.6
        events = 7 if ship else 3
        out.append(
            Lot(
                lot_id=uuid4(),
                kind=kind,
                code=code,
                category=cat,
                name=name,
                kg=Decimal(rng.randint(200, 9000)) / 10,
                generated_at=at,
                labelled=labelled,
                ship_at=at + timedelta(days=20) if ship else None,
                method=method,
                late=tuple(rng.random() < 0.03 for _ in range(events)),
            )
        )
    return out


def _month(t: datetime) -> str:
    return (t + CHINA).strftime("%Y-%m")


def _steps(lot: Lot) -> list[tuple[str, datetime]]:
    t = lot.generated_at
    steps = [
        ("generated", t),
        ("labelled" if lot.labelled else "weighed", t + timedelta(minutes=5)),
    ]
    steps.append(("stored", t + timedelta(hours=1)))
    if lot.ship_at:
        s = lot.ship_at
        steps += [
            ("allocated", s - timedelta(hours=2)),
            ("shipped", s),
            ("received", s + timedelta(hours=6)),
            ("completed", s + timedelta(days=3)),
        ]
    return steps


def aggregate(
    lots: list[Lot], site: UUID, licence: UUID, handler: UUID
) -> dict[str, list[dict[str, Any]]]:
    """The rows the inline projectors build for these lifecycles (see module docstring)."""
    waste: dict[tuple[Any, ...], dict[str, Any]] = defaultdict(lambda: defaultdict(int))
    transfer: dict[tuple[Any, ...], dict[str, Any]] = defaultdict(lambda: defaultdict(int))
    delay: dict[tuple[Any, ...], int] = defaultdict(int)
    for lot in lots:
        gm = _month(lot.generated_at)
        base = (site, gm, lot.kind, lot.category, lot.code)
        w = waste[(*base, "")]
        w["generated_count"] += 1
        w["generated_kg"] += lot.kg
        w["stored_count"] += 1 if lot.labelled else 0
        w["labelled_before_storage"] += 1 if lot.labelled else 0
        for (step, at), late in zip(_steps(lot), lot.late, strict=True):
            delay[(site, _month(at), 30 if late else 0)] += 1
            if step == "shipped":
                r = waste[(site, _month(at), lot.kind, lot.category, lot.code, "")]
                r["left_count"] += 1
                r["left_kg"] += lot.kg
                tr = transfer[(site, (at + CHINA).date(), licence, lot.code, "")]
                tr["lot_count"] += 1
                tr["kg"] += lot.kg
            elif step == "received":
                waste[(site, _month(lot.ship_at), lot.kind, lot.category, lot.code, "")][  # type: ignore[arg-type]
                    "left_received_count"
                ] += 1
            elif step == "completed":
                r = waste[(site, _month(at), lot.kind, lot.category, lot.code, lot.method)]
                r["completed_count"] += 1
                r["completed_kg"] += lot.kg
                r["traced_count"] += 1
                tr = transfer[(site, (at + CHINA).date(), licence, lot.code, lot.method)]
                tr["lot_count"] += 1
                tr["kg"] += lot.kg
    wk = ("site_id", "month", "kind", "category", "waste_code", "method_code")
    tk = ("site_id", "day", "handler_licence_id", "waste_code", "method_code")
    counters = (
        "generated_count", "generated_kg", "labelled_before_storage", "stored_count",
        "left_count", "left_kg", "left_received_count", "completed_count", "completed_kg",
        "traced_count",
    )  # fmt: skip
    return {
        "rm_waste_month": [
            {**dict(zip(wk, k, strict=True)), **{c: v.get(c, 0) for c in counters}}
            for k, v in waste.items()
        ],
        "rm_waste_transfer_day": [
            {
                **dict(zip(tk, k, strict=True)),
                "handler_enterprise_id": handler,
                "lot_count": v["lot_count"],
                "kg": v["kg"],
            }
            for k, v in transfer.items()
        ],
        "rm_event_delay_month": [
            {"site_id": k[0], "month": k[1], "delay_h": k[2], "event_count": v}
            for k, v in delay.items()
        ],
    }


# ---------------------------------------------------------------- world


def _world(url: str, ids: dict[str, UUID] | None = None) -> dict[str, UUID]:
    from app import tables  # noqa: F401
    from app.core.db import make_engine
    from app.eventstore.hashing import GENESIS_HASH
    from app.eventstore.models import ChainHead
    from app.identity.models import Enterprise, Site
    from app.parties.models import HandlerLicenceRow, ManagementPlanRow
    from app.projections.zones import FacilityRow, ZoneRow

    now = datetime(YEAR, 1, 1, tzinfo=UTC)
    keys = ("plant", "handler", "site", "licence", "facility", "zone", "gzone")
    ids = dict(ids) if ids else {k: uuid4() for k in keys}
    items = [{"category": c[2], "waste_codes": [], "methods": [c[4]]} for c in CODES[:-1]]
    eng = make_engine(url)
    with eng.begin() as c:
        c.execute(sa.insert(Enterprise.__table__), [  # type: ignore[attr-defined]
            {"id": ids["plant"], "name": "基准药业", "uscc": "91320594MA1N2B3C4X", "kind": "plant",
             "division_code": "320571", "created_at": now},
            {"id": ids["handler"], "name": "基准处置", "uscc": "91320506MA1P5Q6R7X",
             "kind": "handler", "division_code": "320506", "created_at": now}])  # fmt: skip
        c.execute(sa.insert(Site.__table__), [  # type: ignore[attr-defined]
            {"id": ids["site"], "enterprise_id": ids["plant"], "code": "B01", "name": "基准厂区",
             "division_code": "320571", "created_at": now, "licensed_operator": False}])  # fmt: skip
        c.execute(sa.insert(ChainHead.__table__), [  # type: ignore[attr-defined]
            {"site_id": ids["site"], "chain_position": 0, "hash": GENESIS_HASH}])  # fmt: skip
        c.execute(sa.insert(HandlerLicenceRow.__table__), [  # type: ignore[attr-defined]
            {"id": ids["licence"], "enterprise_id": ids["handler"], "licence_no": "JS-BENCH-1",
             "holder_uscc": "91320506MA1P5Q6R7X", "kind": "comprehensive",
             "division_code": "320506", "valid_from": date(YEAR - 1, 1, 1),
             "valid_to": date(YEAR + 3, 1, 1), "items": items, "revoked": False,
             "created_at": now, "updated_at": now}])  # fmt: skip
        c.execute(sa.insert(ManagementPlanRow.__table__), [  # type: ignore[attr-defined]
            {"id": uuid4(), "site_id": ids["site"], "year": YEAR, "filing_no": "B-1",
             "filed_on": date(YEAR, 3, 1), "items": [], "created_at": now, "updated_at": now}])  # fmt: skip
        c.execute(sa.insert(FacilityRow.__table__), [  # type: ignore[attr-defined]
            {"facility_id": ids["facility"], "site_id": ids["site"], "version": 1, "code": "WH1",
             "name": "贮存库", "type": "storage_warehouse", "created_at": now,
             "surface_antiseepage": True}])  # fmt: skip
        for key, code, kind in (("zone", "A1", "hazardous"), ("gzone", "G1", "general")):
            c.execute(sa.insert(ZoneRow.__table__), [  # type: ignore[attr-defined]
                {"zone_id": ids[key], "site_id": ids["site"], "version": 1, "code": code,
                 "name": code, "kind": kind, "created_at": now, "facility_id": ids["facility"],
                 "allowed_categories": "", "allowed_codes": "", "gas_collection": True,
                 "explosion_rated": False}])  # fmt: skip
    eng.dispose()
    return ids


def populate(url: str, lots: list[Lot], ids: dict[str, UUID], with_lots: bool = True) -> float:
    """Bulk-fill the aggregates (and rm_lot for the drill-down). Returns seconds."""
    from app.core.db import make_engine
    from app.projections.base import tables
    from app.projections.lots import LotRow
    from app.projections.scorecard import ManifestMonthRow

    started = time.perf_counter()
    agg = aggregate(lots, ids["site"], ids["licence"], ids["handler"])
    manifests: dict[str, int] = defaultdict(int)
    for lot in lots:
        if lot.ship_at:
            manifests[_month(lot.ship_at)] += 1
    eng = make_engine(url)
    with eng.begin() as c:
        for name, rows in agg.items():
            table = next(t for t in tables() if t.name == name)
            for k in range(0, len(rows), 2000):
                c.execute(sa.insert(table), rows[k : k + 2000])
        c.execute(sa.insert(ManifestMonthRow.__table__), [  # type: ignore[attr-defined]
            {"site_id": ids["site"], "month": m, "dispatched_count": math.ceil(n / 40)}
            for m, n in manifests.items()])  # fmt: skip
        if with_lots:
            batch: list[dict[str, Any]] = []
            for i, lot in enumerate(lots):
                done = lot.ship_at is not None
                batch.append(
                    {"lot_id": lot.lot_id, "site_id": ids["site"], "version": lot.events,
                     "status": ("utilised" if lot.method.startswith("R") else "disposed")
                     if done else "stored", "kind": lot.kind, "name": lot.name,
                     "category": lot.category, "waste_code": lot.code or None,
                     "general_class": "I" if lot.kind == "general" else None,
                     "hazard_characteristics": "T" if lot.kind == "hazardous" else "",
                     "physical_form": "solid", "container_type": "drum",
                     "container_volume_l": 200, "condition": "intact", "weight_kg": lot.kg,
                     "digital_id": f"91320594MA1N2B3C4X{i:019d}", "label_prints": 1,
                     "zone_id": None if done else ids["zone"],
                     "generated_at": lot.generated_at,
                     "labelled_at": lot.generated_at if lot.labelled else None,
                     "stored_at": lot.generated_at + timedelta(hours=1),
                     "shipped_at": lot.ship_at, "received_at": lot.ship_at,
                     "method_code": lot.method if done else None,
                     "completed_on": (lot.ship_at + timedelta(days=3) + CHINA).date()
                     if lot.ship_at else None,
                     "last_event_at": lot.generated_at, "properties": ""}
                )  # fmt: skip
                if len(batch) >= 5000:
                    c.execute(sa.insert(LotRow.__table__), batch)  # type: ignore[attr-defined]
                    batch = []
            if batch:
                c.execute(sa.insert(LotRow.__table__), batch)  # type: ignore[attr-defined]
    with eng.connect() as c:
        c.exec_driver_sql("ANALYZE")
        c.commit()
    eng.dispose()
    return time.perf_counter() - started


# ---------------------------------------------------------------- proof: inline == bulk


def record(url: str, lots: list[Lot], ids: dict[str, UUID]) -> None:
    """Record the lifecycles as real events through the Recorder (inline projectors)."""
    from app.config import Environment, Settings
    from app.context import AppContext
    from app.core.clock import FrozenClock
    from app.domain import events as ev
    from app.domain.values import Container, ContainerType, PhysicalForm, ReceiptOutcome
    from app.domain.values import WasteKind as WK
    from app.projections.manifests import ManifestRow
    from app.services.recorder import Recorder

    settings = Settings(app_env=Environment.testing, database_url=url, jwt_secret="x" * 40,
                        site_signing_seed="7e" * 32)  # fmt: skip
    ctx = AppContext.create(settings)
    container = Container(type=ContainerType.drum, volume_l=Decimal(200), material="HDPE")
    manifest = uuid4()
    now = datetime(YEAR, 1, 1, tzinfo=UTC)
    with ctx.db.session() as s:
        s.add(ManifestRow(
            manifest_id=manifest, number=f"{YEAR}3205000001", site_id=ids["site"],
            consignor_enterprise_id=ids["plant"], handler_enterprise_id=ids["handler"],
            carrier_enterprise_id=ids["handler"], handler_licence_id=ids["licence"],
            status="closed", version=1, planned_date=date(YEAR, 1, 1), total_kg=0, lot_count=0,
            discrepancy_open=False, pending_corrections=0, created_at=now, last_event_at=now,
            state={}))  # fmt: skip
    items: list[tuple[datetime, bool, Lot, int, ev.Event]] = []
    for lot in lots:
        for v, ((step, at), late) in enumerate(zip(_steps(lot), lot.late, strict=True), 1):
            e: ev.Event
            if step == "generated":
                hazardous = lot.kind == "hazardous"
                e = ev.LotGenerated(
                    site_id=ids["site"], kind=WK(lot.kind), name=lot.name, category=lot.category,
                    waste_code=lot.code or None, general_class="I" if not hazardous else None,
                    hazard_characteristics=["T"] if hazardous else [],
                    physical_form=PhysicalForm.solid, container=container, weight_kg=lot.kg,
                    digital_id=f"B{lot.lot_id.hex}")  # fmt: skip
            elif step == "labelled":
                e = ev.LotLabelled()
            elif step == "weighed":  # an unlabelled lot is weighed (same weight), not stored
                e = ev.LotWeighed(weight_kg=lot.kg)
            elif step == "stored":
                e = ev.LotStored(zone_id=ids["zone"] if lot.kind == "hazardous" else ids["gzone"])
                if not lot.labelled:
                    e = ev.LotInspected(condition="intact")
            elif step == "allocated":
                e = ev.LotAllocated(manifest_id=manifest)
            elif step == "shipped":
                e = ev.LotShipped(manifest_id=manifest)
            elif step == "received":
                e = ev.LotReceived(manifest_id=manifest, outcome=ReceiptOutcome.accepted,
                                   received_weight_kg=lot.kg, accepted_weight_kg=lot.kg)  # fmt: skip
            else:
                done = (at + CHINA).date()
                cls = ev.LotUtilised if lot.method.startswith("R") else ev.LotDisposed
                e = cls(method_code=lot.method, completed_on=done)
            items.append((at, late, lot, v, e))
    items.sort(key=lambda x: (x[0], x[3]))
    with ctx.db.session() as s:
        rec = Recorder(s, ctx)
        for at, late, lot, version, e in items:
            ctx.clock = FrozenClock(at + (LATE if late else timedelta(0)))
            rec.ctx = ctx
            rec.store.clock = ctx.clock
            rec.record(actor=None, site_id=ids["site"], stream_type="lot", stream_id=lot.lot_id,
                       expected_version=version - 1, event_id=uuid4(), occurred_at=at,
                       events=[e])  # fmt: skip
    ctx.db.dispose()


def _rows(url: str, name: str) -> list[tuple[str, ...]]:
    from app.core.db import make_engine

    eng = make_engine(url)
    with eng.connect() as c:
        t = sa.Table(name, sa.MetaData(), autoload_with=c)
        out = sorted(
            tuple(str(Decimal(v).normalize()) if isinstance(v, Decimal) else str(v) for v in r)
            for r in c.execute(sa.select(t)).all()
        )
    eng.dispose()
    return out


def proof(backend: str, n: int) -> dict[str, Any]:
    lots = lifecycles(n, seed=5)
    # the bulk rows of an unlabelled lot: it is weighed and inspected, never stored
    with database(backend) as a, database(backend) as b:
        ids_a = _world(a)
        record(a, lots, ids_a)
        _world(b, ids_a)  # same ids on both sides, so rows compare directly
        populate(b, lots, ids_a, with_lots=False)
        tables = ("rm_waste_month", "rm_waste_transfer_day", "rm_event_delay_month")
        equal = {t: _rows(a, t) == _rows(b, t) for t in tables}
        counts = {t: len(_rows(a, t)) for t in tables}
    events = sum(lot.events for lot in lots)
    return {"lots": n, "events": events, "equal": equal, "rows": counts}


# ---------------------------------------------------------------- timing


def _time_scorecard(url: str, site: UUID, runs: int = 5) -> dict[str, float]:
    from app import tables  # noqa: F401
    from app.config import Environment, Settings
    from app.context import AppContext
    from app.domain.values import Role
    from app.identity.permissions import Principal
    from app.scorecard import service

    settings = Settings(app_env=Environment.testing, database_url=url, jwt_secret="x" * 40,
                        site_signing_seed="7e" * 32)  # fmt: skip
    ctx = AppContext.create(settings)
    actor = Principal(uuid4(), "bench", Role.admin, uuid4(), frozenset({site}))
    card, drill = [], []
    total = 0.0
    for _ in range(runs):
        with ctx.db.session(write=False) as s:
            t0 = time.perf_counter()
            c = service.compute(session=s, ctx=ctx, actor=actor, site_id=site, year=YEAR)
            service.to_wire(c)
            card.append(time.perf_counter() - t0)
            total = float(c.card.raw_total)
            t0 = time.perf_counter()
            service.drilldown(session=s, actor=actor, site_id=site, year=YEAR,
                              criterion="e_label_coverage", side="denominator", limit=100,
                              offset=0)  # fmt: skip
            drill.append(time.perf_counter() - t0)
    ctx.db.dispose()
    return {
        "scorecard_s": statistics.median(card),
        "scorecard_first_s": card[0],
        "drilldown_s": statistics.median(drill),
        "raw_total": total,
    }


def run(lots: int = 1_000_000, backend: str = "sqlite", proof_lots: int = 300) -> dict[str, Any]:
    out: dict[str, Any] = {"backend": backend, "lots": lots, "proof": proof(backend, proof_lots)}
    spec = lifecycles(lots)
    out["events"] = sum(lot.events for lot in spec)
    with database(backend) as url:
        ids = _world(url)
        out["populate_s"] = populate(url, spec, ids)
        from app.core.db import make_engine

        eng = make_engine(url)
        with eng.connect() as c:
            out["aggregate_rows"] = {
                t: c.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one()
                for t in ("rm_waste_month", "rm_waste_transfer_day", "rm_event_delay_month",
                          "rm_manifest_month", "rm_lot")
            }  # fmt: skip
        eng.dispose()
        out.update(_time_scorecard(url, ids["site"]))
    out["target_s"] = 2.0 if backend == "postgresql" else 5.0
    return out


def markdown(r: dict[str, Any]) -> str:
    p = r["proof"]
    rows = r["aggregate_rows"]
    agg = sum(v for k, v in rows.items() if k != "rm_lot")
    ok = "yes" if all(p["equal"].values()) else f"NO {p['equal']}"
    return (
        f"Scorecard of a year ({r['backend']}): {r['lots']:,} lots / {r['events']:,} events, "
        f"read from {agg:,} aggregate rows (rm_lot {rows['rm_lot']:,} rows for the drill-down; "
        f"bulk fill {r['populate_s']:.0f} s, not timed). Inline aggregates from real events "
        f"equal the bulk figures ({p['lots']} lots, {p['events']} events through the "
        f"Recorder): {ok}.\n\n"
        "| lots | events | scorecard (median of 5) | first call | drill-down page | target |\n"
        "|---:|---:|---:|---:|---:|---:|\n"
        f"| {r['lots']:,} | {r['events']:,} | {r['scorecard_s'] * 1000:.0f} ms | "
        f"{r['scorecard_first_s'] * 1000:.0f} ms | {r['drilldown_s'] * 1000:.0f} ms | "
        f"≤ {r['target_s']:.0f} s |\n"
    )


def main(argv: list[str] | None = None) -> str:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lots", type=int, default=1_000_000)
    ap.add_argument("--proof", type=int, default=300)
    ap.add_argument("--backend", default=None)
    args = ap.parse_args(argv)
    return "\n".join(
        markdown(run(args.lots, b, args.proof))
        for b in ([args.backend] if args.backend else backends())
    )


if __name__ == "__main__":
    print(main(sys.argv[1:]))
