"""Engine, sessions and column types shared by every table.

One transaction per request or command, owned by `Database.session()`: it commits on success
and rolls back on any error. Services never commit; they may flush.

SQLite runs in WAL mode. Write sessions open with `BEGIN IMMEDIATE` so that a read-then-write
transaction never fails half-way on a lock upgrade; read sessions use a plain `BEGIN`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect, Engine
from sqlmodel import Session, SQLModel

from app.domain.errors import InvalidInput

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION
metadata = SQLModel.metadata


def canonical_json(value: Any) -> str:
    """The one JSON text form we store and hash: sorted keys, no spaces, UTF-8 kept."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


# A 64-bit integer key on PostgreSQL; SQLite's rowid alias (INTEGER PRIMARY KEY, which alone
# autoincrements there).
BigIntPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class UTCDateTime(sa.TypeDecorator[datetime]):
    """`timestamptz` on PostgreSQL; on SQLite a UTC text value read back as aware UTC."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: use an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class CanonicalJSON(sa.TypeDecorator[Any]):
    """JSON stored as its canonical text, byte for byte.

    PostgreSQL's `json` type (not `jsonb`) keeps the input text exactly, so the text that was
    hashed at append time is the text a verifier reads back with `CAST(col AS TEXT)`.
    """

    impl = sa.Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.JSON())
        return dialect.type_descriptor(sa.Text())

    def bind_processor(self, dialect: Dialect) -> Any:
        def process(value: Any) -> str | None:
            if value is None:
                return None
            return value if isinstance(value, str) else canonical_json(value)

        return process

    def result_processor(self, dialect: Dialect, coltype: Any) -> Any:
        def process(value: Any) -> Any:
            return json.loads(value) if isinstance(value, str) else value

        return process


def make_engine(
    url: str, echo: bool = False, pool_size: int = 32, ping_after_idle_s: float = 10.0
) -> Engine:
    if url.startswith("sqlite"):
        engine = sa.create_engine(
            url,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=8,
            max_overflow=8,
        )
        _configure_sqlite(engine)
        return engine
    # Sessions run in UTC; server options the URL gives (`?options=-c statement_timeout=…`)
    # are kept, not replaced by ours.
    given = sa.make_url(url).query.get("options")
    options = " ".join([*((given,) if isinstance(given, str) else given or ()), "-c timezone=UTC"])
    engine = sa.create_engine(
        url,
        echo=echo,
        pool_size=pool_size,
        max_overflow=pool_size,  # a request that holds two sessions, background work
        connect_args={"options": options},
    )
    _ping_when_idle(engine, ping_after_idle_s)
    return engine


def _ping_when_idle(engine: Engine, after_s: float) -> None:
    """Check a pooled connection's liveness at checkout, but only when it sat unused in the
    pool for `after_s` seconds or more.

    A firewall that drops idle connections, or a database restart, leaves dead connections in
    the pool; the ping finds them and the pool replaces them, so the request never sees one.
    `pool_pre_ping` pings on every checkout: a round trip per request that cost a handheld scan
    about a fifth of its time (docs/benchmarks.md). A connection that was in use seconds ago
    is alive or fails as a clean 503 (`app.core.errors`), and that failure invalidates the
    whole pool, so the next request connects afresh.
    """

    @event.listens_for(engine, "connect")
    def _connected(_dbapi_connection: Any, record: Any) -> None:
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info["returned_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if time.monotonic() - record.info.get("returned_at", 0.0) < after_s:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise sa.exc.DisconnectionError("pooled connection is dead") from exc


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take over transaction control from pysqlite so BEGIN IMMEDIATE and savepoints work.
        dbapi_connection.isolation_level = None
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        write = conn.get_execution_options().get("hazchain_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


class Database:
    """The engine plus the one way to get a transactional session."""

    def __init__(
        self, url: str, echo: bool = False, pool_size: int = 32, ping_after_idle_s: float = 10.0
    ) -> None:
        self.url = url
        self.engine = make_engine(
            url, echo=echo, pool_size=pool_size, ping_after_idle_s=ping_after_idle_s
        )
        self._write_engine = self.engine.execution_options(hazchain_write=True)
        # Reads see one snapshot across their statements: a report, an export or a chain
        # verification that reads table after table while the plant keeps appending reads them
        # as of one moment. SQLite's read transaction (WAL) is that snapshot; PostgreSQL's
        # default, READ COMMITTED, takes a new one per statement.
        self._snapshot_engine = (
            self.engine.execution_options(isolation_level="REPEATABLE READ")
            if self.engine.dialect.name == "postgresql"
            else self.engine
        )
        # PostgreSQL reads that need no snapshot across statements: no BEGIN, no ROLLBACK
        self._autocommit_engine = (
            self.engine.execution_options(isolation_level="AUTOCOMMIT")
            if self.engine.dialect.name == "postgresql"
            else self.engine
        )

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self, write: bool = True, snapshot: bool = True) -> Iterator[Session]:
        """One transaction: commit on success, roll back on any exception. A read session
        (`write=False`) sees one snapshot of the database throughout; `snapshot=False`: each
        statement sees the latest committed data, with no transaction around them on
        PostgreSQL (two round trips fewer)."""
        reads = self._snapshot_engine if snapshot else self._autocommit_engine
        bind = self._write_engine if write else reads
        with Session(bind, expire_on_commit=False, autoflush=False) as session:
            try:
                yield session
                if write:
                    session.commit()
                else:
                    session.rollback()
            except BaseException:
                session.rollback()
                raise

    def dispose(self) -> None:
        self.engine.dispose()


def apply_patch(row: Any, values: dict[str, Any]) -> None:
    """Set a PATCH's fields on a row. An explicit null for a column that cannot be null is the
    client's mistake, refused with 422 before anything is written, not a database error."""
    columns = type(row).__table__.c
    for key, value in values.items():
        column = columns.get(key)
        if value is None and column is not None and not column.nullable:
            raise InvalidInput(f"{key} may not be null: leave it out to keep it", field=key)
    for key, value in values.items():
        setattr(row, key, value)


