"""lot storage extension: the current 延期贮存批准 on rm_lot

`lot.storage_extended` records an approval to store a lot beyond the one-year limit (固废法
Art. 81 ¶3); the lot's read model keeps the current one (until when, approval number) so the
storage rules and lists read it with the lot. No lot has one yet: both columns start empty.

Revision ID: a7e1c0de5b01
Revises: 5d0c7e21a9f4
Create Date: 2026-11-21 23:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a7e1c0de5b01"
down_revision: str | None = "5d0c7e21a9f4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("rm_lot", schema=None) as batch_op:
        batch_op.add_column(sa.Column("storage_extended_until", sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column("storage_extension_approval_no", sa.String(length=64), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("rm_lot", schema=None) as batch_op:
        batch_op.drop_column("storage_extension_approval_no")
        batch_op.drop_column("storage_extended_until")
