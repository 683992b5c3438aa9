"""Test plumbing: real databases (SQLite always, PostgreSQL when configured), each test on a
fresh copy of a migrated template that already holds a small world (enterprises, sites,
users, zones), so tests start fast and never share state.

PostgreSQL: set HAZCHAIN_TEST_POSTGRES_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/postgres).
With HAZCHAIN_REQUIRE_POSTGRES=1 (CI) an unreachable server fails the run instead of skipping.
"""

from __future__ import annotations

import os

os.environ["APP_ENV"] = "testing"

import shutil
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import pytest
import sqlalchemy as sa

from tests.support.world import World, build_world, make_settings

PG_URL = os.environ.get("HAZCHAIN_TEST_POSTGRES_URL", "")
REQUIRE_PG = os.environ.get("HAZCHAIN_REQUIRE_POSTGRES") == "1"


def _pg_admin_engine() -> sa.Engine:
    return sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT", pool_pre_ping=True)


def _pg_reachable() -> str | None:
    if not PG_URL:
        return "HAZCHAIN_TEST_POSTGRES_URL is not set"
    try:
        eng = _pg_admin_engine()
        with eng.connect() as c:
            c.exec_driver_sql("SELECT 1")
        eng.dispose()
    except Exception as exc:
        return f"PostgreSQL at {PG_URL} is unreachable: {exc.__class__.__name__}: {exc}"
    return None


_PG_PROBLEM = _pg_reachable() if (PG_URL or REQUIRE_PG) else "HAZCHAIN_TEST_POSTGRES_URL is not set"
if REQUIRE_PG and _PG_PROBLEM:
    raise pytest.UsageError(f"PostgreSQL is required (HAZCHAIN_REQUIRE_POSTGRES=1): {_PG_PROBLEM}")


def _pg_url_for(dbname: str) -> str:
    return sa.make_url(PG_URL).set(database=dbname).render_as_string(hide_password=False)


class Template:
    """A migrated database holding the test world, cloned per test."""

    def __init__(self, backend: str, tmp: Path) -> None:
        self.backend = backend
        self.tmp = tmp
        self.world: World | None = None
        if backend == "sqlite":
            self.path = tmp / "template.db"
            self.url = f"sqlite:///{self.path}"
        else:
            self.dbname = f"hazchain_tpl_{uuid4().hex[:10]}"
            eng = _pg_admin_engine()
            with eng.connect() as c:
                c.exec_driver_sql(f'CREATE DATABASE "{self.dbname}"')
            eng.dispose()
            self.url = _pg_url_for(self.dbname)
        from app.migrate import upgrade

        upgrade(self.url)
        self.world = build_world(self.url, tmp)

    def clone(self) -> tuple[str, object]:
        name = f"t_{uuid4().hex[:12]}"
        if self.backend == "sqlite":
            path = self.tmp / f"{name}.db"
            shutil.copyfile(self.path, path)
            return f"sqlite:///{path}", path
        eng = _pg_admin_engine()
        with eng.connect() as c:
            c.exec_driver_sql(f'CREATE DATABASE "hazchain_{name}" TEMPLATE "{self.dbname}"')
        eng.dispose()
        return _pg_url_for(f"hazchain_{name}"), f"hazchain_{name}"

    def drop(self, handle: object) -> None:
        if self.backend == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                Path(f"{handle}{suffix}").unlink(missing_ok=True)
            return
        eng = _pg_admin_engine()
        with eng.connect() as c:
            c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{handle}" WITH (FORCE)')
        eng.dispose()

    def close(self) -> None:
        if self.backend == "postgresql":
            self.drop(self.dbname)


_templates: dict[str, Template] = {}


@pytest.fixture(scope="session")
def _template_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hazchain-db")


def _template(backend: str, tmp: Path) -> Template:
    if backend not in _templates:
        _templates[backend] = Template(backend, tmp)
    return _templates[backend]


def pytest_sessionfinish(session: pytest.Session) -> None:
    for t in _templates.values():
        t.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgresql" and _PG_PROBLEM:
        pytest.skip(f"PostgreSQL tests skipped: {_PG_PROBLEM}")
    return str(request.param)


@pytest.fixture
def postgres_only() -> str:
    if _PG_PROBLEM:
        pytest.skip(f"PostgreSQL tests skipped: {_PG_PROBLEM}")
    return "postgresql"


def _db(backend: str, tmp: Path) -> Iterator[tuple[str, World]]:
    tpl = _template(backend, tmp)
    url, handle = tpl.clone()
    try:
        assert tpl.world is not None
        yield url, tpl.world
    finally:
        tpl.drop(handle)


@pytest.fixture
def db(backend: str, _template_dir: Path) -> Iterator[tuple[str, World]]:
    """(url, world) of a fresh database on the parametrised backend."""
    yield from _db(backend, _template_dir)


@pytest.fixture
def pg_db(postgres_only: str, _template_dir: Path) -> Iterator[tuple[str, World]]:
    yield from _db("postgresql", _template_dir)


@pytest.fixture
def settings_for(tmp_path: Path):  # type: ignore[no-untyped-def]
    def make(url: str):  # type: ignore[no-untyped-def]
        return make_settings(url, tmp_path)

    return make


def _serving(db: tuple[str, World], tmp_path: Path):  # type: ignore[no-untyped-def]
    from tests.support.client import Api

    url, world = db
    client = Api.start(url, world, tmp_path)
    yield client
    client.close()


@pytest.fixture
def pg_api(pg_db: tuple[str, World], tmp_path: Path):  # type: ignore[no-untyped-def]
    """The API on PostgreSQL only (what cannot happen on SQLite: several servers, say)."""
    yield from _serving(pg_db, tmp_path)


@pytest.fixture
def api(db: tuple[str, World], tmp_path: Path):  # type: ignore[no-untyped-def]
    yield from _serving(db, tmp_path)
