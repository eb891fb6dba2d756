"""The REST API under /api/v1. Every route needs a user (HTTP Basic or a bearer token);
changes need the admin role. Views only parse input and call the services."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Blueprint, Response, current_app, g, jsonify, request
from sqlalchemy import func, select

from dis_core.vocabulary import AlertEvent, SampleError, SampleState, SampleStatus
from quarantine_server import properties as props
from quarantine_server import samples as sample_service
from quarantine_server.alerts import enabled
from quarantine_server.auth import verify_password
from quarantine_server.definitions import DefinitionsUnavailable, open_definitions
from quarantine_server.intake import quarantine_usage
from quarantine_server.models import EventRecord, Heartbeat, InstalledSet, User
from quarantine_server.monitor import AGENT, check_heartbeats
from quarantine_server.services import Services
from quarantine_server.tokens import (
    MAX_DAYS,
    ROLE_RANK,
    create_token,
    describe,
    revoke_token,
    token_login,
    visible_tokens,
)
from quarantine_server.vault import VaultError
from quarantine_server.web.errors import json_error
from quarantine_server.web.openapi import document

blueprint = Blueprint("api", __name__, url_prefix="/api/v1")
F = TypeVar("F", bound=Callable[..., Any])
WATCH_EVERY_S = 30.0
MAX_ID = 2**31 - 1
SHA256 = re.compile(r"[0-9a-fA-F]{64}")


class BadInput(ValueError):
    pass


def services() -> Services:
    found: Services = current_app.extensions["quarantine_services"]
    return found


def _authenticate() -> tuple[User, str] | None:
    """The user and the role this request acts with (a token's scope, or the user's role)."""
    header = request.headers.get("Authorization", "")
    found = services()
    with found.work() as session:
        if header.lower().startswith("bearer "):
            login = token_login(session, header[7:].strip(), found.clock.now())
            return (login.user, login.role) if login else None
        auth = request.authorization
        if (
            auth is not None
            and auth.type == "basic"
            and auth.username
            and auth.password is not None
        ):
            user = verify_password(session, auth.username, auth.password)
            return (user, user.role) if user else None
    return None


@blueprint.before_request
def require_user() -> Response | None:
    found = _authenticate()
    if found is None:
        return json_error(
            401,
            "unauthorized",
            "log in with HTTP Basic or a bearer token (a live one: not revoked, not expired)",
            {"WWW-Authenticate": 'Basic realm="dis-quarantine"'},
        )
    g.user, g.role = found
    _watch_agent()
    return None


def _watch_agent() -> None:
    """The web process notices a stopped agent (its heartbeat is too old)."""
    found = services()
    state = current_app.extensions.setdefault("quarantine_watch", {"last": None})
    now = found.clock.now()
    if state["last"] is not None and (now - state["last"]).total_seconds() < WATCH_EVERY_S:
        return
    state["last"] = now
    with found.work() as session:
        check_heartbeats(session, found.config(session), found.clock.now(), (AGENT,))


def admin_only(view: F) -> F:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if g.role != "admin":
            return json_error(403, "forbidden", "this action needs the admin role")
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]  # same call signature as ``view`` (functools.wraps)


@blueprint.errorhandler(BadInput)
def _bad_input(exc: BadInput) -> Response:
    return json_error(400, "bad_request", str(exc))


@blueprint.errorhandler(sample_service.SampleNotFound)
def _not_found(exc: LookupError) -> Response:
    return json_error(404, "not_found", str(exc))


@blueprint.errorhandler(sample_service.ActionRefused)
def _refused(exc: sample_service.ActionRefused) -> Response:
    return json_error(
        409 if exc.conflict else 403, "conflict" if exc.conflict else "forbidden", str(exc)
    )


@blueprint.errorhandler(props.PropertyError)
def _bad_property(exc: props.PropertyError) -> Response:
    response = json_error(400, "invalid_property", str(exc))
    return response


# --- input helpers ---------------------------------------------------------------------------
def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise BadInput(f"{name} must be an integer from {low} to {high}")
    return int(raw)


def _bool_arg(name: str) -> bool | None:
    raw = request.args.get(name)
    if raw is None:
        return None
    if raw.lower() not in {"true", "false"}:
        raise BadInput(f"{name} must be true or false")
    return raw.lower() == "true"


def _list_arg(name: str, allowed: set[str]) -> tuple[str, ...]:
    raw = request.args.get(name)
    if not raw:
        return ()
    values = tuple(v.strip() for v in raw.split(",") if v.strip())
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise BadInput(f"{name}: unknown value(s) {', '.join(unknown)}")
    return values


def _choice_arg(name: str, default: str, allowed: set[str] | dict[str, Any]) -> str:
    value = request.args.get(name, default)
    if value not in allowed:
        raise BadInput(f"{name} must be one of {', '.join(sorted(allowed))}")
    return value


def _json_body() -> dict[str, Any]:
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        raise BadInput("the body must be a JSON object")
    return payload


def _as_int(value: Any) -> int | None:
    """A JSON integer (7 or 7.0, as JSON Schema counts them), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _priority(payload: dict[str, Any], required: bool) -> int | None:
    value = payload.get("priority")
    if value is None and not required:
        return None
    number = _as_int(value)
    if number is None or not 0 <= number <= 1000:
        raise BadInput("priority must be an integer from 0 to 1000")
    return number


