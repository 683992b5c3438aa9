"""verification run events: 64-bit

`verification_run.events` counts every event of the database, which may pass 2**31 on
PostgreSQL (stored_event.position is 64-bit). SQLite's INTEGER is 64-bit already: nothing to do
there.

Revision ID: 5d0c7e21a9f4
Revises: 1bcee334a3be
Create Date: 2026-11-21 21:07:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5d0c7e21a9f4"
down_revision: str | None = "1bcee334a3be"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column(
            "verification_run",
            "events",
            type_=sa.BigInteger(),
            existing_type=sa.Integer(),
            existing_nullable=False,
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column(
            "verification_run",
            "events",
            type_=sa.Integer(),
            existing_type=sa.BigInteger(),
            existing_nullable=False,
        )
