"""Fixtures: a data directory with certificates and a signing key, the server's services on a
ManualClock, the web app on loopback TLS, a fake gateway on loopback TLS, and helpers."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from dis_core.certs import CertPaths, generate
from dis_core.clock import ManualClock
from dis_core.config import Config
from dis_core.definitions import load_or_create_signing_key
from dis_core.tls import http_session
from quarantine_server.agent import Agent
from quarantine_server.models import User
from quarantine_server.services import Services, build_services
from quarantine_server.tokens import create_token
from quarantine_server.web.app import create_app
from tests.support.fake_gateway import FakeGateway, Vendor
from tests.support.servers import Running, serve
from tests.support.world import config_for

ADMIN = ("admin", "admin-password")
VIEWER = ("viewer", "viewer-password")


@dataclass
class Server:
    """Everything one test needs about a running Quarantine Server."""

    data: Path
    certs: CertPaths
    config: Config
    clock: ManualClock
    services: Services
    vendor: Vendor
    gateway: FakeGateway
    gateway_server: Running
    web: Running
    http: requests.Session
    tokens: dict[str, str]

    @property
    def url(self) -> str:
        return self.web.url

    def agent(self) -> Agent:
        return Agent(self.services)

    def api(
        self,
        method: str,
        path: str,
        auth: tuple[str, str] | None = None,
        *,
        role: str = "admin",
        **kwargs: Any,
    ) -> requests.Response:
        """Call the API; bearer token of ``role`` unless Basic ``auth`` is given."""
        headers = dict(kwargs.pop("headers", {}))
        if auth is None:
            headers["Authorization"] = f"Bearer {self.tokens[role]}"
        return self.http.request(
            method, f"{self.url}/api/v1{path}", auth=auth, headers=headers, timeout=30, **kwargs
        )

    def set_properties(self, tab: str, **values: Any) -> None:
        reply = self.api("PATCH", f"/properties/{tab}", json=values)
        assert reply.status_code == 200, reply.text

    def events(self, kind: str | None = None) -> list[dict[str, Any]]:
        query = f"?per_page=500&event={kind}" if kind else "?per_page=500"
        return list(self.api("GET", f"/events{query}").json()["items"])

    def sample(self, sample_id: int) -> dict[str, Any]:
        reply = self.api("GET", f"/samples/{sample_id}")
        assert reply.status_code == 200, reply.text
        return dict(reply.json())


def _user(session: Session, name: str, role: str, clock: ManualClock) -> User:
    """A user with a password hashed once per session (scrypt is slow on purpose)."""
    user = User(
        username=name, password_hash=PASSWORD_HASHES[name], role=role, created_at=clock.now()
    )
    session.add(user)
    session.flush()
    return user


def make_config(data: Path, **sections: dict[str, Any]) -> Config:
    general = {"quarantine_max_mb": 50, **sections.pop("general", {})}
    return config_for(data, general=general, **sections)


@pytest.fixture(scope="session")
def material(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Certificates, the vendor's signing key and password hashes, made once per session."""
    root = tmp_path_factory.mktemp("qs-material")
    generate(root / "certs")
    load_or_create_signing_key(root / "backoffice" / "keys")
    return root


PASSWORD_HASHES = {
    name: generate_password_hash(password, method="scrypt") for name, password in (ADMIN, VIEWER)
}


@pytest.fixture
def server(tmp_path: Path, material: Path) -> Iterator[Server]:
    data = tmp_path / "data"
    shutil.copytree(material, data)
    certs = CertPaths(data / "certs")
    key = load_or_create_signing_key(data / "backoffice" / "keys")
    vendor = Vendor(tmp_path / "published", key)
    gateway = FakeGateway(vendor)
    gateway_server = serve(gateway.app(), certs)
    config = make_config(
        data,
        web_communication={"gateway_url": gateway_server.url, "timeout_s": 5},
        sample_policy={"queue_check_interval_s": 60, "status_query_interval_s": 60},
    )
    clock = ManualClock()
    services = build_services(config, clock)
    with services.work() as session:
        admin = _user(session, ADMIN[0], "admin", clock)
        viewer = _user(session, VIEWER[0], "viewer", clock)
        tokens = {
            "admin": create_token(session, admin, "t", clock.now())[0],
            "viewer": create_token(session, viewer, "t", clock.now())[0],
        }
    web = serve(create_app(services=services), certs)
    http = http_session(certs.ca_cert)
    yield Server(
        data, certs, config, clock, services, vendor, gateway, gateway_server, web, http, tokens
    )
    http.close()
    web.stop()
    gateway_server.stop()
    services.db.engine.dispose()
