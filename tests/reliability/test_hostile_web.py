"""Hostile requests to the Quarantine Server: path traversal through file names and restore
targets, HTML injection through names shown in the console, oversized headers, and rule
injection through virus names in the definitions the back office writes."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yara
from hypothesis import given, settings
from hypothesis import strategies as st

from backoffice.analysis.names import virus_name
from backoffice.analysis.rules import binary_rule, macro_rule
from dis_core.definitions import Signature, SigningKey, build_full, read_package
from dis_core.definitions.model import VIRUS_NAME
from dis_core.definitions.rulefile import rule_file_text, rule_name
from tests.support.samples import forward_headers, marker_signature

from .helpers import (
    ADMIN,
    WHEN,
    QuarantineApp,
    files_under,
    quarantine_app,
    unique_content,
)

SCRIPT = "<script>alert(1)</script>"
HOSTILE_NAMES = [
    "../../../../../../tmp/evil.exe",
    "/etc/passwd",
    "..\\..\\..\\Windows\\System32\\evil.dll",
    "C:\\Windows\\System32\\drivers\\etc\\hosts",
    "....//....//evil.exe",
    "%2e%2e%2fevil.exe",
    "quarantine/../../escape.exe",
    ".incoming",
    "x" * 1000,
]


@pytest.fixture
def qs(tmp_path: Path) -> Iterator[QuarantineApp]:
    (tmp_path / "restore").mkdir()
    (tmp_path / "outside").mkdir()
    app = quarantine_app(tmp_path / "data", general={"restore_dirs": [str(tmp_path / "restore")]})
    yield app
    app.close()


def _forward(qs: QuarantineApp, tag: str, **attrs: object) -> int:
    headers, body = forward_headers(unique_content(tag), sample_id=tag, **attrs)  # type: ignore[arg-type]
    reply = qs.client().post("/intake/v1/samples", headers=headers, data=body)
    assert reply.status_code == 201, reply.data[:300]
    return int(reply.get_json()["id"])


# --- path traversal -----------------------------------------------------------------------------
def test_file_names_are_never_used_as_paths(qs: QuarantineApp, tmp_path: Path) -> None:
    before = set(files_under(tmp_path))
    ids = [_forward(qs, f"trav-{i}", file_name=name) for i, name in enumerate(HOSTILE_NAMES)]
    quarantine = Path(qs.config.path(qs.config.general.quarantine_dir)).resolve()
    new = set(files_under(tmp_path)) - before
    stored = {p for p in new if p.suffix == ".qsf"}
    assert len(stored) == len(HOSTILE_NAMES)
    assert all(
        p.parent == quarantine and re.fullmatch(r"[0-9a-f]{32}\.qsf", p.name) for p in stored
    )
    assert not any(
        p.is_relative_to(tmp_path / "outside") or not p.is_relative_to(tmp_path / "data")
        for p in new
    )
    client = qs.client()
    for sample_id, name in zip(ids, HOSTILE_NAMES, strict=True):
        assert (
            client.get(f"/api/v1/samples/{sample_id}", headers=qs.bearer).get_json()["file_name"]
            == name
        )


def _restore(qs: QuarantineApp, sample_id: int, folder: str) -> tuple[int, dict[str, object]]:
    reply = qs.client().post(
        f"/api/v1/samples/{sample_id}/restore", headers=qs.bearer, json={"folder": folder}
    )
    return reply.status_code, reply.get_json() or {}


def test_restore_never_writes_outside_the_restore_folders(
    qs: QuarantineApp, tmp_path: Path
) -> None:
    restore, outside = tmp_path / "restore", tmp_path / "outside"
    (restore / "sub").mkdir()
    (restore / "link").symlink_to(outside, target_is_directory=True)
    sample_id = _forward(qs, "restore-1", file_name="../../outside/evil.exe")
    for folder in [
        str(outside),
        f"{restore}/../outside",
        f"{restore}/link",
        f"{restore}/link/",
        "/",
        "/tmp",
        "relative/dir",
        f"{restore}/sub/../../outside",
        f"{restore}X",
        str(tmp_path),
    ]:
        status, body = _restore(qs, sample_id, folder)
        assert 400 <= status < 500 and body.get("error"), (folder, status, body)
    assert list(outside.iterdir()) == []
    status, body = _restore(qs, sample_id, f"{restore}/sub")
    assert status == 200, body
    written = Path(str(body["restored_to"]))
    assert written.parent == restore / "sub" and written.name == "evil.exe"
    assert written.read_bytes() == unique_content("restore-1")
    assert list(outside.iterdir()) == []


def test_restore_does_not_follow_a_symlink_planted_at_the_target(
    qs: QuarantineApp, tmp_path: Path
) -> None:
    restore, outside = tmp_path / "restore", tmp_path / "outside"
    (restore / "report.exe").symlink_to(outside / "victim.txt")
    sample_id = _forward(qs, "restore-2", file_name="report.exe")
    status, body = _restore(qs, sample_id, str(restore))
    assert 400 <= status < 500, body
    assert not (outside / "victim.txt").exists()


# --- HTML injection into the console ----------------------------------------------------------
def _login(qs: QuarantineApp):  # noqa: ANN202 - a logged-in FlaskClient
    client = qs.client()
    token = re.search(
        r'name="csrf_token" value="([^"]+)"', client.get("/console/login").get_data(as_text=True)
    )
    assert token
    reply = client.post(
        "/console/login",
        data={"csrf_token": token.group(1), "username": ADMIN[0], "password": ADMIN[1]},
    )
    assert reply.status_code == 303
    return client


INJECTED = {
    "file_name": f"{SCRIPT}.exe",
    "X-Platform-User": '"><img src=x onerror=alert(2)>',
    "X-Platform-Computer": "PC<iframe src=javascript:alert(3)>",
    "X-Scan-Virus-Name": "Sim.</title><script>alert(4)</script>",
    "X-Sample-Side-Effects": '["</script><script>alert(5)</script>"]',
}
RAW_MARKUP = ["<script>alert", "<img src=x", "<iframe", "</title><script>"]


def test_console_escapes_names_it_shows(qs: QuarantineApp) -> None:
    sample_id = _forward(qs, "html-1", **INJECTED)
    client = _login(qs)
    pages = [
        f"/console/items/{sample_id}?tab={tab}"
        for tab in ("general", "attributes", "actions", "errors", "path")
    ]
    pages += [
        "/console/items",
        f"/console/items/{sample_id}/path.svg",
        f"/console/items/delete?ids={sample_id}",
        f"/console/items/restore?ids={sample_id}",
        "/console/events",
        "/console/items?q=%3Cscript%3E",
    ]
    seen_escaped = False
    for page in pages:
        reply = client.get(page)
        assert reply.status_code == 200, (page, reply.status_code)
        text = reply.get_data(as_text=True)
        for raw in RAW_MARKUP:
            assert raw not in text, (page, raw)
        seen_escaped |= "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert seen_escaped
    rows = client.get("/console/items/rows.json").get_json()
    assert not any(raw in rows.get("rows_html", "") for raw in RAW_MARKUP)


def test_api_returns_names_as_json_text(qs: QuarantineApp) -> None:
    sample_id = _forward(qs, "html-2", **INJECTED)
    reply = qs.client().get(f"/api/v1/samples/{sample_id}", headers=qs.bearer)
    assert (
        reply.mimetype == "application/json"
        and reply.get_json()["file_name"] == INJECTED["file_name"]
    )
    assert reply.headers.get("X-Content-Type-Options", "nosniff") == "nosniff"


# --- oversized headers (the app's own checks; the servers' limits are in test_services) --------
def test_oversized_attribute_is_malformed_not_a_crash(qs: QuarantineApp) -> None:
    headers, body = forward_headers(unique_content("huge-1"), sample_id="huge-1")
    for name in ("X-Sample-File", "X-Platform-User", "X-Scan-Virus-Name"):
        reply = qs.client().post(
            "/intake/v1/samples", headers={**headers, name: "A" * 200_000}, data=body
        )
        assert reply.status_code == 400 and reply.get_json()["error"] == "malformed", name
    huge_unknown = {**headers, "X-Unknown-Attribute": "B" * 200_000}
    assert (
        qs.client().post("/intake/v1/samples", headers=huge_unknown, data=body).status_code == 201
    )


def test_many_headers_do_not_slow_intake_down(qs: QuarantineApp) -> None:
    headers, body = forward_headers(unique_content("many-1"), sample_id="many-1")
    crowd = {f"X-Filler-{i}": "v" * 100 for i in range(2000)}
    started = time.monotonic()
    reply = qs.client().post("/intake/v1/samples", headers={**headers, **crowd}, data=body)
    assert reply.status_code == 201 and time.monotonic() - started < 10


# --- rule injection through virus names ---------------------------------------------------------
hostile_names = st.one_of(
    st.text(max_size=60),
    st.sampled_from(
        [
            'Evil" } rule pwn { condition: true } //',
            "Sim.X.A\nrule pwn { condition: true }",
            'a"b',
            "{}",
            "*/ rule x {condition:true} /*",
        ]
    ),
)


def _rules_in(text: str) -> list[str]:
    return re.findall(r"(?m)^\s*rule\s+(\w+)", text)


@settings(max_examples=120, deadline=None)
@given(hostile_names, st.binary(min_size=4, max_size=40))
def test_virus_names_cannot_change_the_rules_the_builder_writes(name: str, pattern: bytes) -> None:
    for rule in (
        binary_rule("S1", name, pattern),
        macro_rule("S1", name, 'sub autoopen()\nmsgbox "x"'),
    ):
        assert _rules_in(rule) == [rule_name("S1")]
        compiled = yara.compile(source=rule)
        matched = [m.rule for m in compiled.match(data=b"MZ" + pattern)]
        assert set(matched) <= {rule_name("S1")}
        meta = re.search(r'virus = "([^"\n]*)"\n', rule)
        assert meta and all(c not in meta.group(1) for c in '"{}\\\n')


@settings(max_examples=120, deadline=None)
@given(
    st.one_of(st.binary(max_size=300), st.text(max_size=300)), st.sampled_from(["binary", "macro"])
)
def test_made_up_virus_names_are_always_valid(carried: bytes | str, kind: str) -> None:
    made = virus_name(carried, kind, b"seed")
    assert VIRUS_NAME.fullmatch(made), made


@settings(max_examples=60, deadline=None)
@given(hostile_names.filter(lambda n: not VIRUS_NAME.fullmatch(n)))
def test_a_set_with_a_hostile_virus_name_is_never_built(name: str) -> None:
    signature = marker_signature("S1", 1, repairable=False, virus_name=name)
    with pytest.raises(ValueError) as raised:
        build_full(1, [signature], certified=False, produced=WHEN, key=KEY)
    assert "virus name" in str(raised.value)


KEY = SigningKey.generate()


def test_rule_file_of_a_valid_set_compiles_to_exactly_its_rules() -> None:
    rules = [
        Signature(
            id=f"S{i}",
            virus_name=f"Sim.Name{i}.A",
            kind="binary",
            rule=binary_rule(f"S{i}", f"Sim.Name{i}.A", bytes([i]) * 8),
            repair=None,
            added_in=1,
            family="x",
            category="virus",
        )
        for i in range(1, 6)
    ]
    loaded = read_package(
        build_full(1, rules, certified=False, produced=WHEN, key=KEY), KEY.verify_key()
    )
    text = rule_file_text(loaded)
    assert sorted(_rules_in(text)) == sorted(rule_name(f"S{i}") for i in range(1, 6))
    yara.compile(source=text)


def test_nothing_was_written_outside_tmp() -> None:
    """A guard for the traversal tests above: no stray file in the working directory."""
    assert not Path(os.getcwd(), "evil.exe").exists() and not Path("/tmp/evil.exe").exists()


# --- bad input gets a clear 4xx in JSON ----------------------------------------------------------


def test_a_restore_folder_with_a_nul_byte_is_bad_input(qs: QuarantineApp, tmp_path: Path) -> None:
    sample_id = _forward(qs, "nul")
    folder = str(tmp_path / "restore") + "\x00/etc"
    reply = qs.client().post(
        f"/api/v1/samples/{sample_id}/restore", json={"folder": folder}, headers=qs.bearer
    )
    assert reply.status_code == 400 and reply.get_json()["error"] == "bad_request", reply.data


@pytest.mark.parametrize("path", ["/api/v1/samples/{}", "/api/v1/samples/{}/restart"])
def test_a_sample_id_too_large_for_the_database_is_no_such_sample(
    qs: QuarantineApp, path: str
) -> None:
    client = qs.client()
    url = path.format(10**30)
    reply = (
        client.get(url, headers=qs.bearer)
        if "restart" not in url
        else client.post(url, headers=qs.bearer)
    )
    assert reply.status_code == 404 and reply.is_json, reply.data


def test_a_confirmation_for_a_sample_id_too_large_is_malformed(qs: QuarantineApp) -> None:
    body = {
        "computer": "PC-1",
        "sequence": 2,
        "results": [{"sample_id": 10**30, "outcome": "repaired"}],
    }
    reply = qs.client().post("/intake/v1/confirmations", json=body)
    assert reply.status_code == 400 and reply.get_json()["error"] == "malformed", reply.data


def test_a_quarantine_size_beyond_any_disk_is_refused(qs: QuarantineApp) -> None:
    reply = qs.client().patch(
        "/api/v1/properties/general", json={"quarantine_max_mb": 10**23}, headers=qs.bearer
    )
    assert reply.status_code == 400 and reply.is_json, reply.data
