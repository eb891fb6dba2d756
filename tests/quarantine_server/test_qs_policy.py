"""Sample Policy: automatic submission, held samples, manual submission rules, priorities,
the pending limit, stripping user data."""

from __future__ import annotations

import io
import zipfile

from conftest import Server
from qs_helpers import forward

from dis_core.protocol.packing import sha256_hex
from quarantine_server.strip import strip_user_data
from tests.support.fake_gateway import Script
from tests.support.samples import infected


def test_automatic_submission_off_holds_samples_and_raises_held(server: Server) -> None:
    server.set_properties("sample_policy", automatic_submission=False)
    sample_id = forward(server.http, server.url, infected("HELD")).json()["id"]
    agent = server.agent()
    agent.scan_pass()
    detail = server.sample(sample_id)
    assert (detail["status"], detail["priority"]) == ("held", 0)
    assert [e["sample_id"] for e in server.events("sample_held")] == [sample_id]
    agent.submit_pass()
    assert server.gateway.submissions == []


def test_manual_submission_rules(server: Server) -> None:
    server.set_properties("sample_policy", automatic_submission=False)
    agent = server.agent()
    held = forward(server.http, server.url, infected("M1"), sample_id="a").json()["id"]
    agent.scan_pass()
    assert server.sample(held)["manual_submission"]["eligible"] is True
    reply = server.api("POST", "/samples/queue", json={"ids": [held, 999], "priority": 700})
    results = {r["id"]: r for r in reply.json()["results"]}
    assert results[held]["queued"] is True and results[held]["status"] == "released"
    assert results[999] == {"id": 999, "queued": False, "reason": "no such sample"}
    again = server.api("POST", "/samples/queue", json={"ids": [held]}).json()["results"][0]
    assert again["queued"] is False and "priority is not 0" in again["reason"]
    agent.submit_pass()
    headers, _ = server.gateway.submissions[0]
    assert headers["X-Sample-Priority"] == "700"
    server.api("PUT", f"/samples/{held}/priority", json={"priority": 0})
    after = server.api("POST", "/samples/queue", json={"ids": [held]}).json()["results"][0]
    assert after["queued"] is False and "already submitted" in after["reason"]


def test_finished_sample_is_not_eligible(server: Server) -> None:
    server.vendor.publish("DONE", certified=True)
    agent = server.agent()
    agent.certified_pass()
    sample_id = forward(server.http, server.url, infected("DONE"), sequence=1).json()["id"]
    agent.scan_pass()
    server.api("PUT", f"/samples/{sample_id}/priority", json={"priority": 0})
    verdict = server.api("POST", "/samples/queue", json={"ids": [sample_id]}).json()["results"][0]
    assert verdict["queued"] is False and "finished" in verdict["reason"]


def test_priority_zero_holds_and_higher_priority_goes_first_within_the_limit(
    server: Server,
) -> None:
    server.set_properties("sample_policy", max_pending_at_gateway=2)
    agent = server.agent()
    ids = [
        forward(server.http, server.url, infected(f"P{i}"), sample_id=f"p{i}").json()["id"]
        for i in range(4)
    ]
    agent.scan_pass()
    for sample_id, priority in zip(ids, (100, 900, 500, 0), strict=True):
        assert (
            server.api(
                "PUT", f"/samples/{sample_id}/priority", json={"priority": priority}
            ).status_code
            == 200
        )
    assert server.sample(ids[3])["status"] == "held"
    for sample_id in ids[:3]:
        server.gateway.scripts[sha256_hex(infected(f"P{ids.index(sample_id)}"))] = Script(
            ["accepted", "uninfected"]
        )
    assert agent.submit_pass() == 2
    sent = [h["X-Sample-Priority"] for h, _ in server.gateway.submissions]
    assert sent == ["900", "500"]
    assert agent.submit_pass() == 0  # two are pending at the gateway
    agent.poll_pass()
    assert agent.submit_pass() == 1
    assert server.gateway.submissions[-1][0]["X-Sample-Priority"] == "100"


def test_held_samples_are_rescanned_when_new_definitions_arrive(server: Server) -> None:
    server.set_properties("sample_policy", automatic_submission=False)
    agent = server.agent()
    sample_id = forward(server.http, server.url, infected("LATER")).json()["id"]
    agent.scan_pass()
    assert server.sample(sample_id)["status"] == "held"
    server.vendor.publish("LATER", certified=True)
    agent.certified_pass()
    agent.scan_pass()
    assert server.sample(sample_id)["status"] == "distribute"


def _docx(core: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("docProps/core.xml", core)
        archive.writestr("word/document.xml", "<document>body SIMMARK-DOC</document>")
    return out.getvalue()


def test_strip_user_data_removes_document_properties_only(server: Server) -> None:
    document = _docx(
        b"<cp:coreProperties><dc:creator>Alice Secret</dc:creator></cp:coreProperties>"
    )
    stripped = strip_user_data(document)
    assert stripped is not None and b"Alice Secret" not in stripped
    assert (
        zipfile.ZipFile(io.BytesIO(stripped)).read("word/document.xml")
        == b"<document>body SIMMARK-DOC</document>"
    )
    assert strip_user_data(b"MZ not a document") is None
    server.set_properties("sample_policy", strip_user_data=True)
    agent = server.agent()
    forward(server.http, server.url, document, file_name="secret-plans.docx", user="alice")
    agent.scan_pass()
    agent.submit_pass()
    headers, content = server.gateway.submissions[0]
    assert headers["X-Content-Strip"] == "yes" and headers["X-Sample-Checksum"] == sha256_hex(
        document
    )
    assert b"Alice Secret" not in content
    assert (
        "X-Sample-File" not in headers
        and "X-Platform-User" not in headers
        and "X-Platform-Computer" not in headers
    )
    assert headers["X-Customer-Name"] == "Example Corp"


def test_ole_summary_strings_are_blanked() -> None:
    import struct

    from quarantine_server.strip import blank_property_strings

    section = (
        struct.pack("<II", 0, 1)
        + struct.pack("<II", 2, 16)
        + struct.pack("<HHI", 0x1E, 0, 6)
        + b"Alice\x00"
    )
    header = (
        b"\xfe\xff\x00\x00"
        + b"\x00" * 20
        + struct.pack("<I", 1)
        + b"\x00" * 16
        + struct.pack("<I", 48)
    )
    stream = header + section
    blanked = blank_property_strings(stream)
    assert b"Alice" not in blanked and len(blanked) == len(stream)


def test_held_sample_with_priority_is_released_when_automatic_submission_returns(
    server: Server,
) -> None:
    server.set_properties("sample_policy", automatic_submission=False)
    agent = server.agent()
    sample_id = forward(server.http, server.url, infected("BACK")).json()["id"]
    server.api("PUT", f"/samples/{sample_id}/priority", json={"priority": 300})
    agent.scan_pass()
    assert server.sample(sample_id)["status"] == "held"
    server.set_properties("sample_policy", automatic_submission=True)
    agent.scan_pass()
    assert server.sample(sample_id)["status"] == "released"
