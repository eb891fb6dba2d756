"""PostgreSQL and Redis for the scale-out tests.

CI (scripts/test.sh) starts both with scripts/services.sh and exports DIS_TEST_POSTGRES_URL and
DIS_TEST_REDIS_URL. Run alone, these tests start their own pair the same way. Either way a
missing server is a failure, never a skip: these tests are the only proof that the scaled-out
system works.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from dis_core.db import postgres_url

REPO = Path(__file__).resolve().parents[2]
SERVICES_SH = REPO / "scripts" / "services.sh"
_redis_dbs = itertools.cycle(range(1, 16))  # db 0 is left to whoever started the server


@dataclass(frozen=True)
class Services:
    postgres_url: str  # superuser on the maintenance database 'postgres'
    redis_url: str  # db 0

    def database(self, name: str) -> str:
        return make_url(self.postgres_url).set(database=name).render_as_string(False)


def _start_own(folder: Path) -> dict[str, str]:
    try:
        done = subprocess.run(
            ["bash", str(SERVICES_SH), "start", str(folder)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.fail(f"could not start PostgreSQL and Redis: {exc}")
    if done.returncode != 0:
        pytest.fail(f"PostgreSQL/Redis missing or not starting: {done.stderr.strip()[-500:]}")
    values = {}
    for line in done.stdout.splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        values[name] = value
    return values


def _check(services: Services) -> None:
    try:
        engine = create_engine(postgres_url(services.postgres_url))
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
        redis.Redis.from_url(services.redis_url, socket_timeout=5).ping()
    except Exception as exc:
        pytest.fail(f"PostgreSQL or Redis not reachable: {exc}")


@pytest.fixture(scope="session")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    pg, rd = os.environ.get("DIS_TEST_POSTGRES_URL"), os.environ.get("DIS_TEST_REDIS_URL")
    own: Path | None = None
    if not (pg and rd):
        # not under tmp_path_factory: as root the cluster runs as the 'postgres' user, who
        # cannot enter pytest's private (0700) base folder, and PostgreSQL's socket path
        # inside the folder must stay short
        own = Path(tempfile.mkdtemp(prefix="dis-services-test-"))
        values = _start_own(own)
        pg, rd = values["DIS_TEST_POSTGRES_URL"], values["DIS_TEST_REDIS_URL"]
    found = Services(pg, rd)
    _check(found)
    yield found
    if own is not None:
        subprocess.run(["bash", str(SERVICES_SH), "stop", str(own)], check=False, timeout=60)


@pytest.fixture
def pg_base(services: Services) -> Iterator[str]:
    """A fresh database-name prefix on the test server; its databases are dropped afterwards."""
    prefix = f"t{uuid.uuid4().hex[:10]}"
    yield services.database(prefix)
    engine = create_engine(postgres_url(services.postgres_url), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        names = connection.execute(
            text("SELECT datname FROM pg_database WHERE datname LIKE :p"), {"p": prefix + "%"}
        ).scalars()
        for name in list(names):
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@pytest.fixture
def broker(services: Services) -> Iterator[str]:
    """An empty Redis database of the test server as the Celery broker."""
    url = str(make_url(services.redis_url).set(database=str(next(_redis_dbs))))
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()
    client.close()
