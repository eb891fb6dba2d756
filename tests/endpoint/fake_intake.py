"""A small, real Quarantine Server intake for endpoint tests (a fake, not a mock).

It speaks the intake half of docs/protocol.md over TLS on loopback: it unpacks and checks
forwarded samples with the shared protocol code, keeps them by sample checksum and
computer, serves an 'active' definition package, records confirmations, and can push a
package to an endpoint's Defcast listener the way the real server does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from flask import Flask, Response, jsonify, request

from dis_core.certs import CertPaths
from dis_core.definitions.model import Package
from dis_core.protocol import ProtocolError, unpack_sample
from dis_core.tls import http_session
from dis_core.vocabulary.attributes import Message
from tests.support.servers import Running, serve


@dataclass
class HeldSample:
    id: str
    attributes: dict[str, Any]
    content: bytes
    status: str = "quarantined"


@dataclass
class IntakeState:
    samples: list[HeldSample] = field(default_factory=list)
    confirmations: list[dict[str, Any]] = field(default_factory=list)
    active_package: Package | None = None
    failures: list[str] = field(default_factory=list)

    def by_key(self, checksum: str, item_id: str, computer: str) -> HeldSample | None:
        """A resend: the same content, endpoint item id and computer (as the real server)."""
        for sample in self.samples:
            attrs = sample.attributes
            key = (attrs["X-Sample-Checksum"], attrs["X-Sample-Id"], attrs["X-Platform-Computer"])
            if key == (checksum, item_id, computer):
                return sample
        return None


def create_app(state: IntakeState) -> Flask:
    app = Flask("fake-intake")

    @app.post("/intake/v1/samples")
    def samples() -> tuple[Response, int]:
        try:
            message = unpack_sample(
                dict(request.headers), request.get_data(), Message.FORWARD, max_size=2**24
            )
        except ProtocolError as exc:
            state.failures.append(exc.error.value)
            return jsonify(exc.as_json()), exc.http_status
        attrs = message.attributes
        held = state.by_key(
            message.sample_checksum, attrs["X-Sample-Id"], attrs["X-Platform-Computer"]
        )
        if held is not None:
            return jsonify({"id": held.id, "status": held.status}), 200
        held = HeldSample(str(len(state.samples) + 1), message.attributes, message.content)
        state.samples.append(held)
        return jsonify({"id": held.id, "status": held.status}), 201

    @app.post("/intake/v1/confirmations")
    def confirmations() -> tuple[Response, int]:
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not {"computer", "sequence", "results"} <= set(body):
            return jsonify(
                {"error": "malformed", "message": "computer, sequence, results needed"}
            ), 400
        state.confirmations.append(body)
        answers = [_apply(state, body["computer"], result) for result in body["results"]]
        return jsonify(
            {"computer": body["computer"], "sequence": body["sequence"], "results": answers}
        ), 200

    @app.get("/intake/v1/definitions/active")
    def active() -> tuple[Response, int]:
        if state.active_package is None:
            return jsonify({"error": "unavailable", "message": "no definitions"}), 404
        package = state.active_package
        reply = Response(package.data, mimetype="application/octet-stream")
        reply.headers.update(package.headers())  # as the real server sends it
        return reply, 200

    return app


DELIVERED = ("distribute", "distributed", "available", "not installed")


def _apply(state: IntakeState, computer: str, result: dict[str, Any]) -> dict[str, Any]:
    """Like the real server: only a delivered sample of that computer takes a confirmation."""
    held = next((s for s in state.samples if s.id == str(result["sample_id"])), None)
    if held is None or held.attributes["X-Platform-Computer"] != computer:
        return {
            "sample_id": result["sample_id"],
            "applied": False,
            "reason": "no such sample from this computer",
        }
    if held.status not in DELIVERED:
        return {
            "sample_id": held.id,
            "applied": False,
            "reason": f"status {held.status} takes no confirmation",
        }
    ok = result["outcome"] in ("repaired", "restored")
    held.status = "installed" if ok else "not installed"
    return {"sample_id": held.id, "applied": True, "status": held.status}


class FakeIntake:
    """The fake server on 127.0.0.1 (TLS); ``stop()`` and ``start()`` simulate an outage."""

    def __init__(self, certs: Path, port: int = 0) -> None:
        self.certs = certs
        self.state = IntakeState()
        self.port = port
        self._running: Running | None = None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def start(self) -> FakeIntake:
        self._running = serve(create_app(self.state), CertPaths(self.certs), self.port)
        self.port = self._running.port  # a restart comes back on the same port
        return self

    def stop(self) -> None:
        if self._running is not None:
            self._running.stop()
            self._running = None

    def deliver(self, status: str = "distributed") -> None:
        """Mark every held sample as the real server does when it delivers a set."""
        for sample in self.state.samples:
            sample.status = status

    def push(self, address: str, port: int, package: bytes) -> requests.Response:
        """Deliver a package to an endpoint's Defcast listener, verifying its certificate."""
        with http_session(self.certs / "ca.pem") as session:
            return session.post(
                f"https://{address}:{port}/defcast/v1/definitions", data=package, timeout=30
            )

    def ask_sequence(self, address: str, port: int) -> dict[str, Any]:
        with http_session(self.certs / "ca.pem") as session:
            reply = session.get(f"https://{address}:{port}/defcast/v1/sequence", timeout=10)
            reply.raise_for_status()
            data: dict[str, Any] = reply.json()
            return data
