"""change_trail_checkpoint: signed heads of the master data's change trail

The trail (`party_change`) is hash-chained; a database owner who drops its triggers could
still rewrite it whole, hashes included. Its head is now signed, like each site's chain, with
a key derived from SITE_SIGNING_SEED (which the database does not hold): by `hazchain
checkpoint` and on the server's schedule when the trail moved since a checkpoint older than
`LEDGER__CHECKPOINT_HOURS`. Append-only by trigger like `chain_checkpoint`. Existing trails get
their first checkpoint at the next signing.

Revision ID: e6a3c9f1b257
Revises: d2b7e5a9c140
Create Date: 2026-11-22 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.db

revision: str = "e6a3c9f1b257"
down_revision: str | None = "d2b7e5a9c140"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "change_trail_checkpoint"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("jws", sa.Text(), nullable=False),
        sa.Column("created_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_trail_checkpoint")),
        sa.UniqueConstraint("rows", name=op.f("uq_change_trail_checkpoint_rows")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE TRIGGER {TABLE}_append_only BEFORE UPDATE OR DELETE ON {TABLE} "
            "FOR EACH ROW EXECUTE FUNCTION hazchain_refuse_change()"
        )
        op.execute(
            f"CREATE TRIGGER {TABLE}_no_truncate BEFORE TRUNCATE ON {TABLE} "
            "FOR EACH STATEMENT EXECUTE FUNCTION hazchain_refuse_change()"
        )
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {TABLE}_no_{action.lower()} BEFORE {action} ON {TABLE} "
                f"BEGIN SELECT RAISE(ABORT, '{TABLE} is append-only: {action} refused'); END"
            )


def downgrade() -> None:
    op.drop_table(TABLE)  # its triggers go with it
