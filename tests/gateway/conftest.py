from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from dis_core.certs import generate
from dis_core.clock import ManualClock
from dis_core.config import Config
from gateway_sim.app import create_app
from tests.support.fake_gateway import Vendor
from tests.support.world import config_for

from .helpers import FakeLink


def make_config(data_dir: Path, **gateway: object) -> Config:
    return config_for(data_dir, gateway=gateway)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def link() -> FakeLink:
    return FakeLink()


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return make_config(tmp_path / "data", admin_token="test-admin-token")


@pytest.fixture
def app(config: Config, clock: ManualClock, link: FakeLink) -> Iterator[Flask]:
    application = create_app(config, clock=clock, link=link)
    yield application
    application.extensions["gateway"].dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def publisher(config: Config) -> Vendor:
    return Vendor.of_backoffice(Path(config.general.data_dir))


@pytest.fixture
def certs(tmp_path: Path) -> Path:
    return generate(tmp_path / "data" / "certs").root


ADMIN = {"Authorization": "Bearer test-admin-token"}
