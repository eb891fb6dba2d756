"""The endpoint's Defcast listener: a small TLS web server the Quarantine Server pushes to.

``GET /defcast/v1/sequence`` tells the server which definitions are installed here;
``POST /defcast/v1/definitions`` hands over a signed full package, which is verified and
installed atomically before the answer. Repairing the quarantined files and confirming to
the server happen after the answer, on the endpoint's own thread, so a server that waits
for the answer is never waiting on its own confirmation.
"""

from __future__ import annotations

import logging
import ssl
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from flask import Blueprint, Flask, Response, current_app, jsonify, request
from werkzeug.serving import BaseWSGIServer, make_server

from dis_core.certs import CertPaths, issue
from dis_core.files import write_atomic
from dis_core.tls import server_context

log = logging.getLogger(__name__)
MAX_PACKAGE_BYTES = 64 * 2**20


@dataclass(frozen=True)
class InstallReply:
    """What an install attempt gives back to the pushing server."""

    installed: bool
    sequence: int
    error: str = ""
    message: str = ""
    http_status: int = 200


class DefcastReceiver(Protocol):
    """What the listener needs from its endpoint."""

    @property
    def computer(self) -> str: ...

    def active_sequence(self) -> int: ...

    def receive_definitions(self, package: bytes) -> InstallReply: ...


blueprint = Blueprint("defcast", __name__, url_prefix="/defcast/v1")


def _receiver() -> DefcastReceiver:
    receiver: DefcastReceiver = current_app.config["DEFCAST_RECEIVER"]
    return receiver


@blueprint.get("/sequence")
def sequence() -> Response:
    receiver = _receiver()
    return jsonify({"computer": receiver.computer, "sequence": receiver.active_sequence()})


@blueprint.post("/definitions")
def definitions() -> tuple[Response, int]:
    length = request.content_length
    if length is None or length > MAX_PACKAGE_BYTES:
        return _refuse(
            411 if length is None else 413,
            "malformed",
            "a package needs a Content-Length of at most 64 MB",
        )
    package = request.get_data(cache=False)
    if len(package) != length:
        return _refuse(400, "underrun", f"{len(package)} bytes received, {length} declared")
    reply = _receiver().receive_definitions(package)
    if not reply.installed:
        return _refuse(reply.http_status, reply.error, reply.message)
    return jsonify({"installed": True, "sequence": reply.sequence}), 200


def _refuse(status: int, error: str, message: str) -> tuple[Response, int]:
    return jsonify({"installed": False, "error": error, "message": message}), status


def create_app(receiver: DefcastReceiver) -> Flask:
    """The Defcast web application of one endpoint."""
    app = Flask(f"defcast-{receiver.computer}")
    app.config["DEFCAST_RECEIVER"] = receiver
    app.config["MAX_CONTENT_LENGTH"] = MAX_PACKAGE_BYTES
    app.register_blueprint(blueprint)
    app.register_error_handler(
        404, lambda e: (jsonify({"error": "unknown", "message": str(e)}), 404)
    )
    app.register_error_handler(
        405, lambda e: (jsonify({"error": "method", "message": str(e)}), 405)
    )
    app.register_error_handler(
        413, lambda e: _refuse(413, "malformed", "package larger than 64 MB")
    )
    return app


def listener_certificate(
    certs_dir: Path, cert: Path, key: Path, computer: str, host: str
) -> tuple[Path, Path]:
    """A server certificate for this endpoint's listener, issued by the local CA.

    With the CA key at hand each endpoint gets its own certificate (named after the
    computer); without it the installation's shared server certificate is used.
    """
    paths = CertPaths(certs_dir)
    if not paths.ca_cert.exists():
        raise FileNotFoundError(f"{paths.ca_cert}: no local CA; run 'dis certs' first")
    if not paths.ca_key.exists():
        return paths.server_cert, paths.server_key
    ca_cert = x509.load_pem_x509_certificate(paths.ca_cert.read_bytes())
    if cert.exists() and key.exists() and _issued_by(cert, ca_cert):
        return cert, key
    ca_key = serialization.load_pem_private_key(paths.ca_key.read_bytes(), password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{paths.ca_key}: the local CA key is not an EC key")
    leaf, leaf_key = issue(
        ca_cert,
        ca_key,
        computer,
        server=True,
        hosts=tuple(dict.fromkeys((host, "127.0.0.1", "localhost"))),
    )
    key_pem = leaf_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    write_atomic(key, key_pem, 0o600)
    write_atomic(cert, leaf.public_bytes(serialization.Encoding.PEM), 0o644)
    return cert, key


def _issued_by(cert_path: Path, ca_cert: x509.Certificate) -> bool:
    try:
        leaf = x509.load_pem_x509_certificate(cert_path.read_bytes())
        leaf.verify_directly_issued_by(ca_cert)
    except Exception:  # any doubt (unreadable, other CA, bad signature): issue a fresh one
        return False
    return True


class DefcastListener:
    """A threaded TLS server running the Defcast app in a background thread."""

    def __init__(self, app: Flask, host: str, port: int, context: ssl.SSLContext) -> None:
        self._server: BaseWSGIServer = make_server(
            host, port, app, threaded=True, ssl_context=context
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=f"defcast-{port}", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_port)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def start_listener(
    receiver: DefcastReceiver, host: str, port: int, cert: Path, key: Path
) -> DefcastListener:
    listener = DefcastListener(create_app(receiver), host, port, server_context(cert, key))
    listener.start()
    log.info("Defcast listener of %s on https://%s:%d", receiver.computer, host, listener.port)
    return listener
