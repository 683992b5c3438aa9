"""Benchmark plumbing: throw-away databases and a timer."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from uuid import uuid4

import sqlalchemy as sa

PG_URL = os.environ.get("HAZCHAIN_BENCH_POSTGRES_URL", "")


@contextmanager
def database(kind: str) -> Iterator[str]:
    """A fresh, migrated database URL of `kind` ('sqlite' or 'postgresql'), dropped after."""
    from app.migrate import upgrade

    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{Path(tmp) / 'bench.db'}"
            upgrade(url)
            yield url
        return
    if not PG_URL:
        raise RuntimeError("HAZCHAIN_BENCH_POSTGRES_URL is not set")
    name = f"hazchain_bench_{uuid4().hex[:8]}"
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        yield url
    finally:
        with admin.connect() as c:
            c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def rate(n: int, fn: Callable[[], None]) -> tuple[float, float]:
    """Run fn once; return (seconds, n per second)."""
    started = time.perf_counter()
    fn()
    seconds = time.perf_counter() - started
    return seconds, n / seconds


def backends() -> list[str]:
    return ["sqlite", "postgresql"] if PG_URL else ["sqlite"]
