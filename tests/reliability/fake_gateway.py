"""A small vendor gateway for in-process fault tests: it says every submitted sample is infected
and needs set ``needed``, and serves definition sets from a real repository, intact, damaged
or signed by a stranger, as the test asks. Served over loopback TLS by werkzeug."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from flask import Flask, Response, jsonify, request
from werkzeug.serving import BaseWSGIServer, make_server

from dis_core.certs import CertPaths
from dis_core.definitions import DefinitionRepository, SigningKey, build_full
from dis_core.protocol import unpack_sample
from dis_core.tls import server_context
from dis_core.vocabulary.attributes import Message
from tests.support.samples import marker_signature

from .helpers import WHEN


@dataclass
class FakeGateway:
    repo: DefinitionRepository
    key: SigningKey
    needed: int = 2
    mode: str = "good"  # good | corrupt | foreign | down
    submitted: list[str] = field(default_factory=list)
    server: BaseWSGIServer | None = None

    def publish_baseline_and_cure(self) -> None:
        """Set 1 (nothing in it) and set 2 (the marker rule)."""
        self.repo.publish(
            build_full(
                1,
                [],
                certified=True,
                produced=WHEN,
                key=self.key,
                published=WHEN,
                certified_at=WHEN,
            )
        )
        self.repo.publish(
            build_full(
                2,
                [marker_signature("REL", 2)],
                certified=False,
                produced=WHEN,
                key=self.key,
                published=WHEN,
            )
        )

    def app(self) -> Flask:
        app = Flask("reliability_fake_gateway")
        app.add_url_rule("/gateway/v1/samples", view_func=self._submit, methods=["POST"])
        app.add_url_rule("/gateway/v1/samples/<cookie>", view_func=self._status)
        app.add_url_rule(
            "/gateway/v1/definitions/<ref>", view_func=self._definitions, methods=["GET", "HEAD"]
        )
        app.add_url_rule(
            "/gateway/v1/definitions/<int:base>/to/<ref>",
            view_func=self._no_increment,
            methods=["GET", "HEAD"],
        )
        app.before_request(self._maybe_down)
        return app

    def _maybe_down(self) -> Response | None:
        if self.mode == "down":
            return _error(503, "internal")
        return None

    def _submit(self) -> Response:
        message = unpack_sample(
            dict(request.headers), request.get_data(), Message.SUBMIT, max_size=2**24
        )
        self.submitted.append(message.sample_checksum)
        reply = self._final(f"cookie-{len(self.submitted)}")
        reply.status_code = 202
        return reply

    def _status(self, cookie: str) -> Response:
        return self._final(cookie)

    def _final(self, cookie: str) -> Response:
        reply = jsonify({"cookie": cookie, "state": "infected"})
        reply.headers.update(
            {
                "X-Analysis-Cookie": cookie,
                "X-Analysis-State": "infected",
                "X-Date-Analyzed": "2026-01-01T00:00:00Z",
                "X-Signatures-Sequence": str(self.needed),
                "X-Analysis-Virus-Name": "Sim.Test.REL",
                "X-Analysis-Repairable": "yes",
            }
        )
        return reply

    def _definitions(self, ref: str) -> Response:
        sequence = self.repo.resolve(int(ref) if ref.isdigit() else ref)
        package = self._as_served(sequence, self.repo.get(sequence))
        reply = Response(
            b"" if request.method == "HEAD" else package, mimetype="application/octet-stream"
        )
        reply.headers.update(
            {
                "X-Signatures-Sequence": str(sequence),
                "X-Signatures-Kind": "full",
                "X-Signatures-Certified": "no",
            }
        )
        return reply

    def _as_served(self, sequence: int, package: bytes) -> bytes:
        if self.mode == "corrupt":
            damaged = bytearray(package)
            damaged[len(damaged) // 2] ^= 0xFF
            return bytes(damaged)
        if self.mode == "foreign":
            stranger = SigningKey.generate()
            return build_full(
                sequence,
                [marker_signature("REL", sequence)] if sequence >= 2 else [],
                certified=False,
                produced=WHEN,
                key=stranger,
                published=WHEN,
            )
        return package

    def _no_increment(self, base: int, ref: str) -> Response:
        return _error(404, "unavailable")

    def start(self, certs: CertPaths) -> str:
        self.server = make_server(
            "127.0.0.1",
            0,
            self.app(),
            threaded=True,
            ssl_context=server_context(certs.server_cert, certs.server_key),
        )
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"https://127.0.0.1:{self.server.server_port}"

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def _error(status: int, error: str) -> Response:
    reply = jsonify({"error": error, "message": f"fake gateway: {error}"})
    reply.status_code = status
    reply.headers.update({"X-Error": error, "X-Error-Detail": f"fake gateway: {error}"})
    return reply


def repository(root: Path, key: SigningKey) -> DefinitionRepository:
    return DefinitionRepository(root, key.verify_key())
