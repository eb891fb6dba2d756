"""API tokens get a scope, an expiry, a revocation time and their last use

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 05:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMES = ("expires_at", "revoked_at", "last_used_at")


def upgrade() -> None:
    with op.batch_alter_table("api_tokens") as table:
        table.add_column(sa.Column("scope", sa.String(length=10), nullable=True))
        for name in TIMES:
            table.add_column(sa.Column(name, sa.DateTime(timezone=True), nullable=True))
        table.create_check_constraint(
            "ck_scope_values", "scope IS NULL OR scope IN ('admin', 'viewer')"
        )


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as table:
        table.drop_constraint("ck_scope_values", type_="check")
        for name in (*TIMES, "scope"):
            table.drop_column(name)
