"""handler facility coordinates

The receiver's facility location (WGS-84) on its 经营许可证, for the arrival geofence of R49
(the trip's GPS track ends at the receiver's address). Nullable: existing licences have none,
and R49 then says the geofence could not be checked.

Revision ID: 2ad11913f416
Revises: a0162018bfec
Create Date: 2026-11-21 15:49:36.604922
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "2ad11913f416"
down_revision: str | None = "a0162018bfec"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("handler_licence", schema=None) as batch_op:
        batch_op.add_column(sa.Column("facility_lat", sa.Numeric(precision=9, scale=6)))
        batch_op.add_column(sa.Column("facility_lon", sa.Numeric(precision=10, scale=6)))


def downgrade() -> None:
    with op.batch_alter_table("handler_licence", schema=None) as batch_op:
        batch_op.drop_column("facility_lon")
        batch_op.drop_column("facility_lat")
