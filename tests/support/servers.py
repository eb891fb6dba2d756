"""A WSGI app served by werkzeug in a thread on 127.0.0.1, with TLS from ``dis certs`` files or
without; port 0 lets the OS pick a free port, a given port lets a stopped server come back on
the address its clients already know (an outage and a recovery)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

from dis_core.certs import CertPaths
from dis_core.tls import server_context


@dataclass
class Running:
    server: BaseWSGIServer
    thread: threading.Thread
    tls: bool

    @property
    def port(self) -> int:
        return int(self.server.server_port)

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def serve(app: Any, certs: CertPaths | None, port: int = 0) -> Running:
    context = server_context(certs.server_cert, certs.server_key) if certs else None
    server = make_server("127.0.0.1", port, app, threaded=True, ssl_context=context)
    # a short poll so that stop() (and with it every test's teardown) returns quickly
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    return Running(server, thread, tls=context is not None)


@contextmanager
def serving(app: Any, certs: CertPaths | None, port: int = 0) -> Iterator[Running]:
    running = serve(app, certs, port)
    try:
        yield running
    finally:
        running.stop()
