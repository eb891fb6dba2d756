"""The whole loop as a set of processes: gateway, back office, Quarantine Server web and agent.

``Stack`` prepares a data directory on first use (certificates, the back office's signing
key, the baseline definitions, an admin login) and then runs every part as its own process,
as a real installation would, with logs under ``data_dir/logs``.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import requests

from dis_core.certs import CertPaths, generate
from dis_core.config import Config
from dis_core.layout import PUBLISHED_SETS_DIR, SIGNING_KEYS_DIR, VERIFY_KEY_PATH
from dis_core.tls import http_session
from launcher.processes import ServiceProcess

READY_TIMEOUT_S = 60.0
ADMIN_USER = "admin"


@dataclass
class Stack:
    """Every server part of the loop, started and stopped together."""

    config: Config
    config_file: Path | None = None
    services: list[ServiceProcess] = field(default_factory=list)

    @property
    def data_dir(self) -> Path:
        return Path(self.config.general.data_dir).resolve()

    @property
    def certs(self) -> CertPaths:
        return CertPaths(self.config.certs_dir.resolve())

    @property
    def console_url(self) -> str:
        general = self.config.general
        scheme = "https" if general.listen_tls else "http"
        return f"{scheme}://{general.listen_host}:{general.listen_port}/"

    @property
    def gateway_url(self) -> str:
        return f"https://{self.config.gateway.listen_host}:{self.config.gateway.listen_port}"

    def session(self) -> requests.Session:
        return http_session(self.certs.ca_cert)

    def bootstrap(self) -> str | None:
        """Create what a first run needs; returns a new admin password, or None if one existed."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        generate(self.certs.root)
        publish_baseline(self.config)
        install_baseline_on_server(self.config)
        return ensure_admin(self.config, self.data_dir)

    def start(self, *, with_agent: bool = True) -> None:
        for service in self._plan(with_agent):
            service.start()
            self.services.append(service)
            service.wait_ready(READY_TIMEOUT_S)

    def service(self, name: str) -> ServiceProcess:
        return next(s for s in self.services if s.name == name)

    def stop(self) -> None:
        for service in reversed(self.services):
            service.stop()
        self.services.clear()

    def _env(self) -> dict[str, str]:
        env = {"DIS_DATA_DIR": str(self.data_dir), "DIS_CLOCK__SPEED": str(self.config.clock.speed)}
        if self.config_file is not None:
            env["DIS_CONFIG"] = str(self.config_file)
        return env

    def _plan(self, with_agent: bool) -> list[ServiceProcess]:
        logs, env = self.data_dir / "logs", self._env()
        plan = [
            ServiceProcess(
                "gateway",
                ["gateway"],
                logs,
                env,
                self._probe(self.gateway_url + "/gateway/v1/definitions/newest"),
            ),
            ServiceProcess("backoffice", ["backoffice"], logs, env),
            ServiceProcess(
                "qserver-web",
                ["quarantine-server", "web"],
                logs,
                env,
                self._probe(self.console_url + "intake/v1/definitions/active"),
            ),
        ]
        if with_agent:
            plan.append(ServiceProcess("qserver-agent", ["quarantine-server", "agent"], logs, env))
        return plan

    def _probe(self, url: str):
        def ready() -> bool:
            try:
                with self.session() as session:
                    return session.head(url, timeout=2).status_code < 500
            except requests.RequestException:
                return False

        return ready


def publish_baseline(config: Config) -> None:
    """Sequence 1 (certified, with EICAR and the 'known' families) in the vendor's repository."""
    from dis_core.clock import clock_for
    from dis_core.definitions import (
        DefinitionRepository,
        build_baseline,
        load_or_create_signing_key,
    )

    key = load_or_create_signing_key(config.path(SIGNING_KEYS_DIR))
    repository = DefinitionRepository(config.path(PUBLISHED_SETS_DIR), key.verify_key())
    if repository.newest_sequence() is None:
        repository.publish(build_baseline(key, clock_for(config).now()))


def install_baseline_on_server(config: Config) -> None:
    """The Quarantine Server starts with the certified baseline installed."""
    from dis_core.definitions import DefinitionRepository, InstalledDefinitions, VerifyKey

    verify_key = VerifyKey.load(config.path(VERIFY_KEY_PATH))
    installed = InstalledDefinitions(
        config.path(config.definition_policy.definitions_dir), verify_key
    )
    if installed.active_sequence == 0:
        repository = DefinitionRepository(config.path(PUBLISHED_SETS_DIR), verify_key)
        installed.install(repository.get("certified"))


def ensure_admin(config: Config, data_dir: Path) -> str | None:
    """An admin login for the console; the password is written once, readable by the owner only."""
    from sqlalchemy import select

    from dis_core.clock import clock_for
    from dis_core.db import unit_of_work
    from quarantine_server.auth import create_user
    from quarantine_server.database import open_database
    from quarantine_server.models import User

    database = open_database(config)
    with unit_of_work(database.sessions) as session:
        if session.scalar(select(User).where(User.username == ADMIN_USER)) is not None:
            return None
        password = secrets.token_urlsafe(12)
        create_user(session, ADMIN_USER, password, "admin", clock_for(config).now())
    database.engine.dispose()
    password_file = data_dir / "admin-password.txt"
    fd = os.open(password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(password + "\n")
    return password
