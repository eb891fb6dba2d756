"""Alembic environment of the gateway database (see dis_core.migrate)."""

from alembic import context

from dis_core.config import load_config
from dis_core.migrate import run_env
from gateway_sim.models import Base

run_env(context, Base.metadata, lambda: load_config().database_url("gateway"))
