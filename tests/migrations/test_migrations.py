"""Migrations: upgrade head on an empty database, no drift between models and migrations,
and a clean downgrade."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app.core.db import make_engine
from app.migrate import downgrade, upgrade
from app.tables import metadata
from tests.conftest import _pg_admin_engine, _pg_url_for


@pytest.fixture
def empty_url(backend: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    from uuid import uuid4

    name = f"hazchain_mig_{uuid4().hex[:10]}"
    eng = _pg_admin_engine()
    with eng.connect() as c:
        c.exec_driver_sql(f'CREATE DATABASE "{name}"')
    yield _pg_url_for(name)
    with eng.connect() as c:
        c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    eng.dispose()


def test_upgrade_head_on_empty_database_has_no_drift(empty_url: str) -> None:
    upgrade(empty_url)
    eng = make_engine(empty_url)
    with eng.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), metadata
        )
        tables = set(sa.inspect(conn).get_table_names())
    eng.dispose()
    assert diff == [], f"models and migrations differ: {diff}"
    assert {
        "stored_event",
        "chain_head",
        "chain_checkpoint",
        "rm_lot",
        "rm_zone_inventory",
        "app_user",
        "site",
        "enterprise",
    } <= tables


def test_downgrade_to_base_and_up_again(empty_url: str) -> None:
    upgrade(empty_url)
    downgrade(empty_url, "base")
    eng = make_engine(empty_url)
    with eng.connect() as conn:
        assert "stored_event" not in sa.inspect(conn).get_table_names()
    eng.dispose()
    upgrade(empty_url)
