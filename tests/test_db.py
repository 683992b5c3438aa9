"""`Database.session`: reads without a snapshot run outside a transaction on PostgreSQL, and
the pooled connection they used is transactional again for the next session. The pool checks a
connection that sat idle (and replaces a dead one unseen), not one in steady use."""

from __future__ import annotations

import time
from typing import Any

import pytest
import sqlalchemy as sa
from psycopg.pq import TransactionStatus

from app.core.db import Database, make_engine
from tests.support.world import World

pytestmark = pytest.mark.postgres


def _status(s: Any) -> TransactionStatus:
    """The server's own word (in its protocol) on whether a transaction is open."""
    s.execute(sa.text("SELECT 1"))
    return s.connection().connection.dbapi_connection.info.transaction_status


def test_a_read_without_snapshot_leaves_the_pool_transactional(
    pg_db: tuple[str, World],
) -> None:
    url, _ = pg_db
    db = Database(url, pool_size=1)  # one connection: every session below reuses it
    try:
        with db.session(write=False, snapshot=False) as s:
            assert _status(s) is TransactionStatus.IDLE  # no transaction around the read
        with db.session(write=True) as s:
            assert _status(s) is TransactionStatus.INTRANS
        with pytest.raises(RuntimeError), db.session(write=True) as s:
            s.execute(sa.text("CREATE TABLE t_rolled_back (x int)"))
            raise RuntimeError("undone")
        with db.session(write=False) as s:
            assert _status(s) is TransactionStatus.INTRANS
            assert s.execute(sa.text("SELECT to_regclass('t_rolled_back')")).scalar() is None
    finally:
        db.dispose()


def _backend_pid(s: Any) -> int:
    return int(s.execute(sa.text("SELECT pg_backend_pid()")).scalar_one())


def _terminate(url: str, pid: int) -> None:
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as c:
            assert c.execute(sa.text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar_one()
            for _ in range(100):  # the backend leaves at once; wait until it has
                gone = c.execute(
                    sa.text("SELECT count(*) FROM pg_stat_activity WHERE pid = :p"), {"p": pid}
                ).scalar_one()
                if not gone:
                    return
                time.sleep(0.05)
    finally:
        admin.dispose()


def test_a_connection_idle_in_the_pool_is_checked_and_a_dead_one_replaced_unseen(
    pg_db: tuple[str, World],
) -> None:
    url, _ = pg_db
    db = Database(url, pool_size=1, ping_after_idle_s=0.2)
    try:
        with db.session(write=False) as s:
            first = _backend_pid(s)
        _terminate(url, first)  # a firewall or a restart killed it while it sat in the pool
        time.sleep(0.3)
        with db.session(write=False) as s:  # the ping finds it dead: a new one, no error
            assert _backend_pid(s) != first
    finally:
        db.dispose()


def test_a_connection_in_steady_use_is_not_pinged(
    pg_db: tuple[str, World], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, _ = pg_db
    db = Database(url, pool_size=1, ping_after_idle_s=60)
    pings: list[object] = []
    real_ping = db.engine.dialect.do_ping
    monkeypatch.setattr(db.engine.dialect, "do_ping", lambda c: pings.append(c) or real_ping(c))
    try:
        for _ in range(5):
            with db.session(write=False, snapshot=False) as s:
                s.execute(sa.text("SELECT 1"))
        assert pings == []  # no round trip before each use: the connection was busy just now
        db.engine.pool.dispose()
        with db.session(write=False) as s:  # a fresh connection is not pinged either
            s.execute(sa.text("SELECT 1"))
        assert pings == []
    finally:
        db.dispose()
    db = Database(url, pool_size=1, ping_after_idle_s=0)  # 0: before every use
    monkeypatch.setattr(db.engine.dialect, "do_ping", lambda c: pings.append(c) or real_ping(c))
    try:
        for _ in range(3):
            with db.session(write=False) as s:
                s.execute(sa.text("SELECT 1"))
        assert len(pings) == 3
    finally:
        db.dispose()


def test_server_options_in_the_url_are_kept_beside_utc(pg_db: tuple[str, World]) -> None:
    """`?options=-c …` in DATABASE_URL (a statement timeout, a search path) reaches the server;
    the sessions still run in UTC."""
    url, _ = pg_db
    sep = "&" if "?" in url else "?"
    engine = make_engine(f"{url}{sep}options=-c%20statement_timeout%3D4321")
    with engine.connect() as c:
        assert c.exec_driver_sql("SHOW statement_timeout").scalar() == "4321ms"
        assert c.exec_driver_sql("SHOW timezone").scalar() == "UTC"
    engine.dispose()
