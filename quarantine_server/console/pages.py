"""What every console page shares: template helpers, error pages, security headers, setup."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, g, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from dis_core.vocabulary import SampleError
from quarantine_server.console import console, csrf
from quarantine_server.console.access import wants_json
from quarantine_server.console.backend import SERVICES_KEY, session_secret
from quarantine_server.console.rows import stamp

log = logging.getLogger("quarantine_server.console")


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
    if wants_json():
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
    if wants_json():
        return jsonify(error="internal", message=message), 500
    return render_template(
        "console/error.html", code=500, title="500 Internal error", message=message
    ), 500


def prepare(app: Flask) -> None:
    """App-wide pieces the console needs: a session secret and safe cookie settings."""
    if not app.secret_key:
        app.secret_key = session_secret(app)
    # Flask's defaults already hold these keys (SameSite as None), so setdefault would keep them
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    if app.config.get("SESSION_COOKIE_SAMESITE") is None:
        app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    if services_of(app).base_config.general.listen_tls:
        app.config["SESSION_COOKIE_SECURE"] = True  # the server speaks https only


def services_of(app: Flask) -> Any:
    return app.extensions[SERVICES_KEY]
