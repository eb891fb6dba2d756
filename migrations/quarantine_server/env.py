"""Alembic environment of the quarantine server database (see dis_core.migrate)."""

from alembic import context

from dis_core.config import load_config
from dis_core.migrate import run_env
from quarantine_server.database import database_url
from quarantine_server.models import Base

run_env(context, Base.metadata, lambda: database_url(load_config()))
