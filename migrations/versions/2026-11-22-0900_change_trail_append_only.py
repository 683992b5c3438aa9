"""change trail: append-only, indexed by time

`party_change`, the trail of who changed the master data (parties and identity), becomes
append-only like `stored_event` and `verification_run`: triggers refuse UPDATE and DELETE (and
on PostgreSQL TRUNCATE), with the function the custody-core revision created. A correction of
master data is a new change row, never an edit of an old one. An index on `at` serves the
trail's newest-first pages.

Revision ID: e8b2c6d1f0a3
Revises: d4e0f3a51b28
Create Date: 2026-11-22 09:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "e8b2c6d1f0a3"
down_revision: str | None = "d4e0f3a51b28"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("party_change", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_party_change_at"), ["at"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE TRIGGER party_change_append_only BEFORE UPDATE OR DELETE ON party_change "
            "FOR EACH ROW EXECUTE FUNCTION hazchain_refuse_change()"
        )
        op.execute(
            "CREATE TRIGGER party_change_no_truncate BEFORE TRUNCATE ON party_change "
            "FOR EACH STATEMENT EXECUTE FUNCTION hazchain_refuse_change()"
        )
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER party_change_no_{action.lower()} BEFORE {action} ON "
                f"party_change BEGIN SELECT RAISE(ABORT, 'party_change is append-only: "
                f"{action} refused'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS party_change_append_only ON party_change")
        op.execute("DROP TRIGGER IF EXISTS party_change_no_truncate ON party_change")
    else:
        for action in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS party_change_no_{action}")
    with op.batch_alter_table("party_change", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_party_change_at"))
