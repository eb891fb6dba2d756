"""Alembic environment of the backoffice database (see dis_core.migrate)."""

from alembic import context

from dis_core.migrate import run_env

run_env(context, "backoffice")
