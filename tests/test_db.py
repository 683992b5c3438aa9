"""`Database.session`: reads without a snapshot run outside a transaction on PostgreSQL, and
the pooled connection they used is transactional again for the next session."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from psycopg.pq import TransactionStatus

from app.core.db import Database
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
