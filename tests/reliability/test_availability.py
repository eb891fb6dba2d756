"""Availability: connections that say nothing do not take the Quarantine Server away."""

from __future__ import annotations

import socket
import time
from contextlib import ExitStack

from .loop import RunningLoop

IDLE_CONNECTIONS = 12  # more than web_workers x web_threads would hold if each took a thread


def test_idle_connections_leave_intake_console_and_api_reachable(loop: RunningLoop) -> None:
    port = loop.config.general.listen_port
    with ExitStack() as held:
        for _ in range(IDLE_CONNECTIONS):
            held.enter_context(socket.create_connection(("127.0.0.1", port), timeout=5))
        time.sleep(1)  # they are accepted and wait, saying nothing
        http = loop.http()
        started = time.monotonic()
        console = http.get(f"{loop.qs_url}/console/login", timeout=10)
        intake = http.head(f"{loop.qs_url}/intake/v1/definitions/active", timeout=10)
        api = loop.api("GET", "/samples")
        took = time.monotonic() - started
    assert (console.status_code, intake.status_code, api.status_code) == (200, 200, 200)
    assert took < 10  # a sync worker per idle connection made each of these wait 120 s
