"""ledger facilities as they were: rm_storage_in.facility_id, rm_manifest_lot.facility_id

The HJ 1259 入库 and 出库 rows named the facility a lot's zone is in *now*: moving a zone to
another facility (`zone.configured` with a new `facility_id`) rewrote the facility of every
past entry and dispatch. The projectors now record the zone's facility on each entry into
storage and on each manifest lot when it is dispatched (none before). Filled here as the
projectors would have filled them, in log order: each zone's facility history (its
`zone.registered` and `zone.configured` events, by log position) read at the position of the
entry's `lot.stored` or the manifest's `manifest.dispatched`. Zones that never changed
facility take their current one in a single statement.

Revision ID: f3c5a7e9b214
Revises: e8b2c6d1f0a3
Create Date: 2026-11-22 10:00:00
"""

import json
from bisect import bisect_right
from collections.abc import Sequence
from uuid import UUID

import sqlalchemy as sa
from alembic import op

import app.core.db

revision: str = "f3c5a7e9b214"
down_revision: str | None = "e8b2c6d1f0a3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EVENTS = sa.table(
    "stored_event",
    sa.column("stream_type", sa.String()),
    sa.column("stream_id", sa.Uuid()),
    sa.column("position", sa.BigInteger()),
    sa.column("type", sa.String()),
    sa.column("occurred_at", app.core.db.UTCDateTime()),
    sa.column("payload", sa.Text()),
)
ZONE = sa.table("rm_zone", sa.column("zone_id", sa.Uuid()), sa.column("facility_id", sa.Uuid()))
ENTRY = sa.table(
    "rm_storage_in",
    sa.column("lot_id", sa.Uuid()),
    sa.column("seq", sa.Integer()),
    sa.column("zone_id", sa.Uuid()),
    sa.column("entered_at", app.core.db.UTCDateTime()),
    sa.column("facility_id", sa.Uuid()),
)
SHIPPED = sa.table(
    "rm_manifest_lot",
    sa.column("manifest_id", sa.Uuid()),
    sa.column("lot_id", sa.Uuid()),
    sa.column("zone_id", sa.Uuid()),
    sa.column("dispatched_at", app.core.db.UTCDateTime()),
    sa.column("facility_id", sa.Uuid()),
)
Spans = tuple[list[int], list[UUID | None]]  # log positions, and the facility from each on


def _moves(bind: sa.Connection) -> dict[UUID, Spans]:
    """Per zone that changed facility, its facility (or none) from each log position on."""
    e = EVENTS
    rows = bind.execute(
        sa.select(e.c.stream_id, e.c.type, e.c.position, sa.cast(e.c.payload, sa.Text()))
        .where(e.c.stream_type == "zone", e.c.type.in_(("zone.registered", "zone.configured")))
        .order_by(e.c.stream_id, e.c.position)
    )
    history: dict[UUID, Spans] = {}
    for zone_id, type_, position, payload in rows:
        raw = json.loads(payload).get("facility_id")
        facility = UUID(str(raw)) if raw is not None else None
        at, fac = history.setdefault(zone_id, ([], []))
        # registered with a facility or none (v1 zones had none); configured without one
        # leaves it unchanged
        if type_ == "zone.registered" or (facility is not None and fac and fac[-1] != facility):
            at.append(position)
            fac.append(facility)
    return {z: spans for z, spans in history.items() if len(spans[0]) > 1}


def _at(spans: Spans, position: int) -> UUID | None:
    at, fac = spans
    return fac[max(bisect_right(at, position) - 1, 0)]


def upgrade() -> None:
    for table in ("rm_storage_in", "rm_manifest_lot"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("facility_id", sa.Uuid(), nullable=True))
    bind = op.get_bind()
    e = EVENTS
    moves = _moves(bind)

    # entries into storage: the facility of the zone at the entry's `lot.stored`
    current = sa.select(ZONE.c.facility_id).where(ZONE.c.zone_id == ENTRY.c.zone_id)
    bind.execute(sa.update(ENTRY).values(facility_id=current.scalar_subquery()))
    entered = (
        sa.select(ENTRY.c.lot_id, ENTRY.c.seq, ENTRY.c.zone_id, sa.func.min(e.c.position))
        .join(
            e,
            sa.and_(
                e.c.stream_id == ENTRY.c.lot_id,
                e.c.type == "lot.stored",
                e.c.occurred_at == ENTRY.c.entered_at,
            ),
        )
        .where(ENTRY.c.zone_id.in_(list(moves)))
        .group_by(ENTRY.c.lot_id, ENTRY.c.seq, ENTRY.c.zone_id)
    )
    rows = [
        {"b_lot": lot, "b_seq": seq, "b_fac": _at(moves[zone], pos)}
        for lot, seq, zone, pos in bind.execute(entered)
    ]
    if rows:
        bind.execute(
            sa.update(ENTRY)
            .where(ENTRY.c.lot_id == sa.bindparam("b_lot"), ENTRY.c.seq == sa.bindparam("b_seq"))
            .values(facility_id=sa.bindparam("b_fac")),
            rows,
        )

    # manifest lots: once dispatched, the facility of the zone at `manifest.dispatched`
    current = sa.select(ZONE.c.facility_id).where(ZONE.c.zone_id == SHIPPED.c.zone_id)
    bind.execute(
        sa.update(SHIPPED)
        .where(SHIPPED.c.dispatched_at.is_not(None))
        .values(facility_id=current.scalar_subquery())
    )
    dispatched = (
        sa.select(
            SHIPPED.c.manifest_id, SHIPPED.c.lot_id, SHIPPED.c.zone_id, sa.func.min(e.c.position)
        )
        .join(e, sa.and_(e.c.stream_id == SHIPPED.c.manifest_id, e.c.type == "manifest.dispatched"))
        .where(SHIPPED.c.zone_id.in_(list(moves)), SHIPPED.c.dispatched_at.is_not(None))
        .group_by(SHIPPED.c.manifest_id, SHIPPED.c.lot_id, SHIPPED.c.zone_id)
    )
    rows = [
        {"b_manifest": manifest, "b_lot": lot, "b_fac": _at(moves[zone], pos)}
        for manifest, lot, zone, pos in bind.execute(dispatched)
    ]
    if rows:
        bind.execute(
            sa.update(SHIPPED)
            .where(
                SHIPPED.c.manifest_id == sa.bindparam("b_manifest"),
                SHIPPED.c.lot_id == sa.bindparam("b_lot"),
            )
            .values(facility_id=sa.bindparam("b_fac")),
            rows,
        )


def downgrade() -> None:
    for table in ("rm_storage_in", "rm_manifest_lot"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("facility_id")
