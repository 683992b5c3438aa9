"""rm_manifest.submitted_at: handler and carrier users see a manifest once it is submitted

A draft is the consignor's work in progress: the handler's and the carrier's portal users see
a manifest naming them from its submission on (cancelled after submission, it stays in their
list; cancelled as a draft, it never shows). The column is the submission time from the
manifest's state, filled here from `rm_manifest.state` as the projector fills it.

Revision ID: d2b7e5a9c140
Revises: c4f8a2d6e913
Create Date: 2026-11-22 14:00:00
"""

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

import app.core.db

revision: str = "d2b7e5a9c140"
down_revision: str | None = "c4f8a2d6e913"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MANIFEST = sa.table(
    "rm_manifest",
    sa.column("manifest_id", sa.Uuid()),
    sa.column("state", sa.JSON()),
    sa.column("submitted_at", app.core.db.UTCDateTime()),
)


def upgrade() -> None:
    with op.batch_alter_table("rm_manifest", schema=None) as batch_op:
        batch_op.add_column(sa.Column("submitted_at", app.core.db.UTCDateTime(), nullable=True))
    bind = op.get_bind()
    m = MANIFEST.c
    submitted = [
        {"b_id": manifest_id, "b_at": datetime.fromisoformat(state["submitted_at"])}
        for manifest_id, state in bind.execute(sa.select(m.manifest_id, m.state))
        if state.get("submitted_at")
    ]
    if submitted:
        bind.execute(
            sa.update(MANIFEST)
            .where(m.manifest_id == sa.bindparam("b_id"))
            .values(submitted_at=sa.bindparam("b_at")),
            submitted,
        )


def downgrade() -> None:
    with op.batch_alter_table("rm_manifest", schema=None) as batch_op:
        batch_op.drop_column("submitted_at")