# --- samples ---------------------------------------------------------------------------------
def _sample_query() -> sample_service.SampleQuery:
    return sample_service.SampleQuery(
        status=_list_arg("status", {s.value for s in SampleStatus}),
        state=_list_arg("state", {s.value for s in SampleState}),
        computer=request.args.get("computer") or None,
        user=request.args.get("user") or None,
        file_name=request.args.get("file_name") or None,
        virus=request.args.get("virus") or None,
        analyzed=_bool_arg("analyzed"),
        has_errors=_bool_arg("has_errors"),
        sort=_choice_arg("sort", "age", sample_service.SORT_KEYS),
        order=_choice_arg("order", "desc", {"asc", "desc"}),
        page=_int_arg("page", 1, 1, 1_000_000),
        per_page=_int_arg("per_page", 50, 1, sample_service.MAX_PER_PAGE),
        after=_int_arg("after", 0, 1, MAX_ID) or None,
        sha256=_sha256_arg(),
    )


def _sha256_arg() -> str | None:
    raw = request.args.get("sha256")
    if raw is None:
        return None
    if not SHA256.fullmatch(raw):
        raise BadInput("sha256 must be 64 hexadecimal digits")
    return raw.lower()


@blueprint.get("/samples")
def list_samples() -> Response:
    query = _sample_query()
    found = services()
    with found.work() as session:
        return jsonify(sample_service.list_samples(session, query, found.clock.now()))


@blueprint.get("/samples/<int:sample_id>")
def sample_detail(sample_id: int) -> Response:
    found = services()
    with found.work() as session:
        return jsonify(sample_service.detail(session, sample_id, found.clock.now()))


@blueprint.delete("/samples/<int:sample_id>")
@admin_only
def delete_sample(sample_id: int) -> Response:
    found = services()
    with found.work() as session:
        sample_service.delete_sample(found, session, sample_id)
    return Response(status=204)


@blueprint.post("/samples/<int:sample_id>/restore")
@admin_only
def restore_sample(sample_id: int) -> Response:
    folder = _json_body().get("folder")
    if not isinstance(folder, str) or not folder:
        raise BadInput("folder: a path inside a configured restore folder is required")
    if "\x00" in folder:
        raise BadInput("folder: a path cannot contain a NUL character")
    found = services()
    try:
        with found.work() as session:
            config = found.config(session)
            path = sample_service.restore_sample(
                found, session, config, sample_id, folder, found.clock.now()
            )
    except VaultError as exc:
        return json_error(500, "internal", str(exc))
    return jsonify({"id": sample_id, "restored_to": path})


@blueprint.put("/samples/<int:sample_id>/priority")
@admin_only
def set_priority(sample_id: int) -> Response:
    priority = _priority(_json_body(), required=True)
    found = services()
    with found.work() as session:
        config = found.config(session)
        sample_service.set_sample_priority(
            session, config, sample_id, priority or 0, found.clock.now()
        )
        return jsonify(
            sample_service.columns(sample_service.get_sample(session, sample_id), found.clock.now())
        )


