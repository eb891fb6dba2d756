"""The protocol blueprint: submit, status, definition sets (see docs/gateway.md)."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Response, current_app, request
from sqlalchemy import select
from sqlalchemy.orm import Session

from dis_core.db import unit_of_work
from dis_core.protocol import ProtocolError
from dis_core.vocabulary import SampleError
from dis_core.vocabulary.attributes import ATTRIBUTES, AttributeProblem
from gateway_sim import tracking
from gateway_sim.catalog import Package, parse_ref
from gateway_sim.desk import SubmissionDesk
from gateway_sim.faults import Faults
from gateway_sim.models import Submission
from gateway_sim.replies import error_reply, status_reply
from gateway_sim.services import GatewayServices
from gateway_sim.transfer import cut_connection

log = logging.getLogger(__name__)
api = Blueprint("gateway_api", __name__, url_prefix="/gateway/v1")


def services() -> GatewayServices:
    found: GatewayServices = current_app.extensions["gateway"]
    return found


@api.before_request
def inject_faults() -> Response | None:
    """Faults that hit every protocol request: refuse, delay, internal errors (submit records its own)."""
    faults = services().faults.current()
    if faults.refuse_connections:
        return _refuse()
    if faults.delay_s > 0:
        time.sleep(faults.delay_s)  # wall-clock on purpose: it simulates network latency
    if faults.internal_errors and request.endpoint != "gateway_api.submit":
        raise ProtocolError(
            SampleError.INTERNAL,
            "the gateway answers every request with an internal error (fault injection)",
        )
    return None


def _refuse() -> Response:
    """Cut the connection without an answer; without a socket to cut, say 503 and close."""
    cut_connection(request.environ)
    error = ProtocolError(SampleError.INTERNAL, "the gateway refuses connections (fault injection)")
    response = error_reply(error)
    response.status_code = 503
    response.headers["Connection"] = "close"
    return response


@api.errorhandler(ProtocolError)
def protocol_error(error: ProtocolError) -> Response:
    return error_reply(error)


@api.post("/samples")
def submit() -> Response:
    gateway = services()
    outcome = SubmissionDesk(gateway).submit(
        dict(request.headers), request.stream, request.content_length, request.environ
    )
    name = gateway.config.gateway.name
    if outcome.error is not None:
        return error_reply(outcome.error, outcome.submission, name)
    return status_reply(outcome.submission, name, 202)


@api.get("/samples/<cookie>")
def status_by_cookie(cookie: str) -> Response:
    return _status(
        lambda session: _owner_by_cookie(session, cookie),
        f"cookie {cookie[:80]!r} was never assigned",
    )


@api.get("/samples")
def status_by_checksum() -> Response:
    checksum = _checksum_parameter()
    return _status(
        lambda session: _owner_by_checksum(session, checksum), f"no submission of sample {checksum}"
    )


def _checksum_parameter() -> str:
    raw = request.args.get("checksum", "")
    if not raw.strip():
        raise ProtocolError(SampleError.MISSING, "query parameter checksum: required")
    try:
        checksum: str = ATTRIBUTES["x-sample-checksum"].parse(raw)
    except (ValueError, AttributeProblem) as exc:
        raise ProtocolError(SampleError.MALFORMED, f"query parameter checksum: {exc}") from None
    return checksum


def _status(find: Any, unknown: str) -> Response:
    gateway = services()
    with unit_of_work(gateway.sessions) as session:
        owner = find(session)
        if owner is None:
            raise ProtocolError(SampleError.CRUMBLED, unknown)
        _refresh(session, owner, gateway)
        _ = (owner.history, owner.errors)
    return status_reply(owner, gateway.config.gateway.name)


def _refresh(session: Session, owner: Submission, gateway: GatewayServices) -> None:
    if not tracking.needs_refresh(owner):
        return
    try:
        tracking.refresh(session, owner, gateway.links.get(), gateway.clock.now())
    except Exception:  # the last known state is still true; the failure goes to the log
        log.exception("cookie %s: back-office status not available", owner.cookie)


def _owner_by_cookie(session: Session, cookie: str) -> Submission | None:
    query = select(Submission).where(Submission.cookie == cookie, Submission.owner.is_(True))
    return session.scalars(query).first()


def _owner_by_checksum(session: Session, checksum: str) -> Submission | None:
    """The newest owner for the sample, preferring one whose transfer did not fail."""
    query = (
        select(Submission)
        .where(Submission.sample_checksum == checksum, Submission.owner.is_(True))
        .order_by(Submission.id.desc())
    )
    owners = list(session.scalars(query))
    healthy = [s for s in owners if s.accepted_at is not None]
    candidates = healthy or owners
    return candidates[0] if candidates else None


@api.route("/definitions/<ref>", methods=["GET", "HEAD"])
def definitions(ref: str) -> Response:
    gateway = services()
    faults = gateway.faults.current()
    package = gateway.catalog.package(parse_ref(ref), _ceiling(faults))
    return _package_reply(_maybe_damaged(package, faults), faults)


@api.route("/definitions/<base>/to/<target>", methods=["GET", "HEAD"])
def incremental(base: str, target: str) -> Response:
    gateway = services()
    faults = gateway.faults.current()
    package = gateway.catalog.incremental(parse_ref(base), parse_ref(target), _ceiling(faults))
    return _package_reply(_maybe_damaged(package, faults), faults)


def _maybe_damaged(package: Package, faults: Faults) -> Package:
    """The next set sent, full or incremental (the Quarantine Server asks for increments)."""
    if request.method == "GET" and faults.corrupt_next_definitions and services().faults.consume():
        return damaged(package)
    return package


def damaged(package: Package) -> Package:
    """The corrupt-next-definitions fault: flip bytes in the middle of the signed package (a full
    set or an increment).

    The checksum header then describes the damaged bytes as sent, so only the signature check
    at install time catches the damage, as with a set that was corrupted before it was sent.
    """
    middle = len(package.data) // 2
    flipped = bytes(b ^ 0xFF for b in package.data[middle : middle + 8])
    data = package.data[:middle] + flipped + package.data[middle + 8 :]
    return dataclasses.replace(package, data=data)


def _ceiling(faults: Faults) -> int | None:
    return faults.hold_definitions_above if faults.holding_definitions else None


def _package_reply(package: Package, faults: Faults) -> Response:
    headers = package.headers()
    headers["Content-Type"] = "application/octet-stream"
    if request.method == "HEAD":
        response = Response(b"", headers=headers)
        response.headers["Content-Length"] = str(len(package.data))
        return response
    if faults.drop_transfers:
        headers["Content-Length"] = str(len(package.data))
        return Response(_half_then_cut(package.data, request.environ), headers=headers)
    return Response(package.data, headers=headers)


def _half_then_cut(data: bytes, environ: dict[str, Any]) -> Iterator[bytes]:
    """Send half the package, then cut the connection: the client sees a transfer lost."""
    yield data[: len(data) // 2]
    cut_connection(environ)
