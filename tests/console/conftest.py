"""Fixtures for the console tests: the real Quarantine Server web app on loopback, and Chromium.

The server is built with its own app factory (``quarantine_server.web.app.create_app``) and
served by werkzeug in a thread on 127.0.0.1 (port 0: the OS picks a free one). Samples reach
it through the real intake API, packed with ``dis_core.protocol.pack_sample``. The browser is
Debian's Chromium driven by Playwright, headless; nothing is downloaded.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from dis_core.clock import ManualClock
from dis_core.config import Config, load_config
from dis_core.protocol import pack_sample
from quarantine_server import auth
from quarantine_server.services import Services
from quarantine_server.web.app import create_app
from tests.support.servers import serving

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ADMIN = ("admin", "correct-horse-battery")
VIEWER = ("viewer", "just-looking-123")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@dataclass
class LiveServer:
    """The running Quarantine Server: its URL, services and a forwarding helper."""

    url: str
    services: Services
    config: Config
    restore_dir: Path
    outside_dir: Path

    def forward(
        self, content: bytes, file_name: str, user: str, computer: str, **extra: Any
    ) -> int:
        """Forward one sample through the real intake API, as an endpoint does; return its id."""
        attributes: dict[str, Any] = {
            "X-Sample-Type": "file",
            "X-Sample-File": file_name,
            "X-Sample-Id": extra.pop("sample_id", f"local-{abs(hash((file_name, computer)))}"),
            "X-Platform-User": user,
            "X-Platform-Computer": computer,
            "X-Scan-Result": "suspicious",
            "X-Scan-Signatures-Sequence": 3,
            "X-Date-Quarantined": datetime.now(UTC),
            **extra,
        }
        headers, body = pack_sample(content, attributes)
        reply = requests.post(
            f"{self.url}/intake/v1/samples", headers=headers, data=body, timeout=10
        )
        assert reply.status_code in (200, 201), reply.text
        return int(reply.json()["id"])


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveServer]:
    restore_dir, outside_dir = tmp_path / "restore", tmp_path / "outside"
    restore_dir.mkdir()
    outside_dir.mkdir()
    config = load_config(
        environ={},
        overrides={
            "general": {
                "data_dir": str(tmp_path / "data"),
                "console_refresh_s": 1,
                "restore_dirs": [str(restore_dir)],
                "listen_tls": False,
            }
        },
    )
    # a clock the test moves by hand, so histories get readable times without waiting
    app = create_app(config, clock=ManualClock(datetime.now(UTC).replace(microsecond=0)))
    services: Services = app.extensions["quarantine_services"]
    with services.work() as db:
        auth.create_user(db, *ADMIN, "admin", services.clock.now())
        auth.create_user(db, *VIEWER, "viewer", services.clock.now())
    try:
        with serving(app, None) as web:
            yield LiveServer(web.url, services, config, restore_dir, outside_dir)
    finally:
        services.db.engine.dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(10_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def log_in(page: Any, live: LiveServer, who: tuple[str, str] = ADMIN) -> None:
    page.goto(f"{live.url}/console/items")
    page.fill("input[name=username]", who[0])
    page.fill("input[name=password]", who[1])
    page.click("button[type=submit]")
    page.wait_for_url("**/console/items")
