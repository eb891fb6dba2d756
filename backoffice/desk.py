"""The expert desk: a small web page where an analyst settles what the automation deferred.

No login: it listens on 127.0.0.1 only and every request must carry the desk token (query
``?token=``, header ``X-Desk-Token``, or the cookie the first visit sets). An analyst picks
the final state for a deferred sample (or sends it round again); the choice goes through
``dis_core.lifecycle.transition`` with the analyst as actor.
"""

from __future__ import annotations

import hmac
import secrets
import threading
from typing import Any

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import select
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Response

from backoffice import metrics
from backoffice.services import Services
from backoffice.store.models import Analysis
from dis_core.db import unit_of_work
from dis_core.lifecycle import IllegalTransition, transition
from dis_core.operations import operations_blueprint
from dis_core.vocabulary import SampleError, SampleState
from dis_core.vocabulary.parts import Part

T = SampleState
CHOICES = (
    T.INFECTED, T.NOREPAIR, T.UNSUBMITTABLE, T.UNINFECTED, T.NODETECT, T.DELETE, T.RESTORE,
    T.MISFIRED, T.UNINFECTABLE, T.ENCRYPTED, T.DECLINED, T.IMPORTED,
)  # fmt: skip
COOKIE = "desk_token"
RECENT = 50

desk = Blueprint("desk", __name__)


def create_desk_app(services: Services, token: str | None = None) -> Flask:
    app = Flask(__name__)
    app.config["DESK_TOKEN"] = (
        token or services.config.backoffice.desk_token or secrets.token_urlsafe(24)
    )
    app.extensions["backoffice_services"] = services
    app.register_blueprint(desk)
    app.register_blueprint(
        operations_blueprint(
            "backoffice",
            lambda: metrics.scrape(services),
            lambda: metrics.readiness(services),
            [metrics.STAGE_DURATIONS],
        )
    )
    app.register_error_handler(400, _json_error)
    app.register_error_handler(403, _json_error)
    app.register_error_handler(404, _json_error)
    app.register_error_handler(409, _json_error)
    return app


def _services() -> Services:
    found: Services = current_app.extensions["backoffice_services"]
    return found


def _json_error(error: Any) -> tuple[Response, int]:
    code = getattr(error, "code", 500)
    names = {400: "bad_request", 403: "forbidden", 404: "not_found", 409: "conflict"}
    return jsonify(
        error=names.get(code, "error"), message=getattr(error, "description", str(error))
    ), code


@desk.before_request
def _check_token() -> None:
    expected = current_app.config["DESK_TOKEN"]
    given = (
        request.args.get("token")
        or request.headers.get("X-Desk-Token")
        or request.cookies.get(COOKIE)
        or ""
    )
    if not hmac.compare_digest(given.encode(), expected.encode()):
        abort(403, description="the desk token is missing or wrong")
    g.token_from_query = "token" in request.args


@desk.after_request
def _remember_token(response: Response) -> Response:
    if getattr(g, "token_from_query", False):
        response.set_cookie(
            COOKIE, current_app.config["DESK_TOKEN"], httponly=True, samesite="Strict"
        )
    return response


@desk.get("/")
def index() -> str:
    with unit_of_work(_services().store.sessions) as session:
        deferred = session.scalars(
            select(Analysis).where(Analysis.state == T.DEFERRED.value).order_by(Analysis.id)
        ).all()
        recent = session.scalars(
            select(Analysis).order_by(Analysis.date_updated.desc()).limit(RECENT)
        ).all()
        return render_template("desk.html", deferred=deferred, recent=recent, choices=CHOICES)


@desk.get("/samples/<cookie>")
def sample(cookie: str) -> str:
    with unit_of_work(_services().store.sessions) as session:
        row = _find(session, cookie)
        return render_template("desk_sample.html", row=row, findings=row.findings, choices=CHOICES)


@desk.post("/samples/<cookie>/resolve")
def resolve(cookie: str) -> Response:
    wanted = request.form.get("state") or (request.get_json(silent=True) or {}).get("state")
    note = (request.form.get("note") or "").strip()[:300]
    if wanted not in {c.value for c in CHOICES}:
        abort(400, description=f"state must be one of {', '.join(c.value for c in CHOICES)}")
    services = _services()
    with unit_of_work(services.store.sessions) as session:
        row = _find(session, cookie)
        if row.state != T.DEFERRED.value:
            abort(409, description=f"sample is {row.state}, not deferred")
        try:
            transition(
                row,
                at=services.clock.now(),
                actor=Part.ANALYST,
                reason=note or f"analyst chose {wanted}",
                state=T(wanted),
            )
        except IllegalTransition as exc:
            abort(409, description=str(exc))
        if wanted == T.DECLINED.value:
            row.error, row.error_detail = SampleError.DECLINED, note or "declined by an analyst"
        if wanted == T.IMPORTED.value:
            row.control_round, row.findings_json = 0, "{}"
    if request.is_json:
        return jsonify(cookie=cookie, state=wanted)
    return redirect(url_for("desk.index"))


def _find(session: Any, cookie: str) -> Analysis:
    row = session.scalars(select(Analysis).where(Analysis.cookie == cookie)).first()
    if row is None:
        abort(404, description=f"no sample {cookie}")
    return row


class _PathOnlyLog(WSGIRequestHandler):
    """Request log lines without the query string: ``?token=`` must never reach a log."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        path = getattr(self, "path", "").split("?", 1)[0]
        self.log("info", '"%s %s" %s %s', getattr(self, "command", "-"), path, code, size)


class DeskServer:
    """The desk on 127.0.0.1 in a background thread (port 0: any free port)."""

    def __init__(self, app: Flask, port: int) -> None:
        self.server: BaseWSGIServer = make_server(
            "127.0.0.1", port, app, threaded=True, request_handler=_PathOnlyLog
        )
        self.thread = threading.Thread(
            target=self.server.serve_forever, name="backoffice-desk", daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/"

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(5)
