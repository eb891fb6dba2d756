"""Console pieces without a browser: state-path picture, list query parsing, login and CSRF."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dis_core.clock import ManualClock
from dis_core.config import load_config
from dis_core.lifecycle import STATE_MOVES, STATUS_MOVES
from dis_core.vocabulary import SampleState, SampleStatus
from quarantine_server import auth
from quarantine_server.console import statepath
from quarantine_server.console.listing import DEFAULT_PAGE_SIZE, ListQuery
from quarantine_server.console.rows import human_age
from quarantine_server.web.app import create_app

T0 = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)


def _step(
    seconds: int, field: str, before: str | None, after: str, reason: str = "test"
) -> statepath.PathStep:
    return statepath.PathStep(
        T0 + timedelta(seconds=seconds), field, before, after, "quarantine_server", reason
    )


def test_state_path_draws_each_change_in_its_lane_and_the_next_moves() -> None:
    steps = [
        _step(0, "status", None, "quarantined"),
        _step(5, "status", "quarantined", "released"),
        _step(9, "status", "released", "submitted"),
        _step(12, "state", None, "accepted"),
        _step(30, "state", "accepted", "importing", "<script>alert(1)</script>"),
    ]
    svg = str(statepath.render_svg(steps, title="a <b>name</b>"))
    nodes = re.findall(r'<g class="node">.*?class="value" fill="#ffffff">([^<]+)</text>', svg)
    assert nodes == ["quarantined", "released", "submitted", "accepted", "importing"]
    ghosts = re.findall(r'<g class="ghost">.*?class="value" fill="#[0-9a-f]+">([^<]+)</text>', svg)
    next_statuses = sorted(s.value for s in STATUS_MOVES[SampleStatus.SUBMITTED])[
        : statepath.GHOSTS_PER_LANE
    ]
    assert sorted(ghosts) == sorted(
        [*next_statuses, *(s.value for s in STATE_MOVES[SampleState.IMPORTING])]
    )
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert "a &lt;b&gt;name&lt;/b&gt;" in svg
    assert "+30s" in svg


def test_state_path_lanes_follow_the_state_groups() -> None:
    assert statepath.lane_of("status", "held") == "status"
    assert statepath.lane_of("state", "receiving") == "transit"
    assert statepath.lane_of("state", "deferred") == "pending"
    assert statepath.lane_of("state", "binaryScoring") == "active"
    assert statepath.lane_of("state", "infected") == "final"


def test_long_state_paths_wrap_into_bands_and_actions_are_left_out() -> None:
    class Row:
        def __init__(self, index: int, field: str) -> None:
            self.at, self.field, self.before, self.after = (
                T0 + timedelta(seconds=index),
                field,
                None,
                "held",
            )
            self.actor, self.reason = "administrator", "x"

    rows = [Row(i, "status") for i in range(20)] + [Row(21, "action")]
    steps = statepath.steps_from_rows(rows)
    assert len(steps) == 20
    height = int(re.search(r'height="(\d+)"', str(statepath.render_svg(steps))).group(1))  # type: ignore[union-attr]
    assert height == statepath.TOP + 3 * statepath.BAND_H
    empty = str(statepath.render_svg([]))
    assert "no history yet" in empty


def test_list_query_ignores_bad_values_and_builds_links() -> None:
    query = ListQuery.parse(
        {"status": "bogus", "state": "binaryWait", "sort": "drop table", "page": "-3", "per": "7"}
    )
    assert (query.status, query.state, query.sort, query.page, query.per_page) == (
        "",
        "binaryWait",
        "age",
        1,
        DEFAULT_PAGE_SIZE,
    )
    assert query.href(page=2) == "?state=binaryWait&sort=age&dir=desc&page=2&per=25"
    by_name = ListQuery.parse({"sort": "file"})
    assert not by_name.descending
    assert "dir=desc" in by_name.sort_href("file")


def test_ages_read_like_a_person_would_say_them() -> None:
    assert human_age(T0, T0 + timedelta(seconds=42)) == "42 s"
    assert human_age(T0, T0 + timedelta(minutes=12)) == "12 min"
    assert human_age(T0, T0 + timedelta(hours=5)) == "5 h"
    assert human_age(T0, T0 + timedelta(days=3)) == "3 d"


@pytest.fixture
def client(tmp_path: Path):  # type: ignore[no-untyped-def]
    config = load_config(environ={}, overrides={"general": {"data_dir": str(tmp_path)}})
    app = create_app(config, clock=ManualClock(T0))
    services = app.extensions["quarantine_services"]
    with services.work() as db:
        auth.create_user(db, "root", "long-enough-pw", "admin", T0)
    return app.test_client()


def _token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]


def test_login_needs_the_csrf_token_and_the_right_password(client) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/console/login")
    assert page.status_code == 200
    no_token = client.post(
        "/console/login", data={"username": "root", "password": "long-enough-pw"}
    )
    assert no_token.status_code == 400
    token = _token(page.get_data(as_text=True))
    wrong = client.post(
        "/console/login", data={"username": "root", "password": "nope", "csrf_token": token}
    )
    assert wrong.status_code == 401
    right = client.post(
        "/console/login",
        data={"username": "root", "password": "long-enough-pw", "csrf_token": token},
    )
    assert right.status_code == 303
    items = client.get("/console/items")
    assert items.status_code == 200
    assert _token(items.get_data(as_text=True)) != token  # a new token after login


def test_json_rows_need_a_login_and_answer_json(client) -> None:  # type: ignore[no-untyped-def]
    reply = client.get("/console/items/rows.json")
    assert reply.status_code == 401
    assert reply.get_json()["error"] == "unauthenticated"


def test_login_redirect_stays_on_this_site(client) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/console/login?next=https://evil.example/")
    token = _token(page.get_data(as_text=True))
    reply = client.post(
        "/console/login?next=https://evil.example/",
        data={"username": "root", "password": "long-enough-pw", "csrf_token": token},
    )
    assert reply.headers["Location"].endswith("/console/items")


def test_session_cookie_is_httponly_lax_and_secure_under_tls(tmp_path: Path) -> None:
    for tls in (False, True):
        config = load_config(
            environ={},
            overrides={"general": {"data_dir": str(tmp_path / str(tls)), "listen_tls": tls}},
        )
        app = create_app(config, clock=ManualClock(T0))
        cookie = app.test_client().get("/console/login").headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
        assert ("Secure" in cookie) is tls
        assert (tmp_path / str(tls) / "console.secret").stat().st_mode & 0o777 == 0o600


def test_console_pages_forbid_foreign_scripts_and_framing(client) -> None:  # type: ignore[no-untyped-def]
    headers = client.get("/console/login").headers
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Cache-Control"] == "no-store"
