"""Intake over loopback TLS: acknowledgement, resends, every protocol check, the quota."""

from __future__ import annotations

import socket
import ssl

import pytest
from conftest import Server
from qs_helpers import forward
from sqlalchemy import select

from dis_core.protocol.packing import sha256_hex
from quarantine_server.models import Sample
from tests.support.samples import forward_headers, infected


def _count(server: Server) -> int:
    with server.services.work() as session:
        return len(list(session.scalars(select(Sample))))


def test_forward_is_stored_encrypted_and_acknowledged(server: Server) -> None:
    content = infected("ALPHA")
    reply = forward(server.http, server.url, content)
    assert reply.status_code == 201, reply.text
    body = reply.json()
    assert body["status"] == "quarantined"
    with server.services.work() as session:
        sample = session.get(Sample, body["id"])
        assert sample is not None and sample.file_name == "report.exe" and sample.user == "alice"
        assert server.services.vault.read(sample.stored_name) == content
        raw = server.services.vault.path_of(sample.stored_name).read_bytes()
        assert b"SIMMARK" not in raw
        assert sample.history[0].after == "quarantined"


def test_resend_is_recognised_not_duplicated(server: Server) -> None:
    content = infected("BETA")
    first = forward(server.http, server.url, content, sample_id="q-7")
    again = forward(server.http, server.url, content, sample_id="q-7")
    other_computer = forward(server.http, server.url, content, sample_id="q-7", computer="PC-2")
    assert (first.status_code, again.status_code, other_computer.status_code) == (201, 200, 201)
    assert first.json()["id"] == again.json()["id"] != other_computer.json()["id"]
    assert _count(server) == 2
    assert len(server.services.vault.stored_files()) == 2


def _send(server: Server, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str]]:
    reply = server.http.post(
        f"{server.url}/intake/v1/samples", headers=headers, data=body, timeout=30
    )
    payload = reply.json()
    assert payload["error"] == reply.headers["X-Error"]
    assert payload["message"]
    return reply.status_code, payload


def _mutations() -> dict[str, tuple[int, str]]:
    return {
        "missing": (400, "missing"),
        "malformed": (400, "malformed"),
        "type": (415, "type"),
        "overrun": (400, "overrun"),
        "underrun": (400, "underrun"),
        "content": (422, "content"),
        "unpackage": (422, "unpackage"),
        "sample": (422, "sample"),
    }


@pytest.mark.parametrize("case", sorted(_mutations()))
def test_every_intake_check_answers_with_its_error(server: Server, case: str) -> None:
    headers, body = forward_headers(infected("GAMMA"))
    if case == "missing":
        del headers["X-Sample-Checksum"]
    elif case == "malformed":
        headers["X-Content-Length"] = "ten"
    elif case == "type":
        headers["X-Sample-Type"] = "boot"
    elif case == "overrun":
        body += b"x"
        headers["X-Content-Checksum"] = sha256_hex(body)
    elif case == "underrun":
        body = body[:-1]
        headers["X-Content-Checksum"] = sha256_hex(body)
    elif case == "content":
        body = bytes([body[0] ^ 1]) + body[1:]
    elif case == "unpackage":
        headers["X-Content-Scrambling-Key"] = "00" * 16
    elif case == "sample":
        headers["X-Sample-Checksum"] = "0" * 64
    status, payload = _send(server, headers, body)
    assert (status, payload["error"]) == _mutations()[case]
    assert _count(server) == 0 and server.services.vault.stored_files() == []


