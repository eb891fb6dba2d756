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


def upgrade() -> None:
    # the back office keeps a state only; its status column was always empty
    op.drop_column("analysis", "status")
    for column in ("before", "after"):
        op.alter_column("state_change", column, type_=sa.String(40), existing_type=sa.String(32))


def downgrade() -> None:
    for column in ("before", "after"):
        op.alter_column("state_change", column, type_=sa.String(32), existing_type=sa.String(40))
    op.add_column("analysis", sa.Column("status", sa.String(32), nullable=True))
