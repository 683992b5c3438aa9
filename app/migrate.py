"""Run Alembic migrations programmatically (CLI, tests, `make migrate`), and the check that
refuses to serve a database whose schema is not the one the code was written for."""

from __future__ import annotations

from functools import cache

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from app.config import PROJECT_ROOT, ConfigurationError


def alembic_config(url: str) -> Config:
    cfg = Config(toml_file=str(PROJECT_ROOT / "pyproject.toml"))
    cfg.attributes["url"] = url
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)


@cache
def code_head() -> str | None:
    """The migration this code's models are at (the head of `migrations/versions`)."""
    return ScriptDirectory.from_config(alembic_config("")).get_current_head()


def schema_revision(engine: sa.Engine) -> str | None:
    """The migration the database was last brought to (None: never migrated)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def require_schema_at_head(engine: sa.Engine) -> None:
    """Refuse a database at another migration than the code's: new code on an unmigrated
    database would fail on the first query that reads a new column, page by page."""
    at, head = schema_revision(engine), code_head()
    if at != head:
        raise ConfigurationError(
            f"the database is at migration {at or 'none (empty)'} but this code needs {head}: "
            "run `hazchain migrate` (`make migrate`) first"
        )
