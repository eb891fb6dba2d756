"""API tokens: scoped to a role no higher than their owner's, expiring, listed without their
secret, revoked at once; tokens made before scopes existed keep working."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import ADMIN, VIEWER, Server
from sqlalchemy import text

from dis_core.config import load_config
from dis_core.db import unit_of_work
from quarantine_server.auth import create_user
from quarantine_server.database import open_database
from quarantine_server.tokens import digest, token_login


def _bearer(server: Server, token: str, method: str = "GET", path: str = "/samples") -> int:
    headers = {"Authorization": f"Bearer {token}"}
    return server.http.request(
        method, f"{server.url}/api/v1{path}", headers=headers, timeout=30
    ).status_code


def _make(server: Server, auth: tuple[str, str], **body: object) -> dict[str, object]:
    reply = server.api("POST", "/tokens", auth=auth, json={"name": "script", **body})
    assert reply.status_code == 201, reply.text
    return reply.json()


def test_a_viewer_scoped_token_of_an_admin_cannot_change_anything(server: Server) -> None:
    made = _make(server, ADMIN, scope="viewer")
    assert made["scope"] == "viewer" and made["user"] == "admin"
    secret = str(made["token"])
    assert _bearer(server, secret) == 200
    assert _bearer(server, secret, "PUT", "/samples/1/priority") == 403
    assert _bearer(server, secret, "POST", "/samples/queue") == 403


def test_a_viewer_cannot_mint_an_admin_token(server: Server) -> None:
    reply = server.api("POST", "/tokens", auth=VIEWER, json={"scope": "admin"})
    assert reply.status_code == 400 and "scope" in reply.json()["message"]


def test_a_token_stops_working_when_it_expires(server: Server) -> None:
    secret = str(_make(server, VIEWER, days=2)["token"])
    server.clock.advance(2 * 86400 - 1)
    assert _bearer(server, secret) == 200
    server.clock.advance(1)
    assert _bearer(server, secret) == 401


def test_a_revoked_token_stops_at_once_and_listing_never_shows_secrets(server: Server) -> None:
    made = _make(server, VIEWER)
    secret, token_id = str(made["token"]), made["id"]
    listed = server.api("GET", "/tokens", auth=VIEWER).json()["tokens"]
    assert [t["id"] for t in listed if t["user"] == "viewer"] and secret not in str(listed)
    assert {t["user"] for t in listed} == {"viewer"}  # a viewer sees only its own
    assert server.api("DELETE", f"/tokens/{token_id}", auth=VIEWER).status_code == 204
    assert _bearer(server, secret) == 401
    again = server.api("DELETE", f"/tokens/{token_id}", auth=VIEWER)
    assert again.status_code == 204  # idempotent
    shown = [t for t in server.api("GET", "/tokens").json()["tokens"] if t["id"] == token_id]
    assert shown[0]["revoked_at"] and shown[0]["live"] is False


def test_one_cannot_revoke_or_see_another_users_token(server: Server) -> None:
    admins = _make(server, ADMIN)
    assert server.api("DELETE", f"/tokens/{admins['id']}", auth=VIEWER).status_code == 404
    assert _bearer(server, str(admins["token"])) == 200
    everyone = server.api("GET", "/tokens", auth=ADMIN).json()["tokens"]
    assert {"admin", "viewer"} <= {t["user"] for t in everyone}


@pytest.mark.parametrize("body", [{"days": 0}, {"days": 3651}, {"days": "7"}, {"scope": "root"}])
def test_bad_token_requests_are_400(server: Server, body: dict[str, object]) -> None:
    assert server.api("POST", "/tokens", json=body).status_code == 400


def test_an_embedded_database_from_before_scopes_keeps_its_tokens(tmp_path: Path) -> None:
    """An api_tokens table as revision 0004 left it gets the new columns when the server opens
    it, and its tokens keep their owner's role."""
    with closing(sqlite3.connect(tmp_path / "quarantine_server.sqlite3")) as old:
        old.execute(OLD_TOKENS_TABLE)
        old.commit()
    database = open_database(load_config(None, overrides={"general": {"data_dir": str(tmp_path)}}))
    try:
        with unit_of_work(database.sessions) as session:
            owner = create_user(session, "ops", "ops-password", "viewer", NOW)
            session.execute(
                text("INSERT INTO api_tokens (user_id, token_sha256, name, created_at) "
                     "VALUES (:u, :d, 'old', '2026-01-01 00:00:00.000000')"),
                {"u": owner.id, "d": digest("old-secret")},
            )  # fmt: skip
        with unit_of_work(database.sessions) as session:
            login = token_login(session, "old-secret", NOW)
            assert login is not None and login.role == "viewer"
    finally:
        database.engine.dispose()


OLD_TOKENS_TABLE = """CREATE TABLE api_tokens (
    id INTEGER NOT NULL PRIMARY KEY, user_id INTEGER NOT NULL, token_sha256 VARCHAR(64) NOT NULL
    UNIQUE, name VARCHAR(80) NOT NULL, created_at DATETIME NOT NULL)"""
NOW = datetime(2026, 12, 4, tzinfo=UTC)
