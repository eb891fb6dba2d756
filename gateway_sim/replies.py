"""Replies: the same facts as X- attributes and as a JSON body."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify

from dis_core.protocol import ProtocolError
from dis_core.vocabulary.attributes import format_attributes
from gateway_sim.models import Submission


def status_attributes(submission: Submission, gateway_name: str) -> dict[str, Any]:
    values: dict[str, Any] = {
        "X-Analysis-Cookie": submission.cookie,
        "X-Analysis-State": submission.state,
        "X-Analysis-Gateway": gateway_name,
    }
    if submission.sample_checksum:
        values["X-Sample-Checksum"] = submission.sample_checksum
    if submission.settled_by:
        values["X-Analysis-Filter"] = submission.settled_by
    values.update(submission.result.attributes())
    optional = {
        "X-Date-Analyzed": submission.date_analyzed,
        "X-Error": submission.error,
    }
    values.update({k: v for k, v in optional.items() if v is not None})
    if submission.error and submission.error_detail:
        values["X-Error-Detail"] = _one_line(submission.error_detail)
    return values


def status_json(submission: Submission) -> dict[str, Any]:
    return {
        "cookie": submission.cookie,
        "state": submission.state,
        "sample_checksum": submission.sample_checksum,
        "filter": submission.settled_by,
        "sequence": submission.sequence,
        "virus_name": submission.virus_name,
        "signature_id": submission.signature_id,
        "repairable": submission.repairable,
        "date_analyzed": submission.date_analyzed.isoformat() if submission.date_analyzed else None,
        "error": submission.error,
        "message": submission.error_detail,
    }


def status_reply(submission: Submission, gateway_name: str, http_status: int = 200) -> Response:
    response = jsonify(status_json(submission))
    response.status_code = http_status
    response.headers.update(format_attributes(status_attributes(submission, gateway_name)))
    return response


def error_reply(
    error: ProtocolError, submission: Submission | None = None, gateway_name: str = ""
) -> Response:
    body: dict[str, Any] = dict(error.as_json())
    headers = {k: _one_line(v) for k, v in error.as_headers().items()}
    if submission is not None:
        body.update({k: v for k, v in status_json(submission).items() if k not in body})
        attributes = status_attributes(submission, gateway_name)
        attributes.pop("X-Error-Detail", None)
        headers.update(format_attributes({**attributes, "X-Error": error.error.value}))
    response = jsonify(body)
    response.status_code = error.http_status
    response.headers.update(headers)
    return response


def _one_line(text: str) -> str:
    """Header-safe: one line, printable, bounded."""
    cleaned = "".join(c if c.isprintable() else " " for c in text)
    return cleaned.encode("latin-1", "replace").decode("latin-1")[:200]
