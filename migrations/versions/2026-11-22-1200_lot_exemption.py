"""the 豁免管理清单 #24 exemption on the lot read model: rm_lot.exempt

A 900-041-49 lot generated with `collected_unsorted` (rags and PPE collected unsorted with
household waste) is not managed as hazardous waste (R61) until it is stored in a zone, which
segregates it: no storage limit, unlabelled alert, ledger or declaration line, and it may
leave with the household waste (`lot.discarded`). Filled here as the projector would have
filled it: such a lot with no `lot.stored` in its stream.

Revision ID: b7e1d9f4c382
Revises: a9d4c2e7f615
Create Date: 2026-11-22 12:00:00
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b7e1d9f4c382"
down_revision: str | None = "a9d4c2e7f615"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EVENTS = sa.table(
    "stored_event",
    sa.column("stream_id", sa.Uuid()),
    sa.column("type", sa.String()),
    sa.column("payload", sa.Text()),
)
LOT = sa.table("rm_lot", sa.column("lot_id", sa.Uuid()), sa.column("exempt", sa.Boolean()))
CODE = "900-041-49"


def upgrade() -> None:
    with op.batch_alter_table("rm_lot", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("exempt", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    bind = op.get_bind()
    e = EVENTS
    text = sa.cast(e.c.payload, sa.Text())
    candidates = [
        lot_id
        for lot_id, payload in bind.execute(
            sa.select(e.c.stream_id, text).where(
                e.c.type == "lot.generated", text.like(f'%"{CODE}"%')
            )
        )
        if (p := json.loads(payload)).get("collected_unsorted") and p.get("waste_code") == CODE
    ]
    if not candidates:
        return
    stored = set(
        bind.execute(
            sa.select(e.c.stream_id)
            .where(e.c.type == "lot.stored", e.c.stream_id.in_(candidates))
            .distinct()
        ).scalars()
    )
    exempt = [lot_id for lot_id in candidates if lot_id not in stored]
    if exempt:
        bind.execute(sa.update(LOT).where(LOT.c.lot_id.in_(exempt)).values(exempt=True))


def downgrade() -> None:
    with op.batch_alter_table("rm_lot", schema=None) as batch_op:
        batch_op.drop_column("exempt")
