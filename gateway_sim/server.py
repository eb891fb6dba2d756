"""Running the gateway under gunicorn over TLS (programmatic gunicorn application).

The master prepares everything once (database schema, admin token, certificate check)
before it forks; each worker then builds its own app, engine and caches.
"""

from __future__ import annotations

import json
import logging
import ssl
from pathlib import Path
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from dis_core.certs import CertPaths
from dis_core.config import Config
from dis_core.tls import server_context
from gateway_sim.services import admin_token, gateway_dir, open_database

WORKER_CLASS = "gthread"
log = logging.getLogger(__name__)


class GatewayNotReady(RuntimeError):
    """Something the gateway needs before it can listen is missing."""


def certificate_paths(config: Config) -> CertPaths:
    paths = CertPaths(config.certs_dir)
    for needed in (paths.server_cert, paths.server_key, paths.ca_cert):
        if not needed.exists():
            raise GatewayNotReady(f"{needed} is missing; run 'dis certs' first")
    return paths


def prepare(config: Config) -> CertPaths:
    """Everything the workers share, made once: checks certificates, schema, admin token."""
    paths = certificate_paths(config)
    gateway_dir(config).mkdir(parents=True, exist_ok=True)
    open_database(config).dispose()
    admin_token(config)
    _open_back_office_once(config)
    return paths


def _open_back_office_once(config: Config) -> None:
    """Let the back-office link create its schema now, not in two workers at the same moment."""
    try:
        from backoffice.link import BackOfficeLink
    except ImportError as exc:
        log.warning("back office not installed (%s): samples that need analysis will abort", exc)
        return
    BackOfficeLink(config).close()


def listen_file(config: Config) -> Path:
    """Where the running gateway writes the address it really listens on (port 0 picks one)."""
    return gateway_dir(config) / "listen.json"


class GatewayServer(BaseApplication):
    def __init__(self, config: Config, *, access_log: bool = False) -> None:
        self.config = config
        self.access_log = access_log
        self.paths = prepare(config)
        super().__init__()

    def load_config(self) -> None:
        gateway = self.config.gateway
        settings: dict[str, Any] = {
            "bind": [f"{gateway.listen_host}:{gateway.listen_port}"],
            "workers": gateway.workers,
            "worker_class": WORKER_CLASS,
            "threads": gateway.threads,
            "timeout": 120,
            "graceful_timeout": 5,
            "certfile": str(self.paths.server_cert),
            "keyfile": str(self.paths.server_key),
            "ca_certs": str(self.paths.ca_cert),
            "cert_reqs": ssl.CERT_REQUIRED if gateway.require_client_cert else ssl.CERT_OPTIONAL,
            "ssl_context": self._ssl_context,
            "when_ready": self._when_ready,
            "proc_name": "dis-gateway",
            "control_socket_disable": True,  # one per user home: several gateways would collide
            "errorlog": "-",
            "accesslog": "-" if self.access_log else None,
        }
        for key, value in settings.items():
            self.cfg.set(key, value)

    def _ssl_context(self, _conf: Any, _default_factory: Any) -> ssl.SSLContext:
        """The project's TLS settings (TLS 1.2+, client certificates checked against our CA)."""
        return server_context(
            self.paths.server_cert,
            self.paths.server_key,
            self.paths.ca_cert,
            require_client_cert=self.config.gateway.require_client_cert,
        )

    def _when_ready(self, server: Any) -> None:
        host, port = server.LISTENERS[0].sock.getsockname()[:2]
        target = listen_file(self.config)
        staging = target.with_suffix(".tmp")
        staging.write_text(
            json.dumps({"host": host, "port": port, "pid": server.pid}), encoding="utf-8"
        )
        staging.replace(target)

    def load(self) -> Flask:
        from gateway_sim.app import create_app

        return create_app(self.config)


def serve(config: Config, *, access_log: bool = False) -> None:
    listen_file(config).unlink(missing_ok=True)
    GatewayServer(config, access_log=access_log).run()
