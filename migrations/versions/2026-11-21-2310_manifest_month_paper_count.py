"""manifest month: back-entered paper manifests

`rm_manifest_month.paper_count` counts, of the manifests dispatched in a month, those
back-entered from a paper manifest (R53): they ran on paper, so the scorecard's electronic
manifest coverage does not count them as electronic. Filled here from `rm_manifest`, whose
`state` records the paper manifest and whose `dispatched_at` is the dispatch event's time (the
month key of `rm_manifest_month`, a China month).

Revision ID: c3d9e2f40a17
Revises: a7e1c0de5b01
Create Date: 2026-11-21 23:10:00
"""

import json
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone

import sqlalchemy as sa
from alembic import op

revision: str = "c3d9e2f40a17"
down_revision: str | None = "a7e1c0de5b01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHINA = timezone(timedelta(hours=8))


def _month(at: datetime | str) -> str:
    if isinstance(at, str):  # SQLite hands back the stored text
        at = datetime.fromisoformat(at)
    if at.tzinfo is None:  # stored as UTC
        at = at.replace(tzinfo=UTC)
    return at.astimezone(CHINA).strftime("%Y-%m")


def upgrade() -> None:
    with op.batch_alter_table("rm_manifest_month", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("paper_count", sa.Integer(), server_default="0", nullable=False)
        )
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT site_id, dispatched_at, state FROM rm_manifest WHERE dispatched_at IS NOT NULL"
        )
    )
    counts: Counter[tuple[object, str]] = Counter()
    for site_id, dispatched_at, state in rows:
        data = json.loads(state) if isinstance(state, str) else state
        if data and data.get("paper"):
            counts[(site_id, _month(dispatched_at))] += 1
    for (site_id, month), n in counts.items():
        bind.execute(
            sa.text(
                "UPDATE rm_manifest_month SET paper_count = :n "
                "WHERE site_id = :site_id AND month = :month"
            ),
            {"n": n, "site_id": site_id, "month": month},
        )


def downgrade() -> None:
    with op.batch_alter_table("rm_manifest_month", schema=None) as batch_op:
        batch_op.drop_column("paper_count")
