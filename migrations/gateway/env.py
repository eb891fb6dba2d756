"""Alembic environment of the gateway database (see dis_core.migrate)."""

from alembic import context

from dis_core.migrate import run_env

run_env(context, "gateway")
