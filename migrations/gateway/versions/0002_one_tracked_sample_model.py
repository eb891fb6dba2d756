"""one model of a tracked sample: aware UTC times, state only, the shared history line

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04 02:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMES = {
    "faults": ["set_at"],
    "submissions": ["received_at", "accepted_at", "date_analyzed", "updated_at"],
    "submission_errors": ["at"],
    "submission_history": ["at"],
}
PARTS = "'endpoint', 'quarantine_server', 'gateway', 'backoffice', 'analyst', 'administrator'"
HISTORY_SIZES = {"field": (16, 10), "before": (32, 40), "after": (32, 40)}


def upgrade() -> None:
    _retype_times(sa.DateTime(), sa.DateTime(timezone=True))
    # the gateway keeps a state only; its status column was always empty
    op.drop_column("submissions", "status")
    for column, (old, new) in HISTORY_SIZES.items():
        op.alter_column(
            "submission_history", column, type_=sa.String(new), existing_type=sa.String(old)
        )
    op.create_check_constraint(
        "submission_history_field_check",
        "submission_history",
        "field IN ('status', 'state', 'action')",
    )
    op.create_check_constraint(
        "submission_history_actor_check", "submission_history", f"actor IN ({PARTS})"
    )


def downgrade() -> None:
    op.drop_constraint("submission_history_actor_check", "submission_history", type_="check")
    op.drop_constraint("submission_history_field_check", "submission_history", type_="check")
    for column, (old, new) in HISTORY_SIZES.items():
        op.alter_column(
            "submission_history", column, type_=sa.String(old), existing_type=sa.String(new)
        )
    op.add_column("submissions", sa.Column("status", sa.String(32), nullable=True))
    _retype_times(sa.DateTime(timezone=True), sa.DateTime())


def _retype_times(old: sa.DateTime, new: sa.DateTime) -> None:
    """The stored wall times were UTC: converting at UTC keeps every instant."""
    for table, columns in TIMES.items():
        for column in columns:
            op.alter_column(
                table,
                column,
                type_=new,
                existing_type=old,
                postgresql_using=f"\"{column}\" AT TIME ZONE 'UTC'",
            )
