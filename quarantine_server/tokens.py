"""API bearer tokens: made with a scope (a role no higher than their owner's) and an expiry,
listed without their secret, revoked at once. Only a token's SHA-256 is stored, so the token
itself is shown once, when it is made."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from quarantine_server.models import ApiToken, User

ROLE_RANK = {"viewer": 0, "admin": 1}
MAX_DAYS = 3650
# a token's last use is written at most this often (not on every request a script makes)
USED_EVERY = timedelta(seconds=60)


class TokenError(ValueError):
    """A token could not be made as asked; the message says why."""


@dataclass(frozen=True)
class TokenLogin:
    """Who a request's token speaks for, and with which role (the token's scope)."""

    user: User
    role: str
    token_id: int


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(
    session: Session,
    user: User,
    name: str,
    at: datetime,
    *,
    scope: str | None = None,
    days: int | None = None,
) -> tuple[str, ApiToken]:
    """A new token of ``user``: ``scope`` defaults to the user's role and may not exceed it;
    ``days`` until it expires (None: never)."""
    chosen = scope or user.role
    if chosen not in ROLE_RANK:
        raise TokenError(f"scope: one of {', '.join(ROLE_RANK)}")
    if ROLE_RANK[chosen] > ROLE_RANK[user.role]:
        raise TokenError(f"scope: a {user.role} cannot make a token with the {chosen} role")
    if days is not None and not 1 <= days <= MAX_DAYS:
        raise TokenError(f"days: from 1 to {MAX_DAYS}")
    secret = secrets.token_urlsafe(32)
    expires = at + timedelta(days=days) if days is not None else None
    row = ApiToken(
        user_id=user.id, token_sha256=digest(secret), name=name[:80], created_at=at,
        scope=chosen, expires_at=expires,
    )  # fmt: skip
    session.add(row)
    session.flush()
    return secret, row


def token_login(session: Session, secret: str, at: datetime) -> TokenLogin | None:
    """The login a live token gives; None for an unknown, revoked or expired one."""
    row = session.scalar(select(ApiToken).where(ApiToken.token_sha256 == digest(secret)))
    if row is None or row.revoked_at is not None:
        return None
    if row.expires_at is not None and at >= row.expires_at:
        return None
    if row.last_used_at is None or at - row.last_used_at >= USED_EVERY:
        row.last_used_at = at
    return TokenLogin(row.user, _effective_role(row), row.id)


def _effective_role(row: ApiToken) -> str:
    """A token never gives more than its owner has now (an admin made viewer keeps viewer)."""
    scope = row.scope or row.user.role
    return min(scope, row.user.role, key=ROLE_RANK.__getitem__)


def visible_tokens(session: Session, user_id: int, *, everyone: bool) -> list[ApiToken]:
    """The user's own tokens, or (``everyone``: an admin asking) all of them."""
    statement = select(ApiToken).order_by(ApiToken.id)
    if not everyone:
        statement = statement.where(ApiToken.user_id == user_id)
    return list(session.scalars(statement))


def revoke_token(
    session: Session, token_id: int, at: datetime, *, user_id: int, everyone: bool
) -> bool:
    """Revoke a token the asker may see; False when there is no such token for them."""
    row = session.get(ApiToken, token_id)
    if row is None or (not everyone and row.user_id != user_id):
        return False
    if row.revoked_at is None:
        row.revoked_at = at
    return True


def describe(row: ApiToken, at: datetime) -> dict[str, Any]:
    """A token as the API lists it: never its secret."""
    expired = row.expires_at is not None and at >= row.expires_at
    return {
        "id": row.id,
        "name": row.name,
        "user": row.user.username,
        "scope": row.scope or row.user.role,
        "created_at": row.created_at.isoformat(),
        "expires_at": row.expires_at.isoformat() if row.expires_at else None,
        "last_used_at": row.last_used_at.isoformat() if row.last_used_at else None,
        "revoked_at": row.revoked_at.isoformat() if row.revoked_at else None,
        "live": row.revoked_at is None and not expired,
    }
