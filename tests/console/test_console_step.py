"""The trainer's step-mode page: switch on, see a waiting sample, let it go."""

from __future__ import annotations

import re
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from flask.testing import FlaskClient

from dis_core.clock import ManualClock
from dis_core.config import load_config
from dis_core.stepping import StepGate
from quarantine_server import auth
from quarantine_server.web.app import create_app

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def _token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def _logged_in(tmp_path: Path) -> FlaskClient:
    config = load_config(environ={}, overrides={"general": {"data_dir": str(tmp_path)}})
    app = create_app(config, clock=ManualClock(T0))
    with app.extensions["quarantine_services"].work() as db:
        auth.create_user(db, "root", "long-enough-pw", "admin", T0)
    client = app.test_client()
    token = _token(client.get("/console/login").get_data(as_text=True))
    login = {"username": "root", "password": "long-enough-pw", "csrf_token": token}
    assert client.post("/console/login", data=login).status_code == 303
    return client


def _post(client: FlaskClient, **form: str) -> str:
    token = _token(client.get("/console/step").get_data(as_text=True))
    reply = client.post("/console/step", data={**form, "csrf_token": token}, follow_redirects=True)
    assert reply.status_code == 200
    return reply.get_data(as_text=True)


def test_step_mode_holds_a_sample_until_the_trainer_says_go(tmp_path: Path) -> None:
    client = _logged_in(tmp_path)
    assert 'Step mode is <b id="step-state">off' in client.get("/console/step").get_data(
        as_text=True
    )
    assert "every sample now pauses" in _post(client, action="on")
    gate, moved = StepGate(tmp_path, enabled=False), threading.Event()
    mover = threading.Thread(
        target=lambda: (gate.pause("gw-1", "backoffice", "imported", "classifying"), moved.set())
    )
    mover.start()
    deadline = time.monotonic() + 5
    while not gate.waiting() and time.monotonic() < deadline:
        time.sleep(0.02)
    page = client.get("/console/step").get_data(as_text=True)
    assert "gw-1" in page and "classifying" in page
    assert not moved.wait(0.2)
    assert "1 sample may make the next move" in _post(client, action="go", key="gw-1")
    mover.join(5)
    assert moved.is_set()
    assert "waiting samples go on" in _post(client, action="off")
    assert not gate.active()


def test_step_actions_need_the_csrf_token(tmp_path: Path) -> None:
    client = _logged_in(tmp_path)
    assert client.post("/console/step", data={"action": "on"}).status_code == 400
    assert not StepGate(tmp_path, enabled=False).active()
