"""Event store benchmarks (issue 2).

1. Append throughput, one event per transaction and 100 per transaction, through
   `EventStore.append` (idempotency check, site chain lock, version check, hash, insert, head
   update), beside a baseline of raw INSERT of the same row + UPDATE of the chain head through
   SQLAlchemy Core, same connection pool, same concurrency (one writer), same run.
2. `verify` over a large chain: events per second, as `hazchain verify` runs it (the chain in
   spans, one worker process per core) beside one pass in one process, same run.
"""

from __future__ import annotations

import argparse
import io
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import sqlalchemy as sa

from app import tables  # noqa: F401
from app.audit import service as audit_service
from app.config import Environment, Settings
from app.context import AppContext
from app.core.db import canonical_json
from app.domain.events import LotWeighed
from app.domain.uscc import uscc_with_check
from app.domain.values import Role
from app.eventstore.hashing import GENESIS_HASH, event_hash, ts
from app.eventstore.models import ChainHead, StoredEvent
from app.eventstore.store import EventStore, NewEvent
from app.eventstore.verify import VerifyReport, default_workers, verify_chains
from app.identity import schemas as id_schemas
from app.identity import service as identity_service
from app.identity.permissions import Principal
from benchmarks.common import backends, database, rate

EVENT = StoredEvent.__table__  # type: ignore[attr-defined]
HEAD = ChainHead.__table__  # type: ignore[attr-defined]


def _ctx(url: str, tmp: Path) -> AppContext:
    return AppContext.create(
        Settings(
            app_env=Environment.testing,
            database_url=url,
            var_dir=tmp,
            jwt_secret="b" * 48,
            site_signing_seed="5a" * 32,
        )
    )


def _site(ctx: AppContext, code: str = "B01") -> UUID:
    with ctx.db.session() as s:
        ent = identity_service.create_enterprise(
            session=s,
            ctx=ctx,
            cmd=id_schemas.EnterpriseCreate(
                name=f"bench {code}",
                uscc=uscc_with_check(f"91320594MA1N2B{code}"),
                kind="plant",
                division_code="320571",
            ),
        )
        return identity_service.create_site(
            session=s,
            ctx=ctx,
            cmd=id_schemas.SiteCreate(
                enterprise_id=ent.id, code=code, name="bench", division_code="320571"
            ),
        ).id


def _store_appends(ctx: AppContext, site: UUID, n_tx: int, per_tx: int) -> None:
    now = datetime.now(UTC)
    for _ in range(n_tx):
        with ctx.db.session() as s:
            store = EventStore(s, clock=ctx.clock, keys=ctx.keys, checkpoint_every=10**9)
            for _ in range(per_tx):
                store.append(
                    site_id=site,
                    stream_type="lot",
                    stream_id=uuid4(),
                    expected_version=0,
                    events=[
                        NewEvent(
                            event_id=uuid4(),
                            event=LotWeighed(weight_kg=Decimal("12.5")),
                            occurred_at=now,
                        )
                    ],
                )


def _store_stream_batches(ctx: AppContext, site: UUID, n_tx: int, per_tx: int) -> None:
    """per_tx events in ONE append call (one stream) per transaction."""
    now = datetime.now(UTC)
    for _ in range(n_tx):
        with ctx.db.session() as s:
            store = EventStore(s, clock=ctx.clock, keys=ctx.keys, checkpoint_every=10**9)
            store.append(
                site_id=site,
                stream_type="lot",
                stream_id=uuid4(),
                expected_version=0,
                events=[
                    NewEvent(
                        event_id=uuid4(),
                        event=LotWeighed(weight_kg=Decimal("12.5")),
                        occurred_at=now,
                    )
                    for _ in range(per_tx)
                ],
            )


def _raw_stream_batches(ctx: AppContext, site: UUID, n_tx: int, per_tx: int) -> None:
    """per_tx rows in one multi-row INSERT + one UPDATE of the head, per transaction."""
    now = datetime.now(UTC)
    engine = ctx.db._write_engine
    with engine.connect() as c:
        position = c.execute(
            sa.select(HEAD.c.chain_position).where(HEAD.c.site_id == site)
        ).scalar_one()
    for _ in range(n_tx):
        stream = uuid4()
        rows = []
        for v in range(1, per_tx + 1):
            position += 1
            rows.append(
                {
                    "event_id": uuid4(),
                    "site_id": site,
                    "chain_position": position,
                    "stream_type": "lot",
                    "stream_id": stream,
                    "version": v,
                    "type": "lot.weighed",
                    "schema_version": 1,
                    "payload": {"weight_kg": "12.500"},
                    "findings": [],
                    "occurred_at": now,
                    "recorded_at": now,
                    "prev_hash": "0" * 64,
                    "hash": "1" * 64,
                }
            )
        with engine.begin() as c:
            c.execute(EVENT.insert(), rows)
            c.execute(
                HEAD.update().where(HEAD.c.site_id == site),
                {"chain_position": position, "hash": "1" * 64},
            )


