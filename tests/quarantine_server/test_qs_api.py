"""The REST API: authentication, roles, listing, detail, actions, properties, errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ADMIN, VIEWER, Server
from qs_helpers import forward

from tests.support.samples import infected


def test_every_route_needs_a_user(server: Server) -> None:
    for path in (
        "/samples",
        "/samples/1",
        "/properties",
        "/events",
        "/definitions",
        "/openapi.json",
        "/health",
    ):
        reply = server.http.get(f"{server.url}/api/v1{path}", timeout=10)
        assert reply.status_code == 401, path
        assert (
            reply.json()["error"] == "unauthorized" and "Basic" in reply.headers["WWW-Authenticate"]
        )
    assert server.api("GET", "/samples", auth=("admin", "wrong-password")).status_code == 401
    assert (
        server.api(
            "GET", "/samples", headers={"Authorization": "Bearer nope"}, auth=("x", "y")
        ).status_code
        == 401
    )


def test_basic_auth_and_tokens(server: Server) -> None:
    assert server.api("GET", "/samples", auth=ADMIN).status_code == 200
    created = server.api("POST", "/tokens", auth=VIEWER, json={"name": "script"})
    assert created.status_code == 201
    token = created.json()["token"]
    reply = server.http.get(
        f"{server.url}/api/v1/samples", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert reply.status_code == 200


def test_viewer_cannot_change_anything(server: Server) -> None:
    sample_id = forward(server.http, server.url, infected("VIEW")).json()["id"]
    for method, path, body in (
        ("DELETE", f"/samples/{sample_id}", None),
        ("PUT", f"/samples/{sample_id}/priority", {"priority": 5}),
        ("POST", "/samples/queue", {"ids": [sample_id]}),
        ("PATCH", "/properties/general", {"console_refresh_s": 5}),
        ("POST", f"/samples/{sample_id}/restart", None),
    ):
        reply = server.api(method, path, role="viewer", json=body)
        assert reply.status_code == 403 and reply.json()["error"] == "forbidden", path
    assert server.api("GET", f"/samples/{sample_id}", role="viewer").status_code == 200


def _seed(server: Server) -> list[int]:
    rows = [("a.exe", "alice", "PC-1"), ("b.doc", "bob", "PC-2"), ("c.exe", "carol", "PC-1")]
    ids = []
    for i, (name, user, computer) in enumerate(rows):
        ids.append(
            forward(
                server.http,
                server.url,
                infected(f"L{i}"),
                sample_id=str(i),
                file_name=name,
                user=user,
                computer=computer,
            ).json()["id"]
        )
        server.clock.advance(60)
    return ids


def test_list_columns_filters_sorting_paging(server: Server) -> None:
    ids = _seed(server)
    page = server.api("GET", "/samples").json()
    assert page["total"] == 3 and [r["id"] for r in page["items"]] == ids[::-1]  # newest first
    row = page["items"][-1]
    assert {
        "file_name",
        "user",
        "computer",
        "analyzed",
        "age",
        "sample_state",
        "definitions_needed",
        "status",
        "virus",
        "errors",
    } <= set(row)
    assert row["age_seconds"] == 180 and row["analyzed"] is False and row["status"] == "quarantined"
    assert [
        r["user"]
        for r in server.api("GET", "/samples?computer=PC-1&sort=user&order=asc").json()["items"]
    ] == ["alice", "carol"]
    assert server.api("GET", "/samples?file_name=.doc").json()["total"] == 1
    assert server.api("GET", "/samples?status=quarantined,held").json()["total"] == 3
    assert server.api("GET", "/samples?status=held").json()["total"] == 0
    assert server.api("GET", "/samples?analyzed=true").json()["total"] == 0
    second = server.api("GET", "/samples?per_page=2&page=2&sort=id&order=asc").json()
    assert [r["id"] for r in second["items"]] == [ids[2]] and second["total"] == 3


@pytest.mark.parametrize(
    "query",
    [
        "status=bogus",
        "sort=password",
        "order=up",
        "page=0",
        "per_page=501",
        "analyzed=maybe",
        "page=x",
    ],
)
def test_bad_list_queries_are_400(server: Server, query: str) -> None:
    reply = server.api("GET", f"/samples?{query}")
    assert reply.status_code == 400 and reply.json()["error"] == "bad_request"


def test_detail_has_attributes_with_meanings_history_and_errors(server: Server) -> None:
    sample_id = forward(server.http, server.url, infected("DETAIL")).json()["id"]
    detail = server.sample(sample_id)
    attributes = {a["name"]: a for a in detail["attributes"]}
    assert attributes["X-Platform-User"]["value"] == "alice"
    assert attributes["X-Platform-User"]["meaning"].startswith("User logged on")
    assert "X-Content-Scrambling-Key" not in attributes
    assert detail["history"][0]["after"] == "quarantined" and detail["error_details"] == []
    assert server.api("GET", "/samples/999").status_code == 404


def test_delete_removes_row_and_file(server: Server) -> None:
    sample_id = forward(server.http, server.url, infected("DEL")).json()["id"]
    assert len(server.services.vault.stored_files()) == 1
    assert server.api("DELETE", f"/samples/{sample_id}").status_code == 204
    assert server.api("GET", f"/samples/{sample_id}").status_code == 404
    assert server.services.vault.stored_files() == []
    assert server.api("DELETE", f"/samples/{sample_id}").status_code == 404


def test_restore_only_into_configured_folders(server: Server, tmp_path: Path) -> None:
    allowed = tmp_path / "restore"
    allowed.mkdir()
    (tmp_path / "elsewhere").mkdir()
    content = infected("REST")
    sample_id = forward(server.http, server.url, content, file_name="..\\..\\evil.exe").json()["id"]
    no_dirs = server.api("POST", f"/samples/{sample_id}/restore", json={"folder": str(allowed)})
    assert no_dirs.status_code == 409
    server.set_properties("general", restore_dirs=[str(allowed)])
    for folder in (str(tmp_path / "elsewhere"), f"{allowed}/../elsewhere", "/etc"):
        reply = server.api("POST", f"/samples/{sample_id}/restore", json={"folder": folder})
        assert reply.status_code == 403 and "not inside" in reply.json()["message"], folder
    (allowed / "link").symlink_to(tmp_path / "elsewhere")
    assert (
        server.api(
            "POST", f"/samples/{sample_id}/restore", json={"folder": str(allowed / "link")}
        ).status_code
        == 403
    )
    reply = server.api("POST", f"/samples/{sample_id}/restore", json={"folder": str(allowed)})
    assert reply.status_code == 200
    restored = Path(reply.json()["restored_to"])
    assert restored == allowed / "evil.exe" and restored.read_bytes() == content
    assert (
        server.api(
            "POST", f"/samples/{sample_id}/restore", json={"folder": str(allowed)}
        ).status_code
        == 409
    )
    assert server.sample(sample_id)["history"][-1]["after"] == "restored"


def test_priority_validation(server: Server) -> None:
    sample_id = forward(server.http, server.url, infected("PRIO")).json()["id"]
    for body in (
        {"priority": 1001},
        {"priority": -1},
        {"priority": "high"},
        {},
        {"priority": True},
    ):
        assert server.api("PUT", f"/samples/{sample_id}/priority", json=body).status_code == 400
    assert server.api("PUT", f"/samples/{sample_id}/priority", data="not json").status_code == 400
    reply = server.api("PUT", f"/samples/{sample_id}/priority", json={"priority": 42})
    assert reply.status_code == 200 and reply.json()["priority"] == 42
    attributes = {a["name"]: a["value"] for a in server.sample(sample_id)["attributes"]}
    assert attributes["X-Sample-Priority"] == "42"


def test_queue_validation(server: Server) -> None:
    for body in ({}, {"ids": []}, {"ids": ["a"]}, {"ids": [1], "priority": 0}, {"ids": [True]}):
        assert server.api("POST", "/samples/queue", json=body).status_code == 400, body


def test_restart_of_a_new_sample_is_a_conflict(server: Server) -> None:
    sample_id = forward(server.http, server.url, infected("NEW")).json()["id"]
    reply = server.api("POST", f"/samples/{sample_id}/restart")
    assert reply.status_code == 409 and reply.json()["error"] == "conflict"


def test_properties_every_tab_readable_and_writable(server: Server) -> None:
    everything = server.api("GET", "/properties").json()
    assert set(everything) == {
        "general",
        "web_communication",
        "firewall",
        "sample_policy",
        "definition_policy",
        "customer",
        "alerting",
        "general_errors",
    }
    assert everything["definition_policy"]["properties"]["active_sequence"]["value"] == 0
    changes = {
        "general": {"console_refresh_s": 10},
        "web_communication": {"timeout_s": 7.5},
        "firewall": {"user": "u"},
        "sample_policy": {"queue_check_interval_s": 5},
        "definition_policy": {"certified_interval_s": 600},
        "customer": {"contact_name": "Dana"},
        "alerting": {"too_long_needed_s": 99},
    }
    for tab, values in changes.items():
        reply = server.api("PATCH", f"/properties/{tab}", json=values)
        assert reply.status_code == 200, reply.text
        for key, value in values.items():
            assert reply.json()["properties"][key]["value"] == value
    assert server.api("PATCH", "/properties/general", json={"listen_port": 9000}).json()[
        "needs_restart"
    ] == ["listen_port"]


@pytest.mark.parametrize(
    ("tab", "values", "status"),
    [
        ("general", {"data_dir": "/tmp"}, 400),
        ("general", {"quarantine_max_mb": 0}, 400),
        ("general", {"no_such_key": 1}, 400),
        ("general", {"restore_dirs": ["relative/path"]}, 400),
        ("sample_policy", {"default_priority": 2000}, 400),
        ("sample_policy", {"automatic_submission": "perhaps"}, 400),
        ("customer", {"company_name": "  "}, 400),
        ("firewall", {"name": "proxy.local"}, 400),
        ("nowhere", {"a": 1}, 404),
        ("general_errors", {"a": 1}, 405),
    ],
)
def test_invalid_properties_are_refused(
    server: Server, tab: str, values: dict[str, object], status: int
) -> None:
    reply = server.api("PATCH", f"/properties/{tab}", json=values)
    assert reply.status_code == status, reply.text
    assert reply.json()["message"]


def test_openapi_document_lists_the_routes(server: Server) -> None:
    document = server.api("GET", "/openapi.json").json()
    assert document["openapi"].startswith("3.")
    assert {
        "/samples",
        "/samples/{sample_id}",
        "/samples/queue",
        "/properties/{tab}",
        "/events",
        "/definitions",
    } <= set(document["paths"])


def test_unknown_route_and_method_are_json_errors(server: Server) -> None:
    reply = server.api("GET", "/nothing-here")
    assert reply.status_code == 404 and reply.json()["error"] == "not_found"
    reply = server.api("PUT", "/events")
    assert reply.status_code == 405 and reply.json()["error"]


def test_users_are_validated_and_passwords_hashed(server: Server) -> None:
    from quarantine_server.auth import UserError, create_user, verify_password

    with server.services.work() as session:
        user = create_user(session, "carol", "long-enough-password", "viewer", server.clock.now())
        assert user.password_hash.startswith("scrypt:") and "long-enough" not in user.password_hash
        for name, password, role in (
            ("carol", "another-password", "viewer"),
            ("bad name", "x" * 10, "admin"),
            ("dave", "short", "admin"),
            ("erin", "long-enough-password", "root"),
        ):
            with pytest.raises(UserError):
                create_user(session, name, password, role, server.clock.now())
        assert verify_password(session, "carol", "long-enough-password") is not None
        assert verify_password(session, "carol", "wrong-password") is None
        assert verify_password(session, "nobody", "long-enough-password") is None


def test_the_address_dis_up_prints_leads_to_the_console(server: Server) -> None:
    reply = server.http.get(f"{server.url}/", allow_redirects=False, timeout=10)
    assert reply.status_code == 302 and reply.headers["Location"].endswith("/console/")
    followed = server.http.get(f"{server.url}/", timeout=10)
    assert followed.status_code == 200 and "/console/login" in followed.url
