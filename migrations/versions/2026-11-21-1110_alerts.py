"""alerts: the rm_alert read model (alert.raised / alert.cleared)

Revision ID: 5c1e2a9b7d40
Revises: f23615349e10
Create Date: 2026-11-21 11:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.db

revision: str = "5c1e2a9b7d40"
down_revision: str | None = "f23615349e10"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rm_alert",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("site_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("rule_id", sa.String(length=8), nullable=False),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("subject_type", sa.String(length=8), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("zone_id", sa.Uuid(), nullable=True),
        sa.Column("lot_ids", app.core.db.CanonicalJSON(), nullable=False),
        sa.Column("message_zh", sa.Text(), nullable=False),
        sa.Column("message_en", sa.Text(), nullable=False),
        sa.Column("citation", app.core.db.CanonicalJSON(), nullable=False),
        sa.Column("values", app.core.db.CanonicalJSON(), nullable=False),
        sa.Column("raised_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("cleared_at", app.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rm_alert")),
    )
    with op.batch_alter_table("rm_alert", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rm_alert_key"), ["key"], unique=False)
        batch_op.create_index("ix_rm_alert_site_open", ["site_id", "cleared_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("rm_alert", schema=None) as batch_op:
        batch_op.drop_index("ix_rm_alert_site_open")
        batch_op.drop_index(batch_op.f("ix_rm_alert_key"))
    op.drop_table("rm_alert")
