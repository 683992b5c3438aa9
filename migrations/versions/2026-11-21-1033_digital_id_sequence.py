"""digital id sequence

The `digital_id_sequence` counter behind HJ 1276 digital IDs: the last sequence number issued
per (unit code, waste code or SW category, China-time generation date). Bumped atomically with
`INSERT ... ON CONFLICT DO UPDATE ... RETURNING` in the generating transaction.

Revision ID: a0dfa8f4f006
Revises: c1866cb5bcba
Create Date: 2026-11-21 10:33:06.346462
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a0dfa8f4f006"
down_revision: str | None = "c1866cb5bcba"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "digital_id_sequence",
        sa.Column("unit_code", sa.String(length=18), nullable=False),
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("unit_code", "code", "day", name=op.f("pk_digital_id_sequence")),
    )


def downgrade() -> None:
    op.drop_table("digital_id_sequence")
