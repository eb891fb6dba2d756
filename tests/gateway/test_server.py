"""The real gateway: gunicorn over TLS on 127.0.0.1, with verifying clients (curl, openssl, requests)."""

from __future__ import annotations

import hashlib
import json
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from backoffice.store.database import BackOfficeStore
from backoffice.store.models import Analysis
from dis_core.config import load_config
from dis_core.tls import client_context, http_session
from tests.support.fake_gateway import Vendor
from tests.support.gateway_client import GatewayClient, GatewayError, GatewayUnreachable
from tests.support.samples import host_program, marker_signature

from .helpers import packed, submit_attributes
from .server_process import ADMIN_TOKEN, DIS, RunningGateway, start_gateway


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningGateway]:
    running = start_gateway(tmp_path_factory.mktemp("gw") / "data")
    yield running
    running.stop()


@pytest.fixture(scope="module")
def publisher(gateway: RunningGateway) -> Vendor:
    """One signing key for the module's gateway, as the back office keeps one."""
    return Vendor.of_backoffice(gateway.data_dir)


@pytest.fixture
def client(gateway: RunningGateway) -> GatewayClient:
    return GatewayClient(gateway.base_url, http_session(gateway.ca), timeout_s=15)


@pytest.fixture
def admin(gateway: RunningGateway) -> Iterator[requests.Session]:
    session = http_session(gateway.ca)
    session.headers.update(gateway.admin)
    yield session
    session.delete(f"{gateway.base_url}/gateway/admin/v1/faults")


def submissions(gateway: RunningGateway, admin: requests.Session, cookie: str) -> list[dict]:  # type: ignore[type-arg]
    reply = admin.get(f"{gateway.base_url}/gateway/admin/v1/submissions", params={"cookie": cookie})
    return list(reply.json()["submissions"])


def test_submit_status_and_duplicate_over_verified_tls(
    gateway: RunningGateway, client: GatewayClient
) -> None:
    content = host_program("real-server")
    first = client.submit(content, submit_attributes())
    assert first.http_status == 202 and first.state is not None and first.state.value == "imported"
    assert first.cookie is not None
    second = client.submit(content, submit_attributes())
    assert second.cookie == first.cookie and second.filter == "piggyback"
    assert client.status(first.cookie).cookie == first.cookie
    store = BackOfficeStore.open(
        load_config(environ={}, overrides={"general": {"data_dir": str(gateway.data_dir)}})
    )
    try:
        with store.sessions() as session:
            count = session.scalar(
                select(func.count(Analysis.id)).where(Analysis.cookie == first.cookie)
            )
        assert count == 1  # one analysis for both submissions
    finally:
        store.close()


