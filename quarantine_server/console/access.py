"""Who may use the console: login, roles, CSRF, and what every page template gets.

Users, roles and password hashes belong to the Quarantine Server (``quarantine_server.auth``);
the console only keeps the logged-in user's id and role in Flask's signed session cookie.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from flask import (
    Flask,
    Response,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from dis_core.vocabulary import SampleError
from quarantine_server.console import console, csrf
from quarantine_server.console.backend import authenticate, find_user, services
from quarantine_server.console.rows import stamp

log = logging.getLogger("quarantine_server.console")
ADMIN = "admin"
VIEWER = "viewer"
PUBLIC_ENDPOINTS = frozenset({"console.login", "console.static"})
F = TypeVar("F", bound=Callable[..., ResponseReturnValue])


@dataclass(frozen=True)
class ConsoleUser:
    id: int
    username: str
    role: str

    @property
    def can_change(self) -> bool:
        return self.role == ADMIN


def current_user() -> ConsoleUser | None:
    return cast(ConsoleUser | None, g.get("console_user"))


def _load_user() -> ConsoleUser | None:
    """The session's user, read again from the database so a removed user is logged out."""
    user_id = session.get("console_user_id")
    if not isinstance(user_id, int):
        return None
    with services().work() as db:
        user = find_user(db, user_id)
        return ConsoleUser(user.id, user.username, user.role) if user else None


@console.before_request
def guard() -> ResponseReturnValue | None:
    """Every console request: CSRF check on POSTs, then a logged-in user (except login)."""
    csrf.check()
    g.console_user = _load_user()
    if request.endpoint in PUBLIC_ENDPOINTS or g.console_user is not None:
        return None
    if _wants_json():
        return jsonify(error="unauthenticated", message="Log in to the console first."), 401
    return redirect(url_for("console.login", next=request.full_path.rstrip("?")))


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json" or request.path.endswith(".json")


def admin_required(view: F) -> F:
    """Refuse the action to viewers (they may look, not change)."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> ResponseReturnValue:
        user = current_user()
        if user is None or not user.can_change:
            flash("Viewers cannot change anything: log in as an administrator.", "error")
            return redirect(request.referrer or url_for("console.items")), 303
        return view(*args, **kwargs)

    return cast(F, wrapper)


def _safe_next(target: str | None) -> str:
    """Only same-site paths under /console are followed after login (no open redirect)."""
    if (
        target
        and target.startswith("/console")
        and not urlsplit(target).netloc
        and "\\" not in target
    ):
        return target
    return url_for("console.items")


# Defence in depth next to autoescaping: scripts only from this server, no framing.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
        "form-action 'self'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


@console.after_request
def secure_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.endpoint != "console.static":
        response.headers.setdefault("Cache-Control", "no-store")  # pages show live, private data
    return response


@console.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    next_url = _safe_next(request.args.get("next"))
    if g.get("console_user") is not None and request.method == "GET":
        return redirect(next_url)
    if request.method == "GET":
        return render_template("console/login.html", error="", username="", next_url=next_url)
    username = request.form.get("username", "").strip()
    with services().work() as db:
        user = authenticate(db, username, request.form.get("password", ""))
        found = ConsoleUser(user.id, user.username, user.role) if user else None
    if found is None:
        page = render_template(
            "console/login.html",
            error="Wrong user name or password.",
            username=username,
            next_url=next_url,
        )
        return page, 401
    session.clear()
    session["console_user_id"] = found.id
    csrf.rotate()
    return redirect(next_url, 303)


@console.route("/logout", methods=["POST"])
def logout() -> ResponseReturnValue:
    session.clear()
    flash("You are logged out.", "info")
    return redirect(url_for("console.login"), 303)


@console.route("/")
def home() -> ResponseReturnValue:
    return redirect(url_for("console.items"))


def _error_meaning(value: str) -> str:
    try:
        return SampleError(value).meaning
    except ValueError:
        return ""


def _yesno(value: bool | None) -> str:
    return "—" if value is None else ("yes" if value else "no")


@console.app_context_processor
def template_globals() -> dict[str, Any]:
    user = g.get("console_user")
    return {
        "current_user": user,
        "can_change": bool(user and user.can_change),
        "csrf_token": csrf.token,
        "stamp": stamp,
        "error_meaning": _error_meaning,
        "yesno": _yesno,
    }


@console.errorhandler(HTTPException)
def _render_error(error: HTTPException) -> ResponseReturnValue:
    code = error.code or 500
    if _wants_json():
        return jsonify(
            error=(error.name or "error").lower().replace(" ", "_"), message=error.description
        ), code
    page = render_template(
        "console/error.html", code=code, title=f"{code} {error.name}", message=error.description
    )
    return page, code


@console.errorhandler(Exception)
def _render_failure(error: Exception) -> ResponseReturnValue:
    """An unexpected failure: logged with its traceback, shown as a page (not the API's JSON)."""
    if isinstance(error, HTTPException):
        return _render_error(error)
    log.exception("console request %s failed", request.path)
    message = f"The server could not finish this request ({type(error).__name__}). It is in the server log."
    if _wants_json():
        return jsonify(error="internal", message=message), 500
    return render_template(
        "console/error.html", code=500, title="500 Internal error", message=message
    ), 500


def prepare(app: Flask) -> None:
    """App-wide pieces the console needs: a session secret and safe cookie settings."""
    if not app.secret_key:
        app.secret_key = services_secret(app)
    # Flask's defaults already hold these keys (SameSite as None), so setdefault would keep them
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    if app.config.get("SESSION_COOKIE_SAMESITE") is None:
        app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    if services_of(app).base_config.general.listen_tls:
        app.config["SESSION_COOKIE_SECURE"] = True  # the server speaks https only


def services_of(app: Flask) -> Any:
    from quarantine_server.console.backend import SERVICES_KEY

    return app.extensions[SERVICES_KEY]


def services_secret(app: Flask) -> bytes:
    from quarantine_server.console.backend import session_secret

    return session_secret(app)


def audit(action: str, ids: list[int], detail: str = "") -> None:
    """Every change made through the console goes to the server log with who made it."""
    user = current_user()
    log.warning(
        "console: %s %s on items %s %s", user.username if user else "?", action, ids, detail
    )


def now() -> datetime:
    return services().clock.now()
