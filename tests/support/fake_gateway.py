"""The one fake vendor gateway of the tests (a fake, not a mock).

It speaks the gateway's HTTP contract (docs/protocol.md): it unpacks each submitted sample with
the shared protocol code and answers it as the test's Script for that checksum says, and it
serves full and incremental definition sets from a real, signed repository (Vendor), intact,
damaged or signed by a stranger's key, as the test asks. Serve it on loopback TLS with
``tests.support.servers.serve(gateway.app(), certs)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from flask import Flask, Response, jsonify, request

from dis_core.definitions import (
    DefinitionError,
    DefinitionRepository,
    Signature,
    SigningKey,
    build_full,
)
from dis_core.protocol import unpack_sample
from dis_core.vocabulary import SampleError
from dis_core.vocabulary.attributes import Message
from dis_core.vocabulary.state import FINAL_STATES
from tests.support.samples import WHEN, marker_signature


class Vendor:
    """The vendor's published definitions (a real DefinitionRepository with real signatures)."""

    def __init__(self, root: Path, key: SigningKey) -> None:
        self.key = key
        self.repo = DefinitionRepository(root, key.verify_key())
        self.signatures: list[Signature] = []

    @classmethod
    def of_backoffice(cls, data_dir: Path) -> Vendor:
        """Publishing where the back office does, with a new key saved where it keeps its own,
        so that a gateway on ``data_dir`` serves and verifies these sets."""
        keys = data_dir / "backoffice" / "keys"
        keys.mkdir(parents=True, exist_ok=True)
        key = SigningKey.generate()
        key.save(keys / "signing.key")
        key.verify_key().save(keys / "signing.pub")
        return cls(data_dir / "backoffice" / "published", key)

    def publish(self, *markers: str, certified: bool = False, repairable: bool = True) -> int:
        """The next set: every signature so far plus one marker signature per ``markers``."""
        sequence = self.repo.next_sequence()
        self.signatures += [marker_signature(m, sequence, repairable=repairable) for m in markers]
        return self._publish(sequence, list(self.signatures), certified)

    def publish_set(self, signatures: list[Signature], *, certified: bool) -> int:
        """The next set with exactly ``signatures``."""
        return self._publish(self.repo.next_sequence(), signatures, certified)

    def _publish(self, sequence: int, signatures: list[Signature], certified: bool) -> int:
        # next_sequence() reserves the number it gives, so each set asks for it exactly once
        package = build_full(
            sequence,
            signatures,
            certified=certified,
            produced=WHEN,
            key=self.key,
            published=WHEN,
            certified_at=WHEN if certified else None,
        )
        self.repo.publish(package)
        return sequence

    def package(self, sequence: int) -> bytes:
        return self.repo.get(sequence)


@dataclass
class Script:
    """What the fake gateway answers for one sample checksum: states in order, then extras."""

    states: list[str]
    sequence: int = 0
    virus: str = ""
    error: str = ""
    repairable: bool = True


# a sample without a script: analysed by the back office and found clean
UNSCRIPTED = ("accepted", "importing", "imported", "uninfected")
# scripts may name states that do not exist (a nonsense reply): a plain set of names
FINAL = {s.value for s in FINAL_STATES}


