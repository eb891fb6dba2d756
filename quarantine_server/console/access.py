"""Who may use the console: the logged-in user, roles, and the check on every request.

Users, roles and password hashes belong to the Quarantine Server (``quarantine_server.auth``);
the console's signed cookie carries only the token of a server-side session
(``quarantine_server.models.ConsoleSession``), which logout, idle and absolute timeouts end.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import wraps
from typing import Any, TypeVar, cast

from flask import (
    flash,
    g,
    jsonify,
    redirect,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue

from quarantine_server.auth import session_user
from quarantine_server.console import console, csrf
from quarantine_server.console.backend import services

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


SESSION_TOKEN = "console_session"  # the cookie's only claim: a token of a server-side session


def _load_user() -> ConsoleUser | None:
    """The user of the cookie's live server-side session (read again from the database, so a
    logout, a timeout or a removed user ends it)."""
    token = session.get(SESSION_TOKEN)
    if not isinstance(token, str):
        return None
    found = services()
    with found.work() as db:
        general = found.config(db).general
        user = session_user(
            db,
            token,
            found.clock.now(),
            general.console_idle_timeout_s,
            general.console_session_max_s,
        )
        return ConsoleUser(user.id, user.username, user.role) if user else None


@console.before_request
def guard() -> ResponseReturnValue | None:
    """Every console request: CSRF check on POSTs, then a logged-in user (except login)."""
    csrf.check()
    g.console_user = _load_user()
    if request.endpoint in PUBLIC_ENDPOINTS or g.console_user is not None:
        return None
    if wants_json():
        return jsonify(error="unauthenticated", message="Log in to the console first."), 401
    return redirect(url_for("console.login", next=request.full_path.rstrip("?")))


def wants_json() -> bool:
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


def audit(action: str, ids: list[int], detail: str = "") -> None:
    """Every change made through the console goes to the server log with who made it."""
    user = current_user()
    log.warning(
        "console: %s %s on items %s %s", user.username if user else "?", action, ids, detail
    )


def now() -> datetime:
    return services().clock.now()
