"""Security: no route of the API or console works without credentials, the console's forms
need their CSRF token, nothing in the source or the configuration turns TLS verification off."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from dis_core.config import Config, load_config
from quarantine_server.web.openapi import document
from tests.support.samples import forward_headers

from .helpers import ADMIN, VIEWER, QuarantineApp, quarantine_app, unique_content

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = [
    "dis_core",
    "endpoint",
    "quarantine_server",
    "gateway_sim",
    "backoffice",
    "launcher",
    "bench",
    "scripts",
]
METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def qs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[QuarantineApp]:
    app = quarantine_app(tmp_path_factory.mktemp("qs-security") / "data")
    headers, body = forward_headers(unique_content("security-1"))
    assert app.client().post("/intake/v1/samples", headers=headers, data=body).status_code == 201
    yield app
    app.close()


def _api_operations() -> list[tuple[str, str]]:
    found = []
    for path, operations in document()["paths"].items():
        concrete = re.sub(r"\{[^}]+\}", "1", path).replace("/properties/1", "/properties/general")
        found += [
            (method.upper(), "/api/v1" + concrete) for method in operations if method in METHODS
        ]
    return found


API_OPERATIONS = _api_operations()
NO_CREDENTIALS: list[dict[str, str]] = [
    {},
    {"Authorization": "Bearer not-a-token"},
    {"Authorization": "Bearer "},
    {"Authorization": "Basic YWRtaW46d3Jvbmc="},  # admin:wrong
    {"Authorization": "Basic !!!"},
    {"Authorization": "Digest username=admin"},
]


def test_the_openapi_document_lists_every_api_route(qs: QuarantineApp) -> None:
    rules = {
        re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", r.rule)
        for r in qs.app.url_map.iter_rules()
        if r.rule.startswith("/api/v1")
    }
    documented = {"/api/v1" + path for path in document()["paths"]}
    assert rules == documented


@pytest.mark.parametrize(("method", "path"), API_OPERATIONS)
def test_every_api_route_refuses_use_without_valid_credentials(
    qs: QuarantineApp, method: str, path: str
) -> None:
    client = qs.client()
    for headers in NO_CREDENTIALS:
        reply = client.open(
            path, method=method, headers=headers, json={"folder": "/tmp", "priority": 5, "ids": [1]}
        )
        assert reply.status_code == 401, (method, path, headers, reply.data[:200])
        assert reply.get_json()["error"] and "WWW-Authenticate" in reply.headers


def test_viewers_cannot_change_anything_through_the_api(qs: QuarantineApp) -> None:
    client = qs.client()
    viewer = _basic(*VIEWER)
    made = client.post("/api/v1/tokens", headers=viewer, json={"name": "mine"})
    assert made.status_code == 201  # a token of one's own, with one's own role
    for credentials in (viewer, {"Authorization": f"Bearer {made.get_json()['token']}"}):
        for method, path in API_OPERATIONS:
            if method == "GET" or path.startswith("/api/v1/tokens"):  # own tokens: tested apart
                continue
            reply = client.open(
                path,
                method=method,
                headers=credentials,
                json={"folder": "/tmp", "priority": 5, "ids": [1]},
            )
            assert reply.status_code == 403, (method, path, reply.status_code)
    assert (
        client.get("/api/v1/samples/1", headers=viewer).status_code == 200
    )  # and viewers may look


def _basic(user: str, password: str) -> dict[str, str]:
    import base64

    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_valid_credentials_work(qs: QuarantineApp) -> None:
    client = qs.client()
    assert client.get("/api/v1/samples", headers=qs.bearer).status_code == 200
    assert client.get("/api/v1/samples", headers=_basic(*ADMIN)).status_code == 200


# --- the console -----------------------------------------------------------------------------
def _console_rules(qs: QuarantineApp) -> list[tuple[str, str]]:
    found = []
    for rule in qs.app.url_map.iter_rules():
        if not rule.rule.startswith("/console") or rule.endpoint in {
            "console.login",
            "console.static",
        }:
            continue
        path = re.sub(r"<(?:\w+:)?\w+>", "1", rule.rule)
        found += [(method, path) for method in sorted((rule.methods or set()) & {"GET", "POST"})]
    return found


def test_every_console_page_needs_a_login(qs: QuarantineApp) -> None:
    client = qs.client()
    rules = _console_rules(qs)
    assert len(rules) >= 10
    for method, path in rules:
        if method == "POST":
            token = _csrf_from(client.get("/console/login").get_data(as_text=True))
            reply = client.post(path, data={"csrf_token": token, "ids": "1", "folder": "/tmp"})
        else:
            reply = client.get(path)
        assert reply.status_code in (302, 303, 401), (method, path, reply.status_code)
        if reply.status_code in (302, 303):
            assert "/console/login" in reply.headers["Location"]
    assert client.get("/console/items", headers={"Accept": "application/json"}).status_code in (
        302,
        401,
    )


def _csrf_from(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "no CSRF token in the page"
    return match.group(1)


def _login(client: FlaskClient, user: tuple[str, str]) -> str:
    token = _csrf_from(client.get("/console/login").get_data(as_text=True))
    reply = client.post(
        "/console/login", data={"csrf_token": token, "username": user[0], "password": user[1]}
    )
    assert reply.status_code == 303, reply.data[:300]
    return _csrf_from(client.get("/console/items").get_data(as_text=True))


def test_login_itself_needs_the_csrf_token(qs: QuarantineApp) -> None:
    client = qs.client()
    client.get("/console/login")
    reply = client.post("/console/login", data={"username": ADMIN[0], "password": ADMIN[1]})
    assert reply.status_code == 400
    assert client.get("/console/items").status_code in (302, 303)


def test_console_forms_refuse_a_missing_or_foreign_csrf_token(qs: QuarantineApp) -> None:
    client = qs.client()
    token = _login(client, ADMIN)
    forms = [p for m, p in _console_rules(qs) if m == "POST"]
    assert "/console/items/1/priority" in forms and "/console/server" in forms
    other = qs.client()
    foreign = _login(other, ADMIN)  # a valid token, but of another session
    for path in forms:
        for presented in (
            {},
            {"csrf_token": ""},
            {"csrf_token": foreign},
            {"csrf_token": token + "x"},
        ):
            reply = client.post(
                path, data={**presented, "ids": "1", "priority": "7", "confirm": "yes"}
            )
            assert reply.status_code == 400, (path, presented, reply.status_code)
    sample = client.get("/api/v1/samples/1", headers=qs.bearer).get_json()
    assert sample["priority"] != 7  # nothing changed


def test_console_forms_work_with_the_sessions_token(qs: QuarantineApp) -> None:
    client = qs.client()
    token = _login(client, ADMIN)
    reply = client.post("/console/items/1/priority", data={"csrf_token": token, "priority": "9"})
    assert reply.status_code in (302, 303)
    assert client.get("/api/v1/samples/1", headers=qs.bearer).get_json()["priority"] == 9


def test_session_cookie_is_http_only_and_same_site(qs: QuarantineApp) -> None:
    client = qs.client()
    token = _csrf_from(client.get("/console/login").get_data(as_text=True))
    reply = client.post(
        "/console/login", data={"csrf_token": token, "username": ADMIN[0], "password": ADMIN[1]}
    )
    cookie = reply.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def _session_cookie(client: FlaskClient) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def test_logout_ends_the_session_on_the_server_so_a_copied_cookie_is_worthless(
    qs: QuarantineApp,
) -> None:
    client = qs.client()
    csrf = _login(client, ADMIN)
    copied = _session_cookie(client)
    assert client.post("/console/logout", data={"csrf_token": csrf}).status_code == 303
    thief = qs.client()
    thief.set_cookie("session", copied)
    assert thief.get("/console/items").status_code in (302, 303)


@pytest.mark.parametrize(
    ("steps", "ended"),
    [
        ([1799], False),  # used within the idle timeout (1800 s)
        ([1801], True),  # left alone longer
        ([1700] * 25, False),  # busy for 11.8 hours: the absolute timeout (12 h) not reached
        ([1700] * 26, True),  # 12.3 hours after the login, however busy
    ],
)
def test_sessions_end_after_the_idle_and_the_absolute_timeout(
    qs: QuarantineApp, steps: list[int], ended: bool
) -> None:
    client = qs.client()
    _login(client, ADMIN)
    for seconds in steps:
        qs.clock.advance(seconds)
        reply = client.get("/console/items")
    assert (reply.status_code in (302, 303)) is ended


# --- TLS verification is never off -------------------------------------------------------------
FORBIDDEN = [
    re.compile(r"verify\s*=\s*False"),
    re.compile(r"CERT_NONE"),
    re.compile(r"check_hostname\s*=\s*False"),
    re.compile(r"_create_unverified_context"),
    re.compile(r"InsecureRequestWarning"),
    re.compile(r"PYTHONHTTPSVERIFY"),
    re.compile(r"curl[^\n]*\s(-k|--insecure)\b"),
]


def _source_files() -> list[Path]:
    files = []
    for package in PACKAGES:
        files += [
            p
            for p in (ROOT / package).rglob("*")
            if p.suffix in {".py", ".sh", ".toml", ".yaml", ".yml", ".cfg"}
        ]
    return files


def test_no_source_file_turns_tls_verification_off() -> None:
    files = _source_files()
    assert len(files) > 100
    offenders = [
        f"{p.relative_to(ROOT)}: {rx.pattern}"
        for p in files
        for rx in FORBIDDEN
        if rx.search(p.read_text(encoding="utf-8", errors="replace"))
    ]
    assert offenders == []


def test_no_configuration_key_can_turn_verification_off() -> None:
    config = load_config(None, environ={})
    for section in dataclasses.fields(config):
        value = getattr(config, section.name)
        if not dataclasses.is_dataclass(value):
            continue
        for key in dataclasses.fields(value):
            assert not re.search(
                r"insecure|no_verify|verify_tls|skip_verif|tls_verify|verify_ssl", key.name
            ), f"{section.name}.{key.name}"


def test_environment_cannot_switch_verification_off(tmp_path: Path) -> None:
    """Unknown keys (an attempt to add a switch) are refused, and the clients verify."""
    from dis_core.config import ConfigError

    with pytest.raises(ConfigError):
        load_config(None, environ={"DIS_WEB_COMMUNICATION__VERIFY": "false"})
    _assert_clients_verify(
        load_config(None, environ={}, overrides={"general": {"data_dir": str(tmp_path)}})
    )


def _assert_clients_verify(config: Config) -> None:
    from dis_core.certs import generate
    from quarantine_server.gateway import GatewayClient

    certs = generate(config.certs_dir)
    client = GatewayClient(config, certs.ca_cert)
    try:
        assert client.session.verify not in (False, None, "")
        assert Path(str(client.session.verify)).exists()
        assert client.session.trust_env is False
    finally:
        client.session.close()