def test_broken_connection_stores_nothing(server: Server) -> None:
    headers, body = forward_headers(infected("DELTA"))
    context = ssl.create_default_context(cafile=str(server.certs.ca_cert))
    raw = socket.create_connection(("127.0.0.1", server.web.port))
    with raw, context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        tls.sendall(
            f"POST /intake/v1/samples HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n{head}\r\n".encode()
            + body[: len(body) // 2]
        )
    server.http.get(
        f"{server.url}/intake/v1/definitions/active", timeout=10
    )  # the server still works
    assert _count(server) == 0 and server.services.vault.stored_files() == []


def test_quota_refuses_a_sample_that_does_not_fit_and_stores_nothing(server: Server) -> None:
    server.set_properties("general", quarantine_max_mb=1)
    big = bytes(range(256)) * 3000  # about 750 kB: the first fits, the second does not
    assert forward(server.http, server.url, big + b"1", sample_id="a").status_code == 201
    reply = forward(server.http, server.url, big + b"2", sample_id="b")
    assert reply.status_code == 507
    assert reply.json()["error"] == "declined" and "full" in reply.json()["message"]
    assert _count(server) == 1 and len(server.services.vault.stored_files()) == 1
    assert "refused" in server.events("quota_low")[0]["message"]


def test_quota_low_event_when_folder_passes_threshold(server: Server) -> None:
    server.set_properties("general", quarantine_max_mb=1, quota_low_percent=10)
    forward(server.http, server.url, bytes(range(256)) * 500, sample_id="a")
    events = server.events("quota_low")
    assert len(events) == 1 and "bytes" in events[0]["message"]


def test_free_disk_below_maximum_raises_event(server: Server) -> None:
    server.set_properties("general", quarantine_max_mb=100_000_000)
    assert forward(server.http, server.url, infected("EPS")).status_code == 201
    assert len(server.events("free_space_below_max")) == 1


def test_sample_larger_than_the_maximum_is_declined(server: Server) -> None:
    server.set_properties("general", quarantine_max_mb=1)
    reply = forward(server.http, server.url, b"x" * (1024 * 1024 + 10))
    assert reply.status_code == 403 and reply.json()["error"] == "declined"
    assert _count(server) == 0


def test_definitions_pull_without_definitions_is_unavailable(server: Server) -> None:
    reply = server.http.get(f"{server.url}/intake/v1/definitions/active", timeout=10)
    assert reply.status_code == 404 and reply.json()["error"] == "unavailable"


def test_confirmation_body_is_validated(server: Server) -> None:
    reply = server.http.post(
        f"{server.url}/intake/v1/confirmations", json={"computer": "PC-1"}, timeout=10
    )
    assert reply.status_code == 400 and reply.json()["error"] == "malformed"


def test_names_outside_latin1_are_stored_as_the_endpoint_meant_them(server: Server) -> None:
    reply = forward(
        server.http, server.url, infected("NAMES"), file_name="日本語-wörm.exe", computer="東京-PC"
    )
    assert reply.status_code == 201, reply.text
    with server.services.work() as session:
        sample = session.get(Sample, reply.json()["id"])
        assert sample is not None
        assert (sample.file_name, sample.computer) == ("日本語-wörm.exe", "東京-PC")
        assert sample.attributes["X-Sample-File"] == "日本語-wörm.exe"


def test_raw_utf8_headers_from_another_client_are_not_garbled(server: Server) -> None:
    headers, body = forward_headers(infected("RAW"), sample_id="q-raw")
    sent: dict[str, str | bytes] = dict(headers)
    sent["X-Sample-File"] = "Ärger-報告.exe".encode()  # not the ext-value our endpoint sends
    reply = server.http.post(f"{server.url}/intake/v1/samples", headers=sent, data=body, timeout=30)
    assert reply.status_code == 201, reply.text
    with server.services.work() as session:
        sample = session.get(Sample, reply.json()["id"])
        assert sample is not None and sample.file_name == "Ärger-報告.exe"


def test_attributes_that_belong_to_the_server_or_the_vendor_are_ignored_from_an_endpoint(
    server: Server,
) -> None:
    claims = {
        "X-Date-Submitted": "2020-01-01T00:00:00Z",
        "X-Date-Finished": "2020-01-02T00:00:00Z",
        "X-Analysis-Cookie": "forged-cookie",
        "X-Analysis-Virus-Name": "Sim.Forged.A",
        "X-Customer-Name": "Someone Else",
    }
    reply = forward(server.http, server.url, infected("CLAIMS"), **claims)
    assert reply.status_code == 201, reply.text
    with server.services.work() as session:
        sample = session.get(Sample, reply.json()["id"])
        assert sample is not None
        assert not set(claims) & set(sample.attributes), sample.attributes
        assert sample.cookie is None and sample.date_submitted is None
        assert sample.attributes["X-Sample-File"] == "report.exe"  # the endpoint's own are kept
