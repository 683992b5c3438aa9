"""rm_waste_month.exempt_kg: the weight of the lots still exempt, beside their count

Lots exempt under 豁免管理清单 #24 (R61: rags and PPE collected unsorted with household waste)
are not managed as hazardous waste, so the declaration leaves them out; the scorecard's
hazardous-waste figures (generation intensity, the HJ 1259 class, HG/T 5902 kg per tonne of
product) now do too, and need their weight per generation month. Filled here as the projector
would have: the current weight of each lot `rm_lot.exempt` marks, per generation month (China
time) and waste key.

Revision ID: c4f8a2d6e913
Revises: b7e1d9f4c382
Create Date: 2026-11-22 13:00:00
"""

from collections import defaultdict
from collections.abc import Sequence
from datetime import timedelta, timezone
from decimal import Decimal

import sqlalchemy as sa
from alembic import op

import app.core.db

revision: str = "c4f8a2d6e913"
down_revision: str | None = "b7e1d9f4c382"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LOT = sa.table(
    "rm_lot",
    sa.column("exempt", sa.Boolean()),
    sa.column("site_id", sa.Uuid()),
    sa.column("generated_at", app.core.db.UTCDateTime()),
    sa.column("kind", sa.String()),
    sa.column("category", sa.String()),
    sa.column("waste_code", sa.String()),
    sa.column("weight_kg", sa.Numeric(14, 3)),
)
MONTH = sa.table(
    "rm_waste_month",
    sa.column("site_id", sa.Uuid()),
    sa.column("month", sa.String()),
    sa.column("kind", sa.String()),
    sa.column("category", sa.String()),
    sa.column("waste_code", sa.String()),
    sa.column("method_code", sa.String()),
    sa.column("exempt_kg", sa.Numeric(16, 3)),
)
CHINA = timezone(timedelta(hours=8))


def upgrade() -> None:
    with op.batch_alter_table("rm_waste_month", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("exempt_kg", sa.Numeric(16, 3), nullable=False, server_default="0")
        )
    bind = op.get_bind()
    weights: dict[tuple[object, ...], Decimal] = defaultdict(Decimal)
    for site, at, kind, category, code, kg in bind.execute(
        sa.select(
            LOT.c.site_id,
            LOT.c.generated_at,
            LOT.c.kind,
            LOT.c.category,
            LOT.c.waste_code,
            LOT.c.weight_kg,
        ).where(LOT.c.exempt.is_(True))
    ):
        weights[site, at.astimezone(CHINA).strftime("%Y-%m"), kind, category, code or ""] += kg
    if not weights:
        return
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
        .values(exempt_kg=sa.bindparam("b_kg")),
        [
            {"b_site": s, "b_month": mo, "b_kind": k, "b_category": c, "b_code": w, "b_kg": kg}
            for (s, mo, k, c, w), kg in weights.items()
        ],
    )


def downgrade() -> None:
    with op.batch_alter_table("rm_waste_month", schema=None) as batch_op:
        batch_op.drop_column("exempt_kg")
