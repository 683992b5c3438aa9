"""site.own_disposal_facility: the site runs its own utilisation or disposal facility

HJ 1259-2022 §4.2.1 makes a unit with its own utilisation or disposal facility (a pharmaceutical
plant's own incinerator, say) a key-supervision unit whatever its tonnage, as it does a holder
of an operating licence (`site.licensed_operator`). The declarations' class read only the
tonnage and the licence, so such a plant was told to declare quarterly or yearly instead of
monthly. Recorded on the site, beside the licence flag, and read by the declarations and (where
the year's inputs say nothing else) the scorecard. Existing sites start without one.

Revision ID: f1d4b8e2a637
Revises: e6a3c9f1b257
Create Date: 2026-11-22 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f1d4b8e2a637"
down_revision: str | None = "e6a3c9f1b257"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("site", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "own_disposal_facility", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("site", schema=None) as batch_op:
        batch_op.drop_column("own_disposal_facility")
