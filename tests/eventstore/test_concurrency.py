"""Concurrent writers on PostgreSQL: 8 threads append to one lot stream, each claiming the
version it last read; every version is written exactly once, losers get 409 conflicts."""

from __future__ import annotations

import threading
from collections import Counter
from decimal import Decimal
from pathlib import Path
from uuid import uuid4

from app.context import AppContext
from app.domain.errors import ConcurrencyConflict, Conflict
from app.identity import service as identity_service
from app.lots import schemas
from app.lots import service as lot_service
from app.projections.lots import LotRow
from tests.support.client import lot_body
from tests.support.world import World, make_settings

THREADS = 8
ROUNDS = 6


def test_eight_threads_on_one_stream(pg_db: tuple[str, World], tmp_path: Path) -> None:
    url, world = pg_db
    ctx = AppContext.create(make_settings(url, tmp_path))
    with ctx.db.session() as s:
        actor = identity_service.principal_for(session=s, user_id=world.users["operator"])
        lot = lot_service.generate_lot(
            session=s,
            ctx=ctx,
            actor=actor,
            cmd=schemas.LotGenerate.model_validate(lot_body(world.site_a)),
        ).lot
    lot_id = lot.lot_id
    outcomes: Counter[str] = Counter()
    written: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(THREADS)

    def worker(n: int) -> None:
        for r in range(ROUNDS):
            with ctx.db.session(write=False) as s:
                seen = s.get(LotRow, lot_id).version  # type: ignore[union-attr]
            barrier.wait()
            try:
                with ctx.db.session() as s:
                    res = lot_service.weigh_lot(
                        session=s,
                        ctx=ctx,
                        actor=actor,
                        lot_id=lot_id,
                        cmd=schemas.LotWeigh(
                            event_id=uuid4(), expected_version=seen, weight_kg=Decimal(n * 100 + r)
                        ),
                    )
                with lock:
                    outcomes["ok"] += 1
                    written.append(res.event.version)
            except (ConcurrencyConflict, Conflict):
                with lock:
                    outcomes["conflict"] += 1

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes["ok"] + outcomes["conflict"] == THREADS * ROUNDS
    # Every round all threads read the same version: exactly one of them wins it.
    assert outcomes["ok"] == ROUNDS, outcomes
    assert sorted(written) == list(range(2, 2 + ROUNDS))
    with ctx.db.session(write=False) as s:
        from app.audit import service as audit_service

        events = lot_service.lot_events(session=s, ctx=ctx, actor=actor, lot_id=lot_id)
        assert [e.version for e in events] == list(range(1, 2 + ROUNDS))
        assert s.get(LotRow, lot_id).version == 1 + ROUNDS  # type: ignore[union-attr]
        assert audit_service.verify(session=s, ctx=ctx, actor=None).status == "ok"
    ctx.db.dispose()


def test_concurrent_twins_of_one_event_id_write_once(
    pg_db: tuple[str, World], tmp_path: Path
) -> None:
    """The same generate request racing on 8 connections: one event, 8 identical answers."""
    url, world = pg_db
    ctx = AppContext.create(make_settings(url, tmp_path))
    with ctx.db.session() as s:
        actor = identity_service.principal_for(session=s, user_id=world.users["operator"])
    cmd = schemas.LotGenerate.model_validate(lot_body(world.site_a))
    answers: list[object] = []
    barrier = threading.Barrier(THREADS)

    def worker() -> None:
        barrier.wait()
        with ctx.db.session() as s:
            answers.append(lot_service.generate_lot(session=s, ctx=ctx, actor=actor, cmd=cmd))

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(answers) == THREADS
    assert all(a == answers[0] for a in answers)
    with ctx.db.session(write=False) as s:
        assert (
            len(
                lot_service.lot_events(
                    session=s, ctx=ctx, actor=actor, lot_id=answers[0].lot.lot_id
                )
            )
            == 1
        )  # type: ignore[attr-defined]
    ctx.db.dispose()
