"""one model of a tracked sample: state only, the shared history line

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


FIELD_CHECK = "state_change_field_check"


def upgrade() -> None:
    # the back office keeps a state only; its status column was always empty
    op.drop_column("analysis", "status")
    for column in ("before", "after"):
        op.alter_column("state_change", column, type_=sa.String(40), existing_type=sa.String(32))
    # the shared history line also records actions (dis_core.history.FIELDS)
    op.drop_constraint(_field_check_name(), "state_change", type_="check")
    op.create_check_constraint(
        FIELD_CHECK, "state_change", "field IN ('status', 'state', 'action')"
    )


def downgrade() -> None:
    op.drop_constraint(FIELD_CHECK, "state_change", type_="check")
    op.create_check_constraint(FIELD_CHECK, "state_change", "field IN ('status', 'state')")
    for column in ("before", "after"):
        op.alter_column("state_change", column, type_=sa.String(32), existing_type=sa.String(40))
    op.add_column("analysis", sa.Column("status", sa.String(32), nullable=True))


def _field_check_name() -> str:
    """0001 left the check unnamed: the database chose its name."""
    found = op.get_bind().execute(
        sa.text(
            "SELECT conname FROM pg_constraint WHERE conrelid = 'state_change'::regclass "
            "AND contype = 'c' AND pg_get_constraintdef(oid) LIKE '%field%'"
        )
    )
    return str(found.scalar_one())
