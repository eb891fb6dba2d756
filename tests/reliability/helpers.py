"""Builders shared by the reliability tests: a Quarantine Server app on a ManualClock, inert
samples nobody's definitions know, and small checks."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from dis_core.clock import ManualClock
from dis_core.config import Config, load_config
from quarantine_server.auth import create_user
from quarantine_server.services import Services, build_services
from quarantine_server.tokens import create_token
from quarantine_server.web.app import create_app

WHEN = datetime(2026, 1, 1, tzinfo=UTC)
ADMIN = ("admin", "admin-password-x1")
VIEWER = ("viewer", "viewer-password-x1")


@dataclass
class QuarantineApp:
    """A Quarantine Server web app (no agent) for Flask's test client."""

    app: Flask
    services: Services
    config: Config
    clock: ManualClock
    token: str

    def client(self) -> FlaskClient:
        return self.app.test_client()

    @property
    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def close(self) -> None:
        self.services.db.engine.dispose()


def qs_config(data: Path, **sections: dict[str, Any]) -> Config:
    overrides: dict[str, dict[str, Any]] = {
        "general": {"data_dir": str(data), "quarantine_max_mb": 8, "listen_tls": False}
    }
    for name, values in sections.items():
        overrides.setdefault(name, {}).update(values)
    return load_config(None, environ={}, overrides=overrides)


def quarantine_app(data: Path, **sections: dict[str, Any]) -> QuarantineApp:
    config = qs_config(data, **sections)
    clock = ManualClock(WHEN)
    services = build_services(config, clock)
    with services.work() as session:
        admin = create_user(session, *ADMIN, "admin", clock.now())
        create_user(session, *VIEWER, "viewer", clock.now())
        token, _ = create_token(session, admin, "reliability", clock.now())
    return QuarantineApp(create_app(services=services), services, config, clock, token)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def unique_content(tag: str, size: int = 600) -> bytes:
    """Inert bytes that differ per ``tag`` (a sample nobody's definitions know)."""
    seed = hashlib.sha256(tag.encode()).digest()
    return (b"INERT-TEST-DATA " + tag.encode() + b" " + seed * (size // 32 + 1))[:size]


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def free_bytes(path: Path) -> int:
    stats = os.statvfs(path)
    return stats.f_bavail * stats.f_frsize
