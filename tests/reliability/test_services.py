"""The real processes (gunicorn web servers, agent, back office) under hostile or careless use:
oversized headers get a clear 4xx and the server keeps serving; no password or token reaches
a log file, even on error paths."""

from __future__ import annotations

import contextlib
import socket
import ssl

import requests

from dis_core.tls import client_context

from .helpers import unique_content
from .loop import DESK_TOKEN, GATEWAY_ADMIN_TOKEN, RunningLoop, process_ids, start_loop

PROXY_PASSWORD = "proxy-pass-0e4c8a1f77-secret"
WRONG_PASSWORD = "wrong-pass-b7d3c5a9e1-secret"


def _raw_request(loop: RunningLoop, url: str, request: bytes) -> bytes:
    """Send raw bytes over TLS (requests itself refuses some of these headers) and read the
    answer. A server may answer and close before it has read a giant request; then the send
    fails and the answer may be lost with the connection (b"")."""
    host, port = url.split("//")[1].split(":")
    context = client_context(loop.stack.certs.ca_cert)
    with (
        socket.create_connection((host, int(port.rstrip("/"))), timeout=20) as raw,
        context.wrap_socket(raw, server_hostname=host) as tls,
    ):
        with contextlib.suppress(ssl.SSLError, OSError):
            tls.sendall(request)
        return _read_answer(tls)


def _read_answer(tls: ssl.SSLSocket) -> bytes:
    answer = b""
    try:
        while chunk := tls.recv(65536):
            answer += chunk
    except (ssl.SSLError, OSError):
        pass
    return answer


def _oversized(path: str, *, field: int, fields: int, line: int) -> list[bytes]:
    head = b"POST " + path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    return [
        head + b"X-Sample-File: " + b"A" * field + b"\r\nContent-Length: 0\r\n\r\n",
        head + b"".join(b"X-F%d: v\r\n" % i for i in range(fields)) + b"Content-Length: 0\r\n\r\n",
        b"GET /" + b"a" * line + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    ]


def _status(answer: bytes) -> int:
    assert answer.startswith(b"HTTP/1."), answer[:200]
    return int(answer.split(b" ", 2)[1])


def test_oversized_headers_get_a_clear_4xx_and_servers_keep_serving(loop: RunningLoop) -> None:
    before = process_ids(loop)
    for url, path in (
        (loop.qs_url, "/intake/v1/samples"),
        (loop.gateway_url, "/gateway/v1/samples"),
    ):
        # just past gunicorn's limits (8190 bytes a field, 100 fields, 4094 bytes a request
        # line): the whole request is sent before the answer, which must be a clear 4xx
        for request in _oversized(path, field=9_000, fields=150, line=5_000):
            assert 400 <= _status(_raw_request(loop, url, request)) < 500, (url, request[:60])
        # far past them: a 4xx, or the connection closed once the server has refused
        for request in _oversized(path, field=200_000, fields=2_000, line=100_000):
            answer = _raw_request(loop, url, request)
            assert answer == b"" or 400 <= _status(answer) < 500, (url, answer[:100])
    with loop.http() as http:
        reply = loop.forward(http, unique_content("after-huge"), "after-huge")
        assert reply.status_code == 201, reply.text
        assert (
            http.head(f"{loop.gateway_url}/gateway/v1/definitions/newest", timeout=10).status_code
            == 200
        )
    assert process_ids(loop) == before and all(s.running() for s in loop.stack.services)


def test_a_body_shorter_than_declared_is_lost_not_stuck(loop: RunningLoop) -> None:
    """A client that declares 1 MB and sends 10 bytes, then closes: the worker frees itself."""
    request = (
        b"POST /intake/v1/samples HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000000\r\n\r\n"
        + b"0123456789"
    )
    host, port = loop.qs_url.split("//")[1].split(":")
    context = client_context(loop.stack.certs.ca_cert)
    with (
        socket.create_connection((host, int(port)), timeout=20) as raw,
        context.wrap_socket(raw, server_hostname=host) as tls,
    ):
        tls.sendall(request)
    with loop.http() as http:
        assert loop.forward(http, unique_content("after-lost"), "after-lost").status_code == 201


def test_secrets_never_appear_in_logs(tmp_path) -> None:  # noqa: ANN001 - pytest's tmp_path
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        dead_port = closed.getsockname()[1]
    running = start_loop(
        tmp_path / "data",
        firewall={
            "name": "127.0.0.1",
            "port": dead_port,
            "user": "proxyuser",
            "password": PROXY_PASSWORD,
        },
    )
    try:
        token = _exercise_credentials(running)
        with running.http() as http:
            assert running.forward(http, unique_content("secret-1"), "secret-1").status_code == 201
        running.wait_until(
            lambda: (
                "gateway_unreachable" in " ".join(running.event_kinds()) or _agent_tried(running)
            ),
            30,
            "an agent pass",
        )
        events = running.api("GET", "/events?per_page=500").text
    finally:
        running.stop()
    logs = running.logs()
    assert "Listening at" in logs  # the logs were really written
    for secret in (
        running.session.password,
        token,
        GATEWAY_ADMIN_TOKEN,
        DESK_TOKEN,
        PROXY_PASSWORD,
        WRONG_PASSWORD,
    ):
        assert secret not in logs, f"a secret ({secret[:6]}...) is in the logs"
        assert secret not in events
    assert running.session.password and token


def _agent_tried(running: RunningLoop) -> bool:
    return any(item["status"] != "quarantined" for item in running.samples())


def _exercise_credentials(running: RunningLoop) -> str:
    """Use every kind of secret once, rightly and wrongly, so that any careless log line shows."""
    with running.http() as http:
        url = running.qs_url
        assert (
            http.get(
                f"{url}/api/v1/samples", auth=("admin", WRONG_PASSWORD), timeout=10
            ).status_code
            == 401
        )
        made = http.post(
            f"{url}/api/v1/tokens",
            auth=("admin", running.session.password),
            json={"name": "t"},
            timeout=10,
        )
        token = str(made.json()["token"])
        assert (
            http.get(
                f"{url}/api/v1/samples", headers={"Authorization": f"Bearer {token}"}, timeout=10
            ).status_code
            == 200
        )
        login = http.get(f"{url}/console/login", timeout=10).text
        csrf = login.split('name="csrf_token" value="')[1].split('"')[0]
        for password in (WRONG_PASSWORD, running.session.password):
            http.post(
                f"{url}/console/login",
                data={"csrf_token": csrf, "username": "admin", "password": password},
                timeout=10,
            )
        gateway = f"{running.gateway_url}/gateway/admin/v1/faults"
        assert (
            http.get(
                gateway, headers={"Authorization": f"Bearer {GATEWAY_ADMIN_TOKEN}"}, timeout=10
            ).status_code
            == 200
        )
        assert http.get(
            gateway, headers={"Authorization": f"Bearer {WRONG_PASSWORD}"}, timeout=10
        ).status_code in (401, 403)
    desk = f"http://127.0.0.1:{running.config.backoffice.desk_port}/"
    assert requests.get(desk, params={"token": DESK_TOKEN}, timeout=10).status_code == 200
    assert requests.get(desk, params={"token": WRONG_PASSWORD}, timeout=10).status_code == 403
    return token
