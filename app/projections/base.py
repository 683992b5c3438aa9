"""Inline projections: updated in the same transaction as the append, rebuildable by replay.

`project()` is the one entry point for the inline path and for `rebuild()`, so both run the
same code; `projection_checkpoint` records, per site, the chain position each projection has
applied, written in the same transaction as the projected rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel

from app.eventstore.models import EventRecord
from app.eventstore.store import read_batch

Projector = Callable[[Session, EventRecord], None]


class ProjectionCheckpoint(SQLModel, table=True):
    __tablename__ = "projection_checkpoint"

    name: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    site_id: UUID = Field(sa_column=sa.Column(sa.Uuid(), primary_key=True))
    chain_position: int = Field(sa_column=sa.Column(sa.BigInteger(), nullable=False))


_PROJECTORS: dict[str, list[Projector]] = {}
_TABLES: list[sa.Table] = []

INLINE = "inline"
_DEFERRED = "hazchain_deferred_projection_flush"


def projector(stream_type: str) -> Callable[[Projector], Projector]:
    def deco(fn: Projector) -> Projector:
        _PROJECTORS.setdefault(stream_type, []).append(fn)
        return fn

    return deco


def register_tables(*tables: sa.Table) -> None:
    """Tables owned by projections, emptied (in reverse order) before a rebuild."""
    _TABLES.extend(tables)


def project(session: Session, rows: Iterable[EventRecord]) -> None:
    last: dict[UUID, int] = {}
    for row in rows:
        for fn in _PROJECTORS.get(row.stream_type, ()):
            fn(session, row)
        last[row.site_id] = max(last.get(row.site_id, 0), row.chain_position)
    if not session.info.get(_DEFERRED):
        session.flush()
    for site_id, position in last.items():
        # get + set rather than merge(), which would flush first (see `deferred_flush`)
        checkpoint = session.get(ProjectionCheckpoint, (INLINE, site_id))
        if checkpoint is None:
            session.add(ProjectionCheckpoint(name=INLINE, site_id=site_id, chain_position=position))
        else:
            checkpoint.chain_position = position


@contextmanager
def deferred_flush(session: Session) -> Iterator[None]:
    """Within: `project()` leaves the projected rows in the identity map instead of flushing
    them per event, so a batch writes each changed row once, when the caller flushes (inside
    the same transaction). ORM queries flush first (autoflush), so they see every change."""
    autoflush = session.autoflush
    session.info[_DEFERRED] = True
    session.autoflush = True
    try:
        yield
    finally:
        session.info.pop(_DEFERRED, None)
        session.autoflush = autoflush


def upsert(
    session: Session, model: type[SQLModel], key: dict[str, Any], row: Any, values: dict[str, Any]
) -> None:
    """Create the read-model row (flushed, so the next event of a batch finds it with
    `session.get`) or update it in place."""
    if row is None:
        session.add(model(**key, **values))
        session.flush()
    else:
        for k, v in values.items():
            if getattr(row, k) != v:  # most steps change a few columns: set only those
                setattr(row, k, v)


def reset(session: Session) -> None:
    for table in reversed(_TABLES):
        session.execute(table.delete())
    session.execute(sa.delete(ProjectionCheckpoint))
    session.flush()


def tables() -> list[sa.Table]:
    return list(_TABLES)


def rebuild(
    session: Session, batch: int = 5000, progress: Callable[[int], None] | None = None
) -> int:
    """Empty every projection and replay the whole log through `project()`, in log order."""
    reset(session)
    last, count = 0, 0
    while True:
        rows = read_batch(session.connection(), last, batch)
        if not rows:
            return count
        project(session, rows)
        session.flush()
        session.expunge_all()
        last = rows[-1].position
        count += len(rows)
        if progress:
            progress(len(rows))
