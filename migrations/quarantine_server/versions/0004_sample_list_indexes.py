"""an index per sort of the sample list (each with the id that breaks ties)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 05:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SORTED_COLUMNS = (
    "file_name", "user", "computer", "received_at", "date_analyzed", "state",
    "definitions_needed", "status", "virus_name", "priority",
)  # fmt: skip  # a copy: a revision must not change when the models do


def upgrade() -> None:
    for column in SORTED_COLUMNS:
        op.create_index(f"ix_samples_{column}_id", "samples", [column, "id"], unique=False)


def downgrade() -> None:
    for column in SORTED_COLUMNS:
        op.drop_index(f"ix_samples_{column}_id", table_name="samples")