@blueprint.post("/samples/<int:sample_id>/restart")
@admin_only
def restart_sample(sample_id: int) -> Response:
    found = services()
    with found.work() as session:
        sample_service.restart_sample(session, sample_id, found.clock.now())
        return jsonify(
            sample_service.columns(sample_service.get_sample(session, sample_id), found.clock.now())
        )


@blueprint.post("/samples/queue")
@admin_only
def queue_samples() -> Response:
    payload = _json_body()
    raw = payload.get("ids")
    ids = [_as_int(i) for i in raw] if isinstance(raw, list) else []
    if not ids or len(ids) > 1000 or any(i is None or not 1 <= i <= MAX_ID for i in ids):
        raise BadInput(f"ids: a list of 1-1000 sample ids (1 to {MAX_ID}) is required")
    priority = _priority(payload, required=False)
    if priority == 0:
        raise BadInput("priority: queueing needs a priority above 0")
    found = services()
    with found.work() as session:
        config = found.config(session)
        results = sample_service.queue_samples(
            session, config, [i for i in ids if i is not None], priority, found.clock.now()
        )
    return jsonify({"results": results})


# --- properties, events, definitions ------------------------------------------------------
@blueprint.get("/properties")
def all_properties() -> Response:
    found = services()
    with found.work() as session:
        return jsonify(props.read_all(found.config(session), session))


@blueprint.get("/properties/<tab>")
def one_tab(tab: str) -> Response:
    if tab not in props.TABS and tab != "general_errors":
        return json_error(404, "not_found", f"no property tab {tab}")
    found = services()
    with found.work() as session:
        return jsonify(props.read_tab(found.config(session), session, tab))


@blueprint.patch("/properties/<tab>")
@admin_only
def change_tab(tab: str) -> Response:
    if tab not in props.TABS:
        return json_error(
            404 if tab != "general_errors" else 405, "not_found", f"no writable property tab {tab}"
        )
    changes = _json_body()
    found = services()
    with found.work() as session:
        restart = props.write_tab(found.base_config, session, tab, changes, found.clock.now())
    with found.work() as session:
        result = props.read_tab(found.config(session), session, tab)
    result["needs_restart"] = restart
    return jsonify(result)


@blueprint.get("/events")
def events() -> Response:
    kinds = _list_arg("event", {e.value for e in AlertEvent})
    sample_id = _int_arg("sample_id", 0, 0, 2**31)
    page, per_page = _int_arg("page", 1, 1, 1_000_000), _int_arg("per_page", 50, 1, 500)
    statement = select(EventRecord)
    if kinds:
        statement = statement.where(EventRecord.event.in_(kinds))
    if sample_id:
        statement = statement.where(EventRecord.sample_id == sample_id)
    found = services()
    with found.work() as session:
        total = session.scalar(select(func.count()).select_from(statement.subquery())) or 0
        rows = session.scalars(
            statement.order_by(EventRecord.id.desc()).offset((page - 1) * per_page).limit(per_page)
        )
        items = [_event_row(r) for r in rows]
    return jsonify({"items": items, "total": int(total), "page": page, "per_page": per_page})


def _event_row(row: EventRecord) -> dict[str, Any]:
    event = AlertEvent(row.event)
    return {
        "id": row.id,
        "at": row.at.isoformat(),
        "event": row.event,
        "title": event.title,
        "meaning": event.meaning,
        "sample_id": row.sample_id,
        "message": row.message,
    }


@blueprint.get("/event-types")
def event_types() -> Response:
    found = services()
    with found.work() as session:
        config = found.config(session)
    return jsonify(
        {
            "items": [
                {
                    "event": e.value,
                    "title": e.title,
                    "meaning": e.meaning,
                    "enabled": enabled(config, e),
                }
                for e in AlertEvent
            ]
        }
    )


@blueprint.get("/general-errors")
def general_errors() -> Response:
    found = services()
    with found.work() as session:
        return jsonify({"items": props.general_errors(session)})