def _raw_appends(ctx: AppContext, site: UUID, n_tx: int, per_tx: int) -> None:
    now = datetime.now(UTC)
    payload = {"weight_kg": "12.500"}
    engine = ctx.db._write_engine
    with engine.connect() as c:
        position = c.execute(
            sa.select(HEAD.c.chain_position).where(HEAD.c.site_id == site)
        ).scalar_one()
    for _ in range(n_tx):
        with engine.begin() as c:
            for _ in range(per_tx):
                position += 1
                c.execute(
                    EVENT.insert(),
                    {
                        "event_id": uuid4(),
                        "site_id": site,
                        "chain_position": position,
                        "stream_type": "lot",
                        "stream_id": uuid4(),
                        "version": 1,
                        "type": "lot.weighed",
                        "schema_version": 1,
                        "payload": payload,
                        "findings": [],
                        "occurred_at": now,
                        "recorded_at": now,
                        "prev_hash": "0" * 64,
                        "hash": "1" * 64,
                    },
                )
                c.execute(
                    HEAD.update().where(HEAD.c.site_id == site),
                    {"chain_position": position, "hash": "1" * 64},
                )


def bench_append(kind: str, single: int, batches: int) -> list[dict[str, Any]]:
    out = []
    with database(kind) as url, tempfile.TemporaryDirectory() as tmp:
        ctx = _ctx(url, Path(tmp))
        store_site, raw_site = _site(ctx, "B01"), _site(ctx, "B02")
        _store_appends(ctx, store_site, 20, 1)  # warm-up
        _raw_appends(ctx, raw_site, 20, 1)
        cases = [
            ("1 event / transaction", single, 1, _raw_appends, _store_appends),
            ("100 appends (100 streams) / transaction", batches, 100, _raw_appends, _store_appends),
            (
                "1 append of 100 events / transaction",
                batches,
                100,
                _raw_stream_batches,
                _store_stream_batches,
            ),
        ]
        for label, n_tx, per_tx, raw_fn, store_fn in cases:
            n = n_tx * per_tx
            _, raw = rate(
                n, lambda f=raw_fn, n_tx=n_tx, per_tx=per_tx: f(ctx, raw_site, n_tx, per_tx)
            )
            _, store = rate(
                n, lambda f=store_fn, n_tx=n_tx, per_tx=per_tx: f(ctx, store_site, n_tx, per_tx)
            )
            out.append(
                {
                    "backend": kind,
                    "case": label,
                    "events": n,
                    "raw_per_s": raw,
                    "store_per_s": store,
                    "ratio": store / raw,
                }
            )
        ctx.db.dispose()
    return out


