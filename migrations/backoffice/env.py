"""Alembic environment of the backoffice database (see dis_core.migrate)."""

from alembic import context

from backoffice.store.models import Base
from dis_core.config import load_config
from dis_core.migrate import run_env

run_env(context, Base.metadata, lambda: load_config().database_url("backoffice"))
