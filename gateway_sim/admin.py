"""The admin blueprint: fault injection and a look at the tracking database (bearer token)."""

from __future__ import annotations

import hmac
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy import select

from dis_core.protocol import ProtocolError
from gateway_sim.faults import FaultError, Faults
from gateway_sim.models import Submission
from gateway_sim.replies import status_json
from gateway_sim.services import GatewayServices

admin = Blueprint("gateway_admin", __name__, url_prefix="/gateway/admin/v1")
MAX_LIST = 500


class AdminError(Exception):
    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error, self.message = status, error, message


def services() -> GatewayServices:
    found: GatewayServices = current_app.extensions["gateway"]
    return found


@admin.before_request
def require_token() -> None:
    expected = services().admin_token
    given = request.headers.get("Authorization", "")
    scheme, _, token = given.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        token.strip().encode(), expected.encode()
    ):
        raise AdminError(
            401, "unauthorized", "a valid 'Authorization: Bearer <admin token>' header is required"
        )


@admin.errorhandler(AdminError)
def admin_error(error: AdminError) -> Response:
    response = jsonify({"error": error.error, "message": error.message})
    response.status_code = error.status
    if error.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="gateway-admin"'
    return response


@admin.get("/faults")
def get_faults() -> Response:
    return _faults_reply(services().faults.current())


@admin.route("/faults", methods=["PUT", "PATCH"])
def set_faults() -> Response:
    gateway = services()
    values = _json_object()
    if "hold_definitions" in values:
        values = _expand_hold(values, gateway)
    try:
        faults = gateway.faults.set(values, gateway.clock.now())
    except FaultError as exc:
        raise AdminError(400, "malformed", str(exc)) from None
    return _faults_reply(faults)


@admin.delete("/faults")
def reset_faults() -> Response:
    return _faults_reply(services().faults.reset())


def _expand_hold(values: dict[str, Any], gateway: GatewayServices) -> dict[str, Any]:
    """``hold_definitions: true`` holds at whatever is newest now; false lifts the hold."""
    values = dict(values)
    hold = values.pop("hold_definitions")
    if not isinstance(hold, bool):
        raise AdminError(400, "malformed", "hold_definitions must be true or false")
    values["hold_definitions_above"] = _newest_now(gateway) if hold else -1
    return values


def _newest_now(gateway: GatewayServices) -> int:
    try:
        return gateway.catalog.resolve("newest", None)
    except ProtocolError:
        return 0  # nothing published: hold everything that comes


def _json_object() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise AdminError(400, "malformed", "the body must be a JSON object")
    return data


def _faults_reply(faults: Faults) -> Response:
    return jsonify({"faults": faults.as_json()})


@admin.get("/submissions")
def list_submissions() -> Response:
    """Newest first; filter by ``cookie`` or ``checksum``; ``limit`` (default 50)."""
    limit = _limit()
    query = select(Submission).order_by(Submission.id.desc()).limit(limit)
    if cookie := request.args.get("cookie"):
        query = query.where(Submission.cookie == cookie)
    if checksum := request.args.get("checksum"):
        query = query.where(Submission.sample_checksum == checksum.lower())
    with services().sessions() as session:
        rows = [_describe(s) for s in session.scalars(query)]
    return jsonify({"submissions": rows})


def _limit() -> int:
    raw = request.args.get("limit", "50")
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIST:
        raise AdminError(400, "malformed", f"limit must be a number from 1 to {MAX_LIST}")
    return int(raw)


def _describe(submission: Submission) -> dict[str, Any]:
    described = status_json(submission)
    described.update(
        {
            "id": submission.id,
            "owner": submission.owner,
            "customer": {
                "name": submission.customer_name,
                "account": submission.customer_account,
                "contact_name": submission.contact_name,
                "contact_telephone": submission.contact_telephone,
                "contact_email": submission.contact_email,
                "quarantine_server": submission.quarantine_server,
            },
            "content_kind": submission.content_kind,
            "bytes_received": submission.bytes_received,
            "received_at": submission.received_at.isoformat(),
            "history": [
                {
                    "at": h.at.isoformat(),
                    "before": h.before,
                    "after": h.after,
                    "actor": h.actor,
                    "reason": h.reason,
                }
                for h in submission.history
            ],
            "errors": [
                {"at": e.at.isoformat(), "error": e.error, "detail": e.detail}
                for e in submission.errors
            ],
        }
    )
    return described
