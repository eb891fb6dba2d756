"""Endpoint-facing routes: forward a sample, pull definitions, confirm an install."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request
from werkzeug.exceptions import ClientDisconnected

from dis_core.definitions import InstalledDefinitions
from dis_core.definitions.model import Package
from dis_core.protocol import ProtocolError
from dis_core.vocabulary import SampleError
from quarantine_server.definitions import DefinitionsUnavailable, open_definitions
from quarantine_server.delivery import ConfirmationProblem, confirm, parse_confirmation
from quarantine_server.intake import QuotaExceeded, max_sample_bytes, receive
from quarantine_server.services import Services
from quarantine_server.web.errors import json_error

blueprint = Blueprint("intake", __name__, url_prefix="/intake/v1")
BODY_SLACK = 1024 * 1024  # packed bodies may be a little larger than the content they carry


def services() -> Services:
    found: Services = current_app.extensions["quarantine_services"]
    return found


def _protocol_error(problem: ProtocolError) -> Response:
    return json_error(
        problem.http_status, problem.error.value, problem.detail, problem.as_headers()
    )


def _read_body(limit: int) -> bytes:
    declared = request.content_length
    if declared is not None and declared > limit:
        raise ProtocolError(
            SampleError.DECLINED, f"body of {declared} bytes exceeds the {limit} byte limit"
        )
    try:
        body = request.stream.read(min(limit, declared if declared is not None else limit) + 1)
    except ClientDisconnected:
        raise ProtocolError(
            SampleError.LOST, "the connection broke before the body was complete"
        ) from None
    if declared is not None and len(body) < declared:
        raise ProtocolError(SampleError.LOST, f"{len(body)} of {declared} body bytes arrived")
    if len(body) > limit:
        raise ProtocolError(SampleError.DECLINED, f"body exceeds the {limit} byte limit")
    return body


@blueprint.post("/samples")
def forward() -> Response:
    found = services()
    with found.work() as session:
        config = found.config(session)
    try:
        body = _read_body(max_sample_bytes(config) + BODY_SLACK)
        result = receive(found, dict(request.headers), body)
    except ProtocolError as problem:
        return _protocol_error(problem)
    except QuotaExceeded as full:
        return json_error(
            full.http_status,
            full.as_json()["error"],
            full.detail,
            {"X-Error": "declined", "X-Error-Detail": full.detail[:200]},
        )
    response = jsonify(
        {"id": result.id, "status": result.status, "definitions_needed": result.definitions_needed}
    )
    response.status_code = 201 if result.created else 200
    return response


def _installed() -> InstalledDefinitions:
    found = services()
    with found.work() as session:
        config = found.config(session)
    return open_definitions(found, config)


@blueprint.get("/definitions/<ref>")
def definitions(ref: str) -> Response:
    try:
        installed = _installed()
    except DefinitionsUnavailable as problem:
        return json_error(503, SampleError.UNAVAILABLE.value, str(problem))
    active, package = installed.active_sequence, installed.active_package()
    if package is None:
        return json_error(
            404, SampleError.UNAVAILABLE.value, "no definitions are installed on this server"
        )
    if ref != "active":
        if not ref.isdigit():
            return json_error(
                400, SampleError.MALFORMED.value, "sequence must be a number or 'active'"
            )
        if int(ref) > active:
            return json_error(
                404,
                SampleError.UNAVAILABLE.value,
                f"sequence {ref} is not on this server (active {active})",
            )
        if int(ref) < active:
            return json_error(
                410, SampleError.SUPERSEDED.value, f"sequence {ref} was replaced by {active}"
            )
    current = installed.active()
    response = Response(package, mimetype="application/octet-stream")
    certified = bool(current and current.certified)
    response.headers.update(Package(package, active, "full", certified).headers())
    return response


@blueprint.post("/confirmations")
def confirmations() -> Response:
    payload = request.get_json(silent=True)
    try:
        computer, sequence, results = parse_confirmation(payload)
    except ConfirmationProblem as problem:
        return json_error(400, SampleError.MALFORMED.value, problem.detail)
    found = services()
    with found.work() as session:
        config = found.config(session)
        answers = confirm(session, config, computer, sequence, results, found.clock.now())
    return jsonify({"computer": computer, "sequence": sequence, "results": answers})
