"""one model of a tracked sample: aware UTC times, the shared history line

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
    "events": ["at"],
    "general_errors": ["at"],
    "heartbeats": ["beat_at"],
    "installed_sets": ["installed_at"],
    "samples": [
        "status_changed_at",
        "received_at",
        "date_submitted",
        "date_analyzed",
        "date_finished",
    ],
    "settings": ["updated_at"],
    "users": ["created_at"],
    "api_tokens": ["created_at"],
    "sample_errors": ["at"],
    "sample_history": ["at"],
}
PARTS = "'endpoint', 'quarantine_server', 'gateway', 'backoffice', 'analyst', 'administrator'"


def upgrade() -> None:
    _retype_times(sa.DateTime(), sa.DateTime(timezone=True))
    op.alter_column("sample_history", "actor", type_=sa.String(32), existing_type=sa.String(40))
    op.create_check_constraint(
        "sample_history_field_check", "sample_history", "field IN ('status', 'state', 'action')"
    )
    op.create_check_constraint(
        "sample_history_actor_check", "sample_history", f"actor IN ({PARTS})"
    )


def downgrade() -> None:
    op.drop_constraint("sample_history_actor_check", "sample_history", type_="check")
    op.drop_constraint("sample_history_field_check", "sample_history", type_="check")
    op.alter_column("sample_history", "actor", type_=sa.String(40), existing_type=sa.String(32))
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
