"""Cross-site request forgery protection for the console's forms.

Each login session gets one random token, kept in the signed session cookie. Every form
carries it in a hidden field (or a fetch() call in the ``X-CSRF-Token`` header); a POST whose
token is absent or different is refused before any view runs.
"""

from __future__ import annotations

import hmac
import secrets

from flask import abort, request, session

SESSION_KEY = "csrf_token"
FORM_FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def token() -> str:
    """This session's token, made on first use."""
    value = session.get(SESSION_KEY)
    if not isinstance(value, str) or not value:
        value = secrets.token_urlsafe(32)
        session[SESSION_KEY] = value
    return value


def rotate() -> str:
    """A fresh token (after login, so a token seen before login is worthless)."""
    session[SESSION_KEY] = secrets.token_urlsafe(32)
    return str(session[SESSION_KEY])


def presented() -> str:
    return request.form.get(FORM_FIELD) or request.headers.get(HEADER) or ""


def check() -> None:
    """Refuse (400) an unsafe request without this session's token."""
    if request.method not in UNSAFE_METHODS:
        return
    expected = session.get(SESSION_KEY)
    if not isinstance(expected, str) or not hmac.compare_digest(expected, presented()):
        abort(
            400,
            description="The form expired or did not come from this console (CSRF check failed). Reload the page and try again.",
        )
