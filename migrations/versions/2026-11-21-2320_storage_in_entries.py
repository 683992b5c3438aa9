"""storage-in entries: rm_storage_in, one row per entry of a lot into storage

The HJ 1259 入库 ledger used to read one storage-in per lot from `rm_lot.stored_at`. A lot
rejected by its handler and returned has that reset and set again when it is stored anew: its
first storage-in dropped out of the ledger, and its first storage-out pointed at the second.
`rm_storage_in` keeps every entry (a `lot.stored` of a lot not in storage before): when, into
which zone, at what weight, numbered per lot. Filled here by replaying each lot's
`lot.generated` / `lot.weighed` / `lot.repacked` (its weight), `lot.stored` and
`lot.returned` events in their order, as the projector does (a lot at a time: bounded memory).

Revision ID: d4e0f3a51b28
Revises: c3d9e2f40a17
Create Date: 2026-11-21 23:20:00
"""

import json
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from alembic import op

import app.core.db

revision: str = "d4e0f3a51b28"
down_revision: str | None = "c3d9e2f40a17"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TYPES = ("lot.generated", "lot.weighed", "lot.repacked", "lot.stored", "lot.returned")
BATCH = 5000


def _entries(bind: sa.Connection) -> Iterator[dict[str, Any]]:
    """The storage entries of every lot, replayed from the log."""
    e = sa.table(
        "stored_event",
        sa.column("site_id", sa.Uuid()),
        sa.column("stream_type", sa.String()),
        sa.column("stream_id", sa.Uuid()),
        sa.column("version", sa.Integer()),
        sa.column("type", sa.String()),
        sa.column("occurred_at", app.core.db.UTCDateTime()),
        sa.column("payload", sa.Text()),
    )
    rows = bind.execute(
        sa.select(
            e.c.site_id,
            e.c.stream_id,
            e.c.type,
            e.c.occurred_at,
            sa.cast(e.c.payload, sa.Text()).label("payload"),
        )
        .where(e.c.stream_type == "lot", e.c.type.in_(TYPES))
        .order_by(e.c.stream_id, e.c.version)  # each lot's events in log order
        .execution_options(yield_per=BATCH)
    )
    lot: UUID | None = None
    weight, in_storage, seq = Decimal(0), False, 0
    for site_id, stream_id, type_, occurred_at, payload in rows:
        if stream_id != lot:
            lot, weight, in_storage, seq = stream_id, Decimal(0), False, 0
        data = json.loads(payload)
        if type_ in ("lot.generated", "lot.weighed") or (
            type_ == "lot.repacked" and data.get("weight_kg") is not None
        ):
            weight = Decimal(str(data["weight_kg"]))
        elif type_ == "lot.returned":
            in_storage = False
        elif type_ == "lot.stored" and not in_storage:
            in_storage, seq = True, seq + 1
            yield {
                "lot_id": stream_id,
                "seq": seq,
                "site_id": site_id,
                "entered_at": occurred_at,
                "zone_id": UUID(str(data["zone_id"])),
                "weight_kg": weight,
            }


def upgrade() -> None:
    op.create_table(
        "rm_storage_in",
        sa.Column("lot_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("site_id", sa.Uuid(), nullable=False),
        sa.Column("entered_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("zone_id", sa.Uuid(), nullable=False),
        sa.Column("weight_kg", sa.Numeric(precision=14, scale=3), nullable=False),
        sa.PrimaryKeyConstraint("lot_id", "seq", name=op.f("pk_rm_storage_in")),
    )
    with op.batch_alter_table("rm_storage_in", schema=None) as batch_op:
        batch_op.create_index(
            "ix_rm_storage_in_site_entered", ["site_id", "entered_at"], unique=False
        )
    bind = op.get_bind()
    target = sa.table(
        "rm_storage_in",
        sa.column("lot_id", sa.Uuid()),
        sa.column("seq", sa.Integer()),
        sa.column("site_id", sa.Uuid()),
        sa.column("entered_at", app.core.db.UTCDateTime()),
        sa.column("zone_id", sa.Uuid()),
        sa.column("weight_kg", sa.Numeric(14, 3)),
    )
    batch: list[dict[str, Any]] = []
    for entry in _entries(bind):
        batch.append(entry)
        if len(batch) >= BATCH:
            bind.execute(sa.insert(target), batch)
            batch = []
    if batch:
        bind.execute(sa.insert(target), batch)


def downgrade() -> None:
    with op.batch_alter_table("rm_storage_in", schema=None) as batch_op:
        batch_op.drop_index("ix_rm_storage_in_site_entered")

    op.drop_table("rm_storage_in")
