"""the 豁免管理清单 #24 exemption on the read models: rm_lot.exempt, rm_waste_month.exempt_count

A 900-041-49 lot generated with `collected_unsorted` (rags and PPE collected unsorted with
household waste) is not managed as hazardous waste (R61) until it is stored in a zone, which
segregates it: no storage limit, unlabelled alert, ledger or declaration line, and it may
leave with the household waste (`lot.discarded`). Filled here as the projector would have
filled it: such a lot with no `lot.stored` in its stream. The scorecard's e-label coverage
leaves them out (they need no label): `rm_waste_month.exempt_count` counts, per generation
month (China time) and waste key, the lots generated that are still exempt.

Revision ID: b7e1d9f4c382
Revises: a9d4c2e7f615
Create Date: 2026-11-22 12:00:00
"""

import json
from collections import Counter
from collections.abc import Sequence
from datetime import timedelta, timezone

import sqlalchemy as sa
from alembic import op

import app.core.db

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
LOT = sa.table(
    "rm_lot",
    sa.column("lot_id", sa.Uuid()),
    sa.column("exempt", sa.Boolean()),
    sa.column("site_id", sa.Uuid()),
    sa.column("generated_at", app.core.db.UTCDateTime()),
    sa.column("kind", sa.String()),
    sa.column("category", sa.String()),
    sa.column("waste_code", sa.String()),
)
MONTH = sa.table(
    "rm_waste_month",
    sa.column("site_id", sa.Uuid()),
    sa.column("month", sa.String()),
    sa.column("kind", sa.String()),
    sa.column("category", sa.String()),
    sa.column("waste_code", sa.String()),
    sa.column("method_code", sa.String()),
    sa.column("exempt_count", sa.Integer()),
)
CODE = "900-041-49"
CHINA = timezone(timedelta(hours=8))


def upgrade() -> None:
    with op.batch_alter_table("rm_lot", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("exempt", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("rm_waste_month", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("exempt_count", sa.Integer(), nullable=False, server_default="0")
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
    if not exempt:
        return
    bind.execute(sa.update(LOT).where(LOT.c.lot_id.in_(exempt)).values(exempt=True))
    counts = Counter(
        (site, at.astimezone(CHINA).strftime("%Y-%m"), kind, category, code or "")
        for site, at, kind, category, code in bind.execute(
            sa.select(
                LOT.c.site_id, LOT.c.generated_at, LOT.c.kind, LOT.c.category, LOT.c.waste_code
            ).where(LOT.c.exempt.is_(True))
        )
    )
    m = MONTH.c
    bind.execute(
        sa.update(MONTH)
        .where(
            m.site_id == sa.bindparam("b_site"),
            m.month == sa.bindparam("b_month"),
            m.kind == sa.bindparam("b_kind"),
            m.category == sa.bindparam("b_category"),
            m.waste_code == sa.bindparam("b_code"),
            m.method_code == "",
        )
        .values(exempt_count=sa.bindparam("b_n")),
        [
            {"b_site": s, "b_month": mo, "b_kind": k, "b_category": c, "b_code": w, "b_n": n}
            for (s, mo, k, c, w), n in counts.items()
        ],
    )


def downgrade() -> None:
    with op.batch_alter_table("rm_waste_month", schema=None) as batch_op:
        batch_op.drop_column("exempt_count")
    with op.batch_alter_table("rm_lot", schema=None) as batch_op:
        batch_op.drop_column("exempt")