@dataclass
class FakeGateway:
    vendor: Vendor
    scripts: dict[str, Script] = field(default_factory=dict)
    submissions: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    refuse_submit: tuple[int, str] | None = None
    cookies: dict[str, str] = field(default_factory=dict)
    position: dict[str, int] = field(default_factory=dict)
    requests_seen: list[str] = field(default_factory=list)
    corrupt: set[int] = field(default_factory=set)  # sequences served with a flipped byte
    foreign: set[int] = field(default_factory=set)  # sequences a stranger signed, whole only
    corrupt_increments: bool = False

    def app(self) -> Flask:
        app = Flask("fake_gateway")
        app.add_url_rule("/gateway/v1/samples", view_func=self.submit, methods=["POST"])
        app.add_url_rule("/gateway/v1/samples/<cookie>", view_func=self.status, methods=["GET"])
        app.add_url_rule(
            "/gateway/v1/definitions/<ref>", view_func=self.definitions, methods=["GET", "HEAD"]
        )
        app.add_url_rule(
            "/gateway/v1/definitions/<int:base>/to/<int:target>",
            view_func=self.incremental,
            methods=["GET"],
        )
        return app

    # --- samples ---------------------------------------------------------------------------
    def submit(self) -> Response:
        self.requests_seen.append("submit")
        if self.refuse_submit:
            return _error(*self.refuse_submit)
        message = unpack_sample(
            dict(request.headers), request.get_data(), Message.SUBMIT, max_size=2**24
        )
        self.submissions.append((dict(request.headers), message.content))
        checksum = message.sample_checksum
        cookie = f"c{len(self.submissions):04d}"
        self.cookies[cookie] = checksum
        self.position[checksum] = 0
        response = self._state_reply(cookie, checksum)
        response.status_code = 202
        return response

    def status(self, cookie: str) -> Response:
        self.requests_seen.append(f"status {cookie}")
        if cookie not in self.cookies:
            return _error(404, "crumbled")
        return self._state_reply(cookie, self.cookies[cookie])

    def _state_reply(self, cookie: str, checksum: str) -> Response:
        script = self.scripts.get(checksum, Script(list(UNSCRIPTED)))
        index = min(self.position.get(checksum, 0), len(script.states) - 1)
        self.position[checksum] = index + 1
        state = script.states[index]
        response = jsonify({"cookie": cookie, "state": state})
        response.headers["X-Analysis-Cookie"] = cookie
        response.headers["X-Analysis-State"] = state
        if index == len(script.states) - 1 and state in FINAL:
            response.headers["X-Date-Analyzed"] = "2026-01-01T00:00:00Z"
            response.headers["X-Signatures-Sequence"] = str(script.sequence)
            response.headers["X-Analysis-Repairable"] = "yes" if script.repairable else "no"
            if script.virus:
                response.headers["X-Analysis-Virus-Name"] = script.virus
            if script.error:
                response.headers["X-Error"] = script.error
        return response

    # --- definitions -----------------------------------------------------------------------
    def definitions(self, ref: str) -> Response:
        self.requests_seen.append(f"{request.method} definitions {ref}")
        try:
            sequence = self.vendor.repo.resolve(int(ref) if ref.isdigit() else ref)
            package = self._full(sequence)
        except DefinitionError as exc:
            gone = exc.error.value in {"superseded", "abandoned"}
            return _error(410 if gone else 404, exc.error.value)
        response = Response(
            b"" if request.method == "HEAD" else package, mimetype="application/octet-stream"
        )
        response.headers["X-Signatures-Sequence"] = str(sequence)
        response.headers["X-Signatures-Kind"] = "full"
        certified = self.vendor.repo.load(sequence).certified
        response.headers["X-Signatures-Certified"] = "yes" if certified else "no"
        return response

    def incremental(self, base: int, target: int) -> Response:
        self.requests_seen.append(f"increment {base}->{target}")
        try:
            package = self._increment(base, target)
        except DefinitionError as exc:
            return _error(404, exc.error.value)
        return Response(package, mimetype="application/octet-stream")

    def _full(self, sequence: int) -> bytes:
        if sequence in self.foreign:
            return _resigned(self.vendor.repo, sequence)
        package = self.vendor.repo.get(sequence)
        return _flipped(package) if sequence in self.corrupt else package

    def _increment(self, base: int, target: int) -> bytes:
        if target in self.foreign:
            # the stranger's set comes whole only, so a client falling back from the
            # increment to the full set meets it either way
            raise DefinitionError(SampleError.UNAVAILABLE, f"no increment to {target}")
        package = self.vendor.repo.incremental(base, target)
        damaged = target in self.corrupt or self.corrupt_increments
        return _flipped(package) if damaged else package


def _error(status: int, error: str) -> Response:
    response = jsonify({"error": error, "message": f"fake gateway says {error}"})
    response.status_code = status
    response.headers["X-Error"] = error
    response.headers["X-Error-Detail"] = f"fake gateway says {error}"
    return response


def _flipped(package: bytes) -> bytes:
    damaged = bytearray(package)
    damaged[len(damaged) // 2] ^= 0xFF
    return bytes(damaged)


def _resigned(repo: DefinitionRepository, sequence: int) -> bytes:
    """The published set ``sequence`` as a stranger would sign it: well formed, not authentic."""
    published = repo.load(sequence)
    return build_full(
        sequence,
        published.signatures,
        certified=published.certified,
        produced=published.produced,
        key=SigningKey.generate(),
        published=published.published,
        certified_at=published.certified_at,
    )