def test_curl_with_the_ca(gateway: RunningGateway, client: GatewayClient) -> None:
    cookie = client.submit(host_program("curl"), submit_attributes()).cookie
    result = subprocess.run(
        ["curl", "-sS", "-i", "--cacert", str(gateway.ca), f"{gateway.base_url}/gateway/v1/samples/{cookie}"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "HTTP/1.1 200" in result.stdout and f"X-Analysis-Cookie: {cookie}" in result.stdout


def test_curl_head_of_definitions(gateway: RunningGateway, publisher: Vendor) -> None:
    publisher.publish_set([marker_signature("APPENDED", 1)], certified=True)
    result = subprocess.run(
        ["curl", "-sS", "-I", "--cacert", str(gateway.ca), f"{gateway.base_url}/gateway/v1/definitions/certified"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "X-Signatures-Certified: yes" in result.stdout


def test_curl_without_the_ca_is_refused(gateway: RunningGateway) -> None:
    result = subprocess.run(
        ["curl", "-sS", f"{gateway.base_url}/gateway/health"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 60, result  # 60: peer certificate cannot be authenticated


def test_openssl_s_client_verifies_the_certificate(gateway: RunningGateway) -> None:
    base = [
        "openssl",
        "s_client",
        "-connect",
        f"127.0.0.1:{gateway.port}",
        "-verify_return_error",
        "-verify_ip",
        "127.0.0.1",
        "-brief",
    ]
    good = subprocess.run(
        [*base, "-CAfile", str(gateway.ca)],
        input="",
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert good.returncode == 0, good.stderr
    assert "Verification: OK" in good.stderr
    bad = subprocess.run(base, input="", capture_output=True, text=True, timeout=30, check=False)
    assert bad.returncode != 0
    assert "verify error" in bad.stderr.lower() or "certificate verify failed" in bad.stderr.lower()


def test_requests_without_the_ca_is_refused(gateway: RunningGateway) -> None:
    session = requests.Session()
    session.trust_env = False
    with pytest.raises(requests.exceptions.SSLError):
        session.get(f"{gateway.base_url}/gateway/health", timeout=10)


def test_transfer_broken_off_half_way_is_recorded_lost(
    gateway: RunningGateway, admin: requests.Session
) -> None:
    headers, body = packed(host_program("half-way", 20000) + bytes(range(256)) * 40)
    head = ["POST /gateway/v1/samples HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}"]
    head += [f"{k}: {v}" for k, v in headers.items()]
    raw_submission(gateway, head, body[: len(body) // 2])  # then the connection closes
    row = wait_for_state(gateway, admin, headers["X-Sample-Checksum"])
    assert row["state"] == "error" and row["error"] == "lost"
    assert [h["after"] for h in row["history"]] == ["receiving", "error"]


def test_refuse_connections_fault(
    gateway: RunningGateway, client: GatewayClient, admin: requests.Session
) -> None:
    assert (
        admin.put(
            f"{gateway.base_url}/gateway/admin/v1/faults", json={"refuse_connections": True}
        ).status_code
        == 200
    )
    with pytest.raises(GatewayUnreachable):
        client.status("gw-anything")
    with pytest.raises(GatewayUnreachable):
        client.submit(host_program("refused"), submit_attributes())
    admin.delete(f"{gateway.base_url}/gateway/admin/v1/faults")
    with pytest.raises(GatewayError) as crumbled:
        client.status("gw-anything")
    assert crumbled.value.error.value == "crumbled"


def test_drop_transfers_fault(
    gateway: RunningGateway, client: GatewayClient, admin: requests.Session, publisher: Vendor
) -> None:
    publisher.publish_set([marker_signature("APPENDED", 1)], certified=True)
    admin.put(f"{gateway.base_url}/gateway/admin/v1/faults", json={"drop_transfers": True})
    content = host_program("dropped", 30000) + bytes(range(256)) * 100
    with pytest.raises((GatewayUnreachable, GatewayError)):
        client.submit(content, submit_attributes())
    with pytest.raises(GatewayError) as download:
        client.definitions("newest")
    assert download.value.error.value == "lost"
    admin.delete(f"{gateway.base_url}/gateway/admin/v1/faults")
    reply = client.status_by_checksum(hashlib.sha256(content).hexdigest())
    assert (
        reply.state is not None
        and reply.state.value == "error"
        and reply.error is not None
        and reply.error.value == "lost"
    )


def test_client_certificate_required(tmp_path: Path) -> None:
    running = start_gateway(tmp_path / "data", require_client_cert="true")
    try:
        certs = running.data_dir / "certs"
        anonymous = http_session(running.ca)
        with pytest.raises(requests.exceptions.ConnectionError):
            anonymous.get(f"{running.base_url}/gateway/health", timeout=10)
        known = http_session(
            running.ca, client_cert=certs / "client.pem", client_key=certs / "client.key"
        )
        assert known.get(f"{running.base_url}/gateway/health", timeout=10).status_code == 200
    finally:
        running.stop()


def test_dis_gateway_token_prints_the_generated_token(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(DIS), "--data-dir", str(tmp_path), "gateway", "token"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (tmp_path / "gateway" / "admin.token").read_text().strip()


def test_dis_gateway_without_certificates_fails_readably(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(DIS), "--data-dir", str(tmp_path), "gateway", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "run 'dis certs' first" in result.stderr


def test_curl_switches_a_fault_with_the_admin_token(gateway: RunningGateway) -> None:
    url = f"{gateway.base_url}/gateway/admin/v1/faults"
    command = [
        "curl",
        "-sS",
        "--cacert",
        str(gateway.ca),
        "-X",
        "PUT",
        "-H",
        "Content-Type: application/json",
    ]
    authorised = [*command, "-H", f"Authorization: Bearer {ADMIN_TOKEN}"]
    try:
        result = subprocess.run(
            [*authorised, "-d", '{"delay_s": 0.2}', url],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert result.returncode == 0 and json.loads(result.stdout)["faults"]["delay_s"] == 0.2
        refused = subprocess.run(
            [*command, "-d", "{}", "-w", "%{http_code}", "-o", "/dev/null", url],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert refused.stdout == "401"
    finally:
        subprocess.run(
            [*authorised, "-X", "DELETE", url], capture_output=True, timeout=30, check=False
        )


def test_concurrent_duplicates_share_one_cookie_and_one_analysis(
    gateway: RunningGateway, client: GatewayClient
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    content = host_program("concurrent", 3000)
    with ThreadPoolExecutor(max_workers=4) as pool:
        replies = list(pool.map(lambda _: client.submit(content, submit_attributes()), range(4)))
    cookies = {reply.cookie for reply in replies}
    assert len(cookies) == 1
    assert sorted(reply.filter or "" for reply in replies).count("backoffice") == 1
    store = BackOfficeStore.open(
        load_config(environ={}, overrides={"general": {"data_dir": str(gateway.data_dir)}})
    )
    try:
        with store.sessions() as session:
            count = session.scalar(
                select(func.count(Analysis.id)).where(Analysis.cookie == cookies.pop())
            )
        assert count == 1
    finally:
        store.close()


def raw_submission(gateway: RunningGateway, head: list[str], payload: bytes) -> None:
    """Send a request by hand over verified TLS, then close the connection."""
    raw = ("\r\n".join(head) + "\r\n\r\n").encode() + payload
    context = client_context(gateway.ca)
    with (
        socket.create_connection(("127.0.0.1", gateway.port), timeout=10) as plain,
        context.wrap_socket(plain, server_hostname="127.0.0.1") as tls,
    ):
        tls.sendall(raw)


def wait_for_state(gateway: RunningGateway, admin: requests.Session, checksum: str) -> dict:  # type: ignore[type-arg]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        rows = admin.get(
            f"{gateway.base_url}/gateway/admin/v1/submissions", params={"checksum": checksum}
        ).json()["submissions"]
        if rows and rows[0]["state"] not in ("receiving", "accepted"):
            return dict(rows[0])
        time.sleep(0.1)
    raise AssertionError("no settled submission appeared")


def test_chunked_upload_is_accepted(gateway: RunningGateway) -> None:
    headers, body = packed(host_program("chunked", 9000))
    session = http_session(gateway.ca)
    pieces = iter([body[:100], body[100:]])  # a generator body makes requests send it chunked
    reply = session.post(
        f"{gateway.base_url}/gateway/v1/samples", headers=headers, data=pieces, timeout=15
    )
    assert reply.status_code == 202, reply.text


def test_chunked_upload_broken_off_is_lost(
    gateway: RunningGateway, admin: requests.Session
) -> None:
    headers, body = packed(host_program("chunked-lost", 9000))
    head = ["POST /gateway/v1/samples HTTP/1.1", "Host: 127.0.0.1", "Transfer-Encoding: chunked"]
    head += [f"{k}: {v}" for k, v in headers.items()]
    first = body[: len(body) // 2]
    raw_submission(gateway, head, f"{len(first):x}\r\n".encode() + first + b"\r\n")
    row = wait_for_state(gateway, admin, headers["X-Sample-Checksum"])
    assert row["state"] == "error" and row["error"] == "lost"
