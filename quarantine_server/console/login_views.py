"""Logging in and out of the console."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import flash, g, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue

from quarantine_server.auth import close_session, open_session
from quarantine_server.console import console, csrf
from quarantine_server.console.access import SESSION_TOKEN, ConsoleUser
from quarantine_server.console.backend import authenticate, services


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
        token = open_session(db, found.id, services().clock.now()) if found else ""
    if found is None:
        page = render_template(
            "console/login.html",
            error="Wrong user name or password.",
            username=username,
            next_url=next_url,
        )
        return page, 401
    session.clear()
    session[SESSION_TOKEN] = token
    csrf.rotate()
    return redirect(next_url, 303)


@console.route("/logout", methods=["POST"])
def logout() -> ResponseReturnValue:
    token = session.get(SESSION_TOKEN)
    if isinstance(token, str):  # the session ends on the server: a copied cookie is worth nothing
        with services().work() as db:
            close_session(db, token)
    session.clear()
    flash("You are logged out.", "info")
    return redirect(url_for("console.login"), 303)


@console.route("/")
def home() -> ResponseReturnValue:
    return redirect(url_for("console.items"))
