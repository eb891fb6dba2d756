"""Local CA and certificates, and real TLS handshakes on 127.0.0.1 with dis_core.tls."""

from __future__ import annotations

import ipaddress
import socket
import ssl
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.x509.oid import ExtendedKeyUsageOID

from dis_core.certs import CertPaths, generate
from dis_core.tls import client_context, http_session, proxy_url, server_context


def load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_generate_writes_keys_for_the_owner_only(tmp_path: Path) -> None:
    paths = generate(tmp_path / "new" / "certs")
    assert paths.complete()
    for key in (paths.ca_key, paths.server_key, paths.client_key):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
        assert key.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    for cert in (paths.ca_cert, paths.server_cert, paths.client_cert):
        assert cert.read_text().startswith("-----BEGIN CERTIFICATE-----")


def test_ca_is_a_ca_and_leaves_are_not(certs: CertPaths) -> None:
    ca = load(certs.ca_cert)
    constraints = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca
    assert ca.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign
    for leaf in (load(certs.server_cert), load(certs.client_cert)):
        assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        leaf.verify_directly_issued_by(ca)  # raises if the CA did not sign it


def test_server_certificate_names_localhost_and_loopback(certs: CertPaths) -> None:
    server = load(certs.server_cert)
    sans = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in sans.get_values_for_type(x509.DNSName)
    addresses = sans.get_values_for_type(x509.IPAddress)
    assert ipaddress.ip_address("127.0.0.1") in addresses
    assert ipaddress.ip_address("::1") in addresses
    usage = server.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.SERVER_AUTH in usage


def test_client_certificate_is_for_client_auth(certs: CertPaths) -> None:
    usage = load(certs.client_cert).extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.CLIENT_AUTH]


def test_other_ca_did_not_sign_our_server(certs: CertPaths, other_certs: CertPaths) -> None:
    with pytest.raises(InvalidSignature):  # same CA name, different key
        load(certs.server_cert).verify_directly_issued_by(load(other_certs.ca_cert))


def test_partial_set_is_regenerated_whole(tmp_path: Path) -> None:
    paths = generate(tmp_path)
    old_ca = paths.ca_cert.read_bytes()
    paths.client_key.unlink()
    generate(tmp_path)
    assert paths.complete()
    assert paths.ca_cert.read_bytes() != old_ca
    load(paths.client_cert).verify_directly_issued_by(load(paths.ca_cert))


@contextmanager
def tls_echo_server(context: ssl.SSLContext) -> Iterator[tuple[int, list[BaseException]]]:
    """A one-connection TLS echo server on 127.0.0.1; server-side failures land in the list."""
    errors: list[BaseException] = []
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)

    def serve() -> None:
        try:
            raw, _ = listener.accept()
            with context.wrap_socket(raw, server_side=True) as conn:
                conn.sendall(b"echo:" + conn.recv(1024))
        except (OSError, ssl.SSLError) as exc:
            errors.append(exc)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1], errors
    finally:
        thread.join(10)
        listener.close()


def talk(port: int, context: ssl.SSLContext, hostname: str = "localhost") -> bytes:
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=hostname) as conn,
    ):
        conn.sendall(b"ping")
        return conn.recv(1024)


@pytest.mark.parametrize("hostname", ["localhost", "127.0.0.1"])
def test_handshake_verifies_the_server(certs: CertPaths, hostname: str) -> None:
    with tls_echo_server(server_context(certs.server_cert, certs.server_key)) as (port, errors):
        assert talk(port, client_context(certs.ca_cert), hostname) == b"echo:ping"
    assert errors == []


def test_handshake_fails_against_a_wrong_ca(certs: CertPaths, other_certs: CertPaths) -> None:
    with (
        tls_echo_server(server_context(certs.server_cert, certs.server_key)) as (port, errors),
        pytest.raises(ssl.SSLCertVerificationError, match="certificate verify failed"),
    ):
        talk(port, client_context(other_certs.ca_cert))
    assert errors  # the server saw the client abort the handshake


def test_handshake_fails_for_a_name_not_in_the_certificate(certs: CertPaths) -> None:
    with (
        tls_echo_server(server_context(certs.server_cert, certs.server_key)) as (port, _),
        pytest.raises(ssl.SSLCertVerificationError, match="mismatch"),
    ):
        talk(port, client_context(certs.ca_cert), "gateway.example")


