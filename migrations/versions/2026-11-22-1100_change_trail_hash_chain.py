"""change trail: hash-chained (party_change.prev_hash, party_change.hash)

`party_change`, the trail of who changed the master data, was append-only by trigger only: a
database owner who dropped the triggers could rewrite it undetected. Each row now carries the
hash of the row before it (`prev_hash`, all zeros for the first) and its own `hash` over its
content and that link (scheme `hazchain-change-trail-v1`, `app.audit.changes.change_hash`),
and every verification recomputes the chain. Existing rows are chained here in `id` order:
the triggers are dropped for the backfill and created again, as revision e8b2c6d1f0a3 made
them.

Revision ID: a9d4c2e7f615
Revises: f3c5a7e9b214
Create Date: 2026-11-22 11:00:00
"""

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

import app.core.db

revision: str = "a9d4c2e7f615"
down_revision: str | None = "f3c5a7e9b214"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 2000
GENESIS = "0" * 64


def _hash(prev: str, row: Any) -> str:
    """Scheme hazchain-change-trail-v1, as `app.audit.changes.change_hash` (kept here as it
    was when these rows were chained)."""
    at: datetime = row.at
    text = "\n".join(
        [
            "hazchain-change-trail-v1",
            prev,
            row.entity,
            str(row.entity_id),
            row.action,
            str(row.actor_id) if row.actor_id is not None else "",
            at.astimezone(UTC).isoformat(timespec="microseconds"),
            json.dumps(row.data, sort_keys=True, separators=(",", ":"), ensure_ascii=False),
        ]
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _triggers(create: bool) -> None:
    if op.get_bind().dialect.name == "postgresql":
        if create:
            op.execute(
                "CREATE TRIGGER party_change_append_only BEFORE UPDATE OR DELETE ON "
                "party_change FOR EACH ROW EXECUTE FUNCTION hazchain_refuse_change()"
            )
            op.execute(
                "CREATE TRIGGER party_change_no_truncate BEFORE TRUNCATE ON party_change "
                "FOR EACH STATEMENT EXECUTE FUNCTION hazchain_refuse_change()"
            )
        else:
            op.execute("DROP TRIGGER IF EXISTS party_change_append_only ON party_change")
            op.execute("DROP TRIGGER IF EXISTS party_change_no_truncate ON party_change")
        return
    for action in ("UPDATE", "DELETE"):
        if create:
            op.execute(
                f"CREATE TRIGGER party_change_no_{action.lower()} BEFORE {action} ON "
                f"party_change BEGIN SELECT RAISE(ABORT, 'party_change is append-only: "
                f"{action} refused'); END"
            )
        else:
            op.execute(f"DROP TRIGGER IF EXISTS party_change_no_{action.lower()}")


def upgrade() -> None:
    with op.batch_alter_table("party_change", schema=None) as batch_op:
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("hash", sa.String(length=64), nullable=True))
    _triggers(create=False)
    t = sa.table(
        "party_change",
        sa.column("id", sa.BigInteger()),
        sa.column("entity", sa.String()),
        sa.column("entity_id", sa.Uuid()),
        sa.column("action", sa.String()),
        sa.column("actor_id", sa.Uuid()),
        sa.column("at", app.core.db.UTCDateTime()),
        sa.column("data", sa.JSON()),
        sa.column("prev_hash", sa.String()),
        sa.column("hash", sa.String()),
    )
    bind = op.get_bind()
    update = (
        sa.update(t)
        .where(t.c.id == sa.bindparam("b_id"))
        .values(prev_hash=sa.bindparam("b_prev"), hash=sa.bindparam("b_hash"))
    )
    prev, last_id, batch = GENESIS, None, []
    while True:  # keyset pages: the updates run beside no open cursor
        q = sa.select(t).order_by(t.c.id).limit(BATCH)
        rows = bind.execute(q if last_id is None else q.where(t.c.id > last_id)).all()
        if not rows:
            break
        for row in rows:
            h = _hash(prev, row)
            batch.append({"b_id": row.id, "b_prev": prev, "b_hash": h})
            prev = h
        bind.execute(update, batch)
        last_id, batch = rows[-1].id, []
    with op.batch_alter_table("party_change", schema=None) as batch_op:
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("hash", existing_type=sa.String(length=64), nullable=False)
    _triggers(create=True)


def downgrade() -> None:
    _triggers(create=False)
    with op.batch_alter_table("party_change", schema=None) as batch_op:
        batch_op.drop_column("hash")
        batch_op.drop_column("prev_hash")
    _triggers(create=True)
