"""Concurrent digital ID allocation on PostgreSQL: many connections, one counter key, two sites
(two event chains, so the chain-head lock does not serialise them), never a duplicate."""

from __future__ import annotations

import threading
from pathlib import Path
from uuid import UUID

import sqlalchemy as sa

from app.context import AppContext
from app.identity import service as identity_service
from app.lots import schemas
from app.lots import service as lot_service
from labels.ids import parse_digital_id
from tests.support.client import lot_body
from tests.support.world import World, make_settings

THREADS = 8
LOTS = 200
OCCURRED = "2026-03-15T10:00:00+08:00"


def test_200_generations_from_8_threads_on_two_sites(
    pg_db: tuple[str, World], tmp_path: Path
) -> None:
    url, world = pg_db
    ctx = AppContext.create(make_settings(url, tmp_path))
    with ctx.db.session(write=False) as s:
        actor = identity_service.principal_for(session=s, user_id=world.users["admin"])
    sites = [world.site_a, world.site_b]
    ids: list[str] = []
    errors: list[Exception] = []
    lock = threading.Lock()
    barrier = threading.Barrier(THREADS)

    def worker(n: int) -> None:
        barrier.wait()
        for i in range(n, LOTS, THREADS):
            cmd = schemas.LotGenerate.model_validate(lot_body(sites[i % 2], occurred_at=OCCURRED))
            try:
                with ctx.db.session() as s:
                    res = lot_service.generate_lot(session=s, ctx=ctx, actor=actor, cmd=cmd)
            except Exception as exc:  # collected and reported below
                with lock:
                    errors.append(exc)
                continue
            assert res.lot.digital_id is not None
            with lock:
                ids.append(res.lot.digital_id)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:3]
    assert len(ids) == LOTS
    assert len(set(ids)) == LOTS, "duplicate digital IDs"
    parsed = [parse_digital_id(i) for i in ids]
    assert {p.unit_code for p in parsed} == {parsed[0].unit_code}  # one unit, two sites
    assert sorted(p.seq for p in parsed) == list(range(1, LOTS + 1))  # no gaps either
    with ctx.db.session(write=False) as s:
        per_site = dict(
            s.execute(sa.text("SELECT site_id, count(*) FROM rm_lot GROUP BY site_id")).all()
        )
        last = s.execute(sa.text("SELECT last_seq FROM digital_id_sequence")).scalar_one()
    assert {UUID(str(k)): v for k, v in per_site.items()} == {
        world.site_a: LOTS // 2,
        world.site_b: LOTS // 2,
    }
    assert last == LOTS
    ctx.db.dispose()


def test_concurrent_twins_take_one_number(pg_db: tuple[str, World], tmp_path: Path) -> None:
    """The same generate racing on 8 connections: the replays give their numbers back."""
    url, world = pg_db
    ctx = AppContext.create(make_settings(url, tmp_path))
    with ctx.db.session(write=False) as s:
        actor = identity_service.principal_for(session=s, user_id=world.users["operator"])
    cmd = schemas.LotGenerate.model_validate(lot_body(world.site_a, occurred_at=OCCURRED))
    answers: list[str | None] = []
    barrier = threading.Barrier(THREADS)

    def worker() -> None:
        barrier.wait()
        with ctx.db.session() as s:
            res = lot_service.generate_lot(session=s, ctx=ctx, actor=actor, cmd=cmd)
        answers.append(res.lot.digital_id)

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(answers) == THREADS and len(set(answers)) == 1
    assert answers[0] is not None and parse_digital_id(answers[0]).seq == 1
    with ctx.db.session(write=False) as s:
        last = s.execute(sa.text("SELECT last_seq FROM digital_id_sequence")).scalar_one()
    assert last == 1
    ctx.db.dispose()
