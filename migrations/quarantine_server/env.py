"""Alembic environment of the quarantine server database (see dis_core.migrate)."""

from alembic import context

from dis_core.migrate import run_env

run_env(context, "quarantine_server")