def bump_counter(
    session: Session, table: sa.Table, key: dict[str, Any], column: str = "last_seq"
) -> int:
    """Increment (or start at 1) the counter row of `key` and return the new value, race-free:
    one `INSERT … ON CONFLICT DO UPDATE … RETURNING` (PostgreSQL, SQLite ≥ 3.35). Concurrent
    callers on one key wait for each other's row lock and never see the same number."""
    from sqlalchemy.dialects import postgresql, sqlite

    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = (
        insert(table)
        .values(**key, **{column: 1})
        .on_conflict_do_update(
            index_elements=[table.c[k] for k in key], set_={column: table.c[column] + 1}
        )
        .returning(table.c[column])
    )
    return int(session.execute(stmt).scalar_one())


# ---------------------------------------------------------------- batches: keep rows at hand

_PIN_KEY = "hazchain_pinned_rows"


def keep_rows(session: Session) -> None:
    """Until this transaction ends, keep every ORM row it loads or adds referenced.

    SQLAlchemy's identity map holds rows weakly: once a step of a batch is done with a lot's
    read-model row, the next step on the same lot (or the next append's projection checkpoint)
    read it again. A batch (a handheld sync) pins them instead. A savepoint rolled back still
    expires what it changed, so a pinned row is re-read when it must be."""
    session.info.setdefault(_PIN_KEY, [])
    if not event.contains(session, "after_transaction_end", _unpin):
        event.listen(session, "after_transaction_end", _unpin)


def _unpin(session: Session, transaction: Any) -> None:
    if transaction.parent is None:
        session.info.pop(_PIN_KEY, None)


@event.listens_for(Session, "loaded_as_persistent")
@event.listens_for(Session, "pending_to_persistent")
def _pin(session: Session, instance: Any) -> None:
    pinned = session.info.get(_PIN_KEY)
    if pinned is not None:
        pinned.append(instance)