def _fill_chain(ctx: AppContext, site: UUID, n: int) -> None:
    """Write a valid chain of n events quickly (bulk load, real hashes)."""
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    prev = GENESIS_HASH
    streams = [uuid4() for _ in range(max(1, n // 5))]
    versions: dict[UUID, int] = {}
    rows = []
    for i in range(1, n + 1):
        stream = streams[i % len(streams)]
        v = versions.get(stream, 0) + 1
        versions[stream] = v
        at = t0 + timedelta(seconds=i)
        eid = uuid4()
        payload = canonical_json({"weight_kg": f"{i % 997}.500"})
        h = event_hash(
            prev_hash=prev,
            site_id=site,
            chain_position=i,
            event_id=eid,
            stream_type="lot",
            stream_id=stream,
            version=v,
            type="lot.weighed",
            schema_version=1,
            occurred_at=ts(at),
            recorded_at=ts(at),
            actor_id=None,
            device_id=None,
            rule_set_version=None,
            findings_json="[]",
            payload_json=payload,
        )
        rows.append((eid, site, i, stream, v, payload, at, prev, h))
        prev = h
    with ctx.db.engine.begin() as c:
        raw = c.connection.dbapi_connection
        assert raw is not None
        if ctx.db.dialect == "postgresql":
            cur = raw.cursor()
            with cur.copy(
                "COPY stored_event (event_id, site_id, chain_position, stream_type, "
                "stream_id, version, type, schema_version, payload, findings, "
                "occurred_at, recorded_at, prev_hash, hash) FROM STDIN"
            ) as copy:
                for eid, s, i, stream, v, payload, at, ph, h in rows:
                    copy.write_row(
                        (
                            eid,
                            s,
                            i,
                            "lot",
                            stream,
                            v,
                            "lot.weighed",
                            1,
                            payload,
                            "[]",
                            at,
                            at,
                            ph,
                            h,
                        )
                    )
        else:
            cur = raw.cursor()
            cur.executemany(
                "INSERT INTO stored_event (event_id, site_id, chain_position, stream_type, "
                "stream_id, version, type, schema_version, payload, findings, occurred_at, "
                "recorded_at, prev_hash, hash) VALUES (?, ?, ?, 'lot', ?, ?, 'lot.weighed', 1, "
                "?, '[]', ?, ?, ?, ?)",
                (
                    (
                        eid.hex,
                        s.hex,
                        i,
                        stream.hex,
                        v,
                        payload,
                        at.replace(tzinfo=None).isoformat(" ", "microseconds"),
                        at.replace(tzinfo=None).isoformat(" ", "microseconds"),
                        ph,
                        h,
                    )
                    for eid, s, i, stream, v, payload, at, ph, h in rows
                ),
            )
        c.execute(HEAD.update().where(HEAD.c.site_id == site), {"chain_position": n, "hash": prev})


def bench_verify(kind: str, n: int) -> dict[str, Any]:
    """`verify_chains` as `hazchain verify` runs it (in spans, one process per core) and in one
    pass, alternating, twice each; the best of each. On PostgreSQL the one pass fetches ahead
    in a thread (as `verify_chains` does by default)."""
    workers = default_workers()
    with database(kind) as url, tempfile.TemporaryDirectory() as tmp:
        ctx = _ctx(url, Path(tmp))
        site = _site(ctx)
        load_s, _ = rate(n, lambda: _fill_chain(ctx, site, n))
        runs: dict[int, list[VerifyReport]] = {1: [], workers: []}
        for w in [1, workers] * 2:
            with ctx.db.session(write=False) as s:  # as the CLI reads
                runs[w].append(verify_chains(s.connection(), ctx.keys.public_key, workers=w))
        shown_ms = _shown_ms(ctx, runs[1][-1])
        ctx.db.dispose()
    for r in runs[1] + runs[workers]:
        assert r.ok and r.events == n, r.summary()
    one = min(runs[1], key=lambda r: r.seconds)
    spans = min(runs[workers], key=lambda r: r.seconds)
    return {
        "backend": kind,
        "events": n,
        "workers": workers,
        "seconds": spans.seconds,
        "per_s": n / spans.seconds,
        "one_pass_per_s": n / one.seconds,
        "load_seconds": load_s,
        "shown_ms": shown_ms,
    }


def _shown_ms(ctx: AppContext, report: VerifyReport) -> float:
    """What the audit and exports pages pay since session 6: the last recorded run, read back
    (median of 20, ms), where they used to recompute every chain."""
    with ctx.db.session() as s:
        audit_service.record_run(
            session=s, actor=None, trigger="cli", started_at=datetime.now(UTC), report=report
        )
    admin = Principal(uuid4(), "bench", Role.admin, uuid4(), frozenset())
    times = []
    for _ in range(20):
        t0 = time.perf_counter()
        with ctx.db.session(write=False) as s:
            assert audit_service.latest_run(session=s, actor=admin) is not None
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def main(argv: list[str] | None = None) -> str:
    p = argparse.ArgumentParser("benchmarks.eventstore")
    p.add_argument("--single", type=int, default=2000, help="one-event transactions")
    p.add_argument("--batches", type=int, default=50, help="100-event transactions")
    p.add_argument("--verify-events", type=int, default=1_000_000)
    args = p.parse_args(argv)
    buf = io.StringIO()
    buf.write("### Append throughput (events/s)\n\n")
    buf.write("| backend | case | events | raw INSERT+UPDATE | EventStore.append | ratio |\n")
    buf.write("|---|---|---:|---:|---:|---:|\n")
    for kind in backends():
        for r in bench_append(kind, args.single, args.batches):
            buf.write(
                f"| {r['backend']} | {r['case']} | {r['events']:,} | {r['raw_per_s']:,.0f} "
                f"| {r['store_per_s']:,.0f} | {r['ratio']:.0%} |\n"
            )
    buf.write("\n### Chain verification\n\n")
    buf.write(
        "| backend | events | processes | seconds | events/s | one pass, events/s | ratio "
        "| last run read back, ms |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    for kind in backends():
        v = bench_verify(kind, args.verify_events)
        buf.write(
            f"| {v['backend']} | {v['events']:,} | {v['workers']} | {v['seconds']:.2f} "
            f"| {v['per_s']:,.0f} | {v['one_pass_per_s']:,.0f} "
            f"| {v['per_s'] / v['one_pass_per_s']:.2f}× | {v['shown_ms']:.1f} |\n"
        )
    return buf.getvalue()


if __name__ == "__main__":
    print(main())
