"""device

Enrolled handhelds (`/mobile/v1`): one row per device, for one site. A device token is refused
once `revoked_at` is set (the row is read on every request); revoked rows stay, because events
name their device.

Revision ID: ba70b7657a5a
Revises: 5c1e2a9b7d40
Create Date: 2026-11-21 11:01:24.392419
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.db

revision: str = "ba70b7657a5a"
down_revision: str | None = "5c1e2a9b7d40"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "device",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("site_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("enrolled_by", sa.Uuid(), nullable=False),
        sa.Column("enrolled_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", app.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["enrolled_by"], ["app_user.id"], name=op.f("fk_device_enrolled_by_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["revoked_by"], ["app_user.id"], name=op.f("fk_device_revoked_by_app_user")
        ),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], name=op.f("fk_device_site_id_site")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device")),
    )
    op.create_index(op.f("ix_device_site_id"), "device", ["site_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_device_site_id"), table_name="device")
    op.drop_table("device")
