"""The console as it is really served: `dis quarantine-server web` (gunicorn, 2 workers, TLS).

A login made through one worker must hold on the other (both sign cookies with the same key
from the data directory), and everything goes over verified TLS with the local CA.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from dis_core.certs import generate
from dis_core.config import load_config
from dis_core.tls import http_session
from quarantine_server.auth import create_user
from quarantine_server.services import build_services

DIS = [sys.executable, "-m", "launcher"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for(url: str, ca: Path, process: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, "the web server exited"
        try:
            http_session(ca).get(url, timeout=2)
            return
        except requests.exceptions.SSLError:
            raise
        except requests.ConnectionError:
            time.sleep(0.3)
    raise AssertionError(f"{url} did not answer in {seconds} s")


def test_login_holds_across_gunicorn_workers_over_tls(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIS_")}
    env |= {
        "DIS_DATA_DIR": str(tmp_path),
        "DIS_GENERAL__LISTEN_PORT": str(port),
        "DIS_QS_PASSWORD": "gunicorn-pass-1",
    }
    generate(tmp_path / "certs")
    services = build_services(
        load_config(environ={}, overrides={"general": {"data_dir": str(tmp_path)}})
    )
    with services.work() as db:
        create_user(db, "root", "gunicorn-pass-1", "admin", services.clock.now())
    services.db.engine.dispose()
    server = subprocess.Popen(
        [*DIS, "quarantine-server", "web", "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base, ca = f"https://127.0.0.1:{port}", tmp_path / "certs" / "ca.pem"
    try:
        _wait_for(f"{base}/console/login", ca, server)
        browser = http_session(ca)  # verifies against the local CA, ignores environment settings
        form = browser.get(f"{base}/console/login", timeout=10).text
        token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
        login = browser.post(
            f"{base}/console/login",
            data={"username": "root", "password": "gunicorn-pass-1", "csrf_token": token},
            timeout=10,
            allow_redirects=False,
        )
        assert login.status_code == 303
        assert "Secure" in login.headers["Set-Cookie"]
        for _ in range(8):  # spread over both workers
            page = browser.get(f"{base}/console/items", timeout=10, allow_redirects=False)
            assert page.status_code == 200 and "Quarantined items" in page.text
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
