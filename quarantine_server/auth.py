"""Users and console sessions. Passwords are kept only as salted scrypt hashes (werkzeug);
API tokens are in quarantine_server/tokens.py.

The console adds session login on top of :func:`verify_password`; the API accepts HTTP Basic
(username/password) or ``Authorization: Bearer <token>``.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from quarantine_server.models import ConsoleSession, User
from quarantine_server.tokens import digest

ROLES = ("admin", "viewer")
USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{1,80}$")
MIN_PASSWORD = 8
# Checked against when the user does not exist, so a wrong name costs the same time.
_DUMMY_HASH = generate_password_hash("not-a-real-password", method="scrypt")


class UserError(ValueError):
    """A user could not be created or changed; the message says why."""


def create_user(session: Session, username: str, password: str, role: str, at: datetime) -> User:
    """Add a user; UserError for a bad name, short password, unknown role or duplicate."""
    if not USERNAME.match(username):
        raise UserError("username: 1-80 letters, digits or _.@-")
    if len(password) < MIN_PASSWORD:
        raise UserError(f"password: at least {MIN_PASSWORD} characters")
    if role not in ROLES:
        raise UserError(f"role: one of {', '.join(ROLES)}")
    if session.scalar(select(User).where(User.username == username)) is not None:
        raise UserError(f"user {username} already exists")
    user = User(
        username=username,
        password_hash=generate_password_hash(password, method="scrypt"),
        role=role,
        created_at=at,
    )
    session.add(user)
    session.flush()
    return user


def verify_password(session: Session, username: str, password: str) -> User | None:
    """The user when the password is right, else None (constant work either way)."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    return user if check_password_hash(user.password_hash, password) else None


# a session's last use is written at most this often (not on every page the console refreshes)
SEEN_EVERY = timedelta(seconds=60)


def open_session(session: Session, user_id: int, at: datetime) -> str:
    """A new console session for the user; returns the token its cookie carries."""
    token = secrets.token_urlsafe(32)
    session.add(
        ConsoleSession(token_sha256=digest(token), user_id=user_id, created_at=at, seen_at=at)
    )
    return token


def session_user(
    session: Session, token: str, at: datetime, idle_s: int, max_s: int
) -> User | None:
    """The user of a live console session; an ended one (idle, too old) is removed."""
    found = session.get(ConsoleSession, digest(token))
    if found is None:
        return None
    idle, age = at - found.seen_at, at - found.created_at
    if idle > timedelta(seconds=idle_s) or age > timedelta(seconds=max_s):
        session.delete(found)
        return None
    if idle >= SEEN_EVERY:
        found.seen_at = at
    return found.user


def close_session(session: Session, token: str) -> None:
    session.execute(delete(ConsoleSession).where(ConsoleSession.token_sha256 == digest(token)))