def test_client_context_never_skips_verification(certs: CertPaths) -> None:
    context = client_context(certs.ca_cert)
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname
    assert context.minimum_version >= ssl.TLSVersion.TLSv1_2


def test_required_client_certificate_is_accepted(certs: CertPaths) -> None:
    server = server_context(
        certs.server_cert, certs.server_key, certs.ca_cert, require_client_cert=True
    )
    client = client_context(certs.ca_cert, certs.client_cert, certs.client_key)
    with tls_echo_server(server) as (port, errors):
        assert talk(port, client) == b"echo:ping"
    assert errors == []


def refused(port: int, context: ssl.SSLContext) -> bool:
    """True when the server turned the client away (TLS 1.3 tells the client on its first read)."""
    try:
        return talk(port, context) == b""
    except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
        return True


def test_required_client_certificate_refuses_a_client_without_one(certs: CertPaths) -> None:
    server = server_context(
        certs.server_cert, certs.server_key, certs.ca_cert, require_client_cert=True
    )
    with tls_echo_server(server) as (port, errors):
        assert refused(port, client_context(certs.ca_cert))
    assert len(errors) == 1 and isinstance(errors[0], ssl.SSLError)
    assert "did not return a certificate" in str(errors[0])


def test_required_client_certificate_refuses_one_from_another_ca(
    certs: CertPaths, other_certs: CertPaths
) -> None:
    server = server_context(
        certs.server_cert, certs.server_key, certs.ca_cert, require_client_cert=True
    )
    stranger = client_context(certs.ca_cert, other_certs.client_cert, other_certs.client_key)
    with tls_echo_server(server) as (port, errors):
        assert refused(port, stranger)
    assert len(errors) == 1 and isinstance(errors[0], ssl.SSLError)
    assert "certificate verify failed" in str(errors[0])


class _Hello(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        body = b"hello over tls"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass  # keep test output quiet


@contextmanager
def https_server(context: ssl.SSLContext) -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
def test_requests_session_verifies_a_real_https_server(certs: CertPaths, host: str) -> None:
    with (
        https_server(server_context(certs.server_cert, certs.server_key)) as port,
        http_session(certs.ca_cert) as session,
    ):
        reply = session.get(f"https://{host}:{port}/", timeout=10)
    assert reply.status_code == 200 and reply.text == "hello over tls"


def test_requests_session_refuses_a_server_from_another_ca(
    certs: CertPaths, other_certs: CertPaths
) -> None:
    with (
        https_server(server_context(certs.server_cert, certs.server_key)) as port,
        http_session(other_certs.ca_cert) as session,
        pytest.raises(requests.exceptions.SSLError),
    ):
        session.get(f"https://127.0.0.1:{port}/", timeout=10)


def test_requests_session_presents_its_client_certificate(certs: CertPaths) -> None:
    server = server_context(
        certs.server_cert, certs.server_key, certs.ca_cert, require_client_cert=True
    )
    with https_server(server) as port:
        with http_session(
            certs.ca_cert, client_cert=certs.client_cert, client_key=certs.client_key
        ) as session:
            assert session.get(f"https://localhost:{port}/", timeout=10).status_code == 200
        with (
            http_session(certs.ca_cert) as session,
            pytest.raises(requests.exceptions.RequestException),
        ):
            session.get(f"https://localhost:{port}/", timeout=10)


def test_http_session_settings(certs: CertPaths) -> None:
    with http_session(certs.ca_cert, proxy="http://127.0.0.1:3128") as session:
        assert session.verify == str(certs.ca_cert)
        assert session.trust_env is False
        assert session.proxies == {
            "https": "http://127.0.0.1:3128",
            "http": "http://127.0.0.1:3128",
        }
        assert session.cert is None


def test_proxy_url_quotes_credentials() -> None:
    assert proxy_url("127.0.0.1", 3128) == "http://127.0.0.1:3128"
    assert (
        proxy_url("127.0.0.1", 3128, "us er", "p@ss:w/rd")
        == "http://us%20er:p%40ss%3Aw%2Frd@127.0.0.1:3128"
    )