@blueprint.get("/definitions")
def definitions() -> Response:
    found = services()
    with found.work() as session:
        config = found.config(session)
        history = [
            {
                "sequence": r.sequence,
                "certified": r.certified,
                "installed_at": r.installed_at.isoformat(),
                "how": r.how,
                "signatures": r.signatures,
            }
            for r in session.scalars(
                select(InstalledSet).order_by(InstalledSet.id.desc()).limit(100)
            )
        ]
    try:
        installed = open_definitions(found, config)
        active = installed.active()
        current: dict[str, Any] = {
            "sequence": installed.active_sequence,
            "certified": bool(active and active.certified),
            "signatures": len(active.signatures) if active else 0,
            "available": True,
        }
    except DefinitionsUnavailable as problem:
        current = {
            "sequence": 0,
            "certified": False,
            "signatures": 0,
            "available": False,
            "problem": str(problem),
        }
    return jsonify(
        {
            "active": current,
            "installed": history,
            "policy": {
                "use_newest": config.definition_policy.use_newest,
                "hold_delivery": config.definition_policy.hold_delivery,
            },
        }
    )


@blueprint.get("/vocabulary")
def vocabulary() -> Response:
    return jsonify(
        {
            "statuses": [{"value": s.value, "meaning": s.meaning} for s in SampleStatus],
            "states": [
                {"value": s.value, "group": s.group.value, "meaning": s.meaning}
                for s in SampleState
            ],
            "errors": [{"value": e.value, "meaning": e.meaning} for e in SampleError],
        }
    )


@blueprint.get("/health")
def health() -> Response:
    found = services()
    with found.work() as session:
        config = found.config(session)
        beats = {
            h.service: {"at": h.beat_at.isoformat(), "holder": h.holder, "detail": h.detail}
            for h in session.scalars(select(Heartbeat))
        }
        used = quarantine_usage(session)
    limit = config.general.quarantine_max_mb * 1024 * 1024
    return jsonify(
        {
            "heartbeats": beats,
            "quarantine": {
                "used_bytes": used,
                "max_bytes": limit,
                "free_disk_bytes": found.vault.free_disk_bytes(),
            },
        }
    )


@blueprint.post("/tokens")
def new_token() -> Response:
    """A token of the caller's own, with a scope no higher than the role the request has."""
    payload = _json_body()
    name, scope, days = payload.get("name", ""), payload.get("scope", g.role), payload.get("days")
    if not isinstance(name, str) or len(name) > 80:
        raise BadInput("name: text of at most 80 characters")
    if scope not in ROLE_RANK or ROLE_RANK[scope] > ROLE_RANK[g.role]:
        raise BadInput(
            f"scope: {' or '.join(r for r in ROLE_RANK if ROLE_RANK[r] <= ROLE_RANK[g.role])}"
        )
    days = _days(days)
    found = services()
    with found.work() as session:
        user = session.get(User, g.user.id)
        secret, row = create_token(session, user, name, found.clock.now(), scope=scope, days=days)  # type: ignore[arg-type]  # g.user was loaded, so the row exists
        shown = describe(row, found.clock.now())
    response = jsonify({**shown, "token": secret})
    response.status_code = 201
    return response


def _days(value: Any) -> int | None:
    if value is None:
        return None
    days = _as_int(value)
    if days is None or not 1 <= days <= MAX_DAYS:
        raise BadInput(f"days: a whole number of days from 1 to {MAX_DAYS}, or null for no expiry")
    return days


@blueprint.get("/tokens")
def list_tokens() -> Response:
    """The caller's tokens (with the admin role: everyone's), never their secrets."""
    found = services()
    with found.work() as session:
        now = found.clock.now()
        rows = visible_tokens(session, g.user.id, everyone=g.role == "admin")
        return jsonify({"tokens": [describe(row, now) for row in rows]})


@blueprint.delete("/tokens/<int:token_id>")
def delete_token(token_id: int) -> Response:
    """Revoke a token at once (idempotent); 404 for one the caller may not see."""
    found = services()
    with found.work() as session:
        everyone = g.role == "admin"
        at = found.clock.now()
        if not revoke_token(session, token_id, at, user_id=g.user.id, everyone=everyone):
            raise sample_service.SampleNotFound(f"no token {token_id}")
    return Response(status=204)


@blueprint.get("/openapi.json")
def openapi() -> Response:
    return jsonify(document())
