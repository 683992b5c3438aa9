"""declaration filings

`rm_declaration_filing`: the latest filing of each site's periodic declaration (HJ 1259 §7),
projected from `declaration.filed` events; R60 alerts on the periods not filed. A new table
with no backfill: no such events exist before this revision.

Revision ID: 8134ad37fd84
Revises: 2ad11913f416
Create Date: 2026-11-21 16:05:41.468980
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.db

revision: str = "8134ad37fd84"
down_revision: str | None = "2ad11913f416"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rm_declaration_filing",
        sa.Column("site_id", sa.Uuid(), nullable=False),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("filed_on", sa.Date(), nullable=False),
        sa.Column("receipt_no", sa.String(length=64), nullable=False),
        sa.Column("management_class", sa.String(length=16), nullable=False),
        sa.Column("filings", sa.Integer(), nullable=False),
        sa.Column("filed_by", sa.Uuid(), nullable=True),
        sa.Column("recorded_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("site_id", "period", name=op.f("pk_rm_declaration_filing")),
    )


def downgrade() -> None:
    op.drop_table("rm_declaration_filing")
