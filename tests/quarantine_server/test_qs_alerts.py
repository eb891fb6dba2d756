"""Alert events: triggers, switches, and delivery to syslog, e-mail and a webhook."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from conftest import Server
from flask import Flask, request
from qs_helpers import ConnectProxy, SmtpSink, SyslogReceiver, forward

from dis_core.vocabulary import AlertEvent
from tests.support.samples import infected
from tests.support.servers import serve


@pytest.fixture
def syslog() -> Iterator[SyslogReceiver]:
    receiver = SyslogReceiver()
    yield receiver
    receiver.close()


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    sink.start()
    yield sink
    sink.stop()


RFC5424 = re.compile(
    r"^<(\d+)>1 (\S+) (\S+) dis-quarantine - (\S+) \[dis@32473 event=\"(\w+)\" sample=\"(\S+)\"\] (.+)$"
)


def test_event_goes_to_log_syslog_mail_and_webhook(
    server: Server, syslog: SyslogReceiver, smtp: SmtpSink
) -> None:
    hooked: list[dict[str, object]] = []
    hook = Flask("hook")
    hook.add_url_rule(
        "/hook", view_func=lambda: (hooked.append(request.get_json()), "")[1], methods=["POST"]
    )
    running = serve(hook, server.certs)
    try:
        server.set_properties(
            "alerting",
            syslog_address=syslog.address,
            smtp_address=smtp.address,
            mail_to="admin@example.invalid",
            webhook_url=f"{running.url}/hook",
        )
        server.set_properties("sample_policy", automatic_submission=False)
        sample_id = forward(server.http, server.url, infected("ALERT")).json()["id"]
        server.agent().scan_pass()
        line = syslog.receive()
        match = RFC5424.match(line)
        assert match, line
        assert (
            int(match.group(1)) == 16 * 8 + 4
            and match.group(5) == "sample_held"
            and match.group(6) == str(sample_id)
        )
        assert smtp.arrived.wait(5)
        recipients, data = smtp.messages[0]
        assert (
            "admin@example.invalid" in recipients and "Sample: held for manual submission" in data
        )
        assert (
            hooked and hooked[0]["event"] == "sample_held" and hooked[0]["sample_id"] == sample_id
        )
    finally:
        running.stop()


def test_disabled_event_is_not_raised(server: Server) -> None:
    server.set_properties("alerting", enabled_events=["quota_low"])
    server.set_properties("sample_policy", automatic_submission=False)
    forward(server.http, server.url, infected("QUIET"))
    server.agent().scan_pass()
    assert server.events("sample_held") == []
    kinds = {e["event"]: e["enabled"] for e in server.api("GET", "/event-types").json()["items"]}
    assert (
        kinds["quota_low"] is True
        and kinds["sample_held"] is False
        and len(kinds) == len(AlertEvent)
    )


def test_unknown_event_name_is_refused(server: Server) -> None:
    reply = server.api("PATCH", "/properties/alerting", json={"enabled_events": ["no_such_event"]})
    assert reply.status_code == 400 and "unknown event" in reply.json()["message"]


@pytest.mark.parametrize(
    ("status_setup", "setting", "event"),
    [
        ("quarantined", "too_long_quarantined_s", "sample_too_long_quarantined"),
        ("released", "too_long_released_s", "sample_too_long_released"),
        ("submitted", "too_long_submitted_s", "sample_too_long_submitted"),
        ("needed", "too_long_needed_s", "sample_too_long_needed"),
        ("distribute", "too_long_distribute_s", "sample_too_long_distribute"),
        ("distributed", "too_long_distributed_s", "sample_too_long_distributed"),
    ],
)
def test_too_long_in_a_status(server: Server, status_setup: str, setting: str, event: str) -> None:
    from qs_helpers import DefcastEndpoint

    from dis_core.definitions import VerifyKey
    from dis_core.protocol.packing import sha256_hex
    from tests.support.fake_gateway import Script

    agent = server.agent()
    listener = DefcastEndpoint(
        "PC-1", VerifyKey.load(server.data / "backoffice" / "keys" / "signing.pub")
    )
    running = serve(listener.app(), server.certs)
    try:
        server.set_properties("alerting", **{setting: 600})
        content = infected("SLOW")
        sample_id = forward(
            server.http, server.url, content, address="127.0.0.1", port=running.port
        ).json()["id"]
        server.gateway.scripts[sha256_hex(content)] = Script(["accepted", "infected"], sequence=1)
        steps = {
            "quarantined": [],
            "released": [agent.scan_pass],
            "submitted": [agent.scan_pass, agent.submit_pass],
            "needed": [agent.scan_pass, agent.submit_pass, agent.poll_pass],
            "distribute": [
                lambda: server.vendor.publish("SLOW", certified=True),
                agent.scan_pass,
                agent.submit_pass,
                agent.poll_pass,
                agent.definitions_pass,
            ],
            "distributed": [
                lambda: server.vendor.publish("SLOW", certified=True),
                agent.scan_pass,
                agent.submit_pass,
                agent.poll_pass,
                agent.definitions_pass,
                agent.defcast_pass,
            ],
        }[status_setup]
        for step in steps:
            step()
        assert server.sample(sample_id)["status"] == status_setup
        agent.monitor_pass()
        assert server.events(event) == []
        server.clock.advance(601)
        agent.monitor_pass()
        agent.monitor_pass()  # once per stay, not once per check
        assert [e["sample_id"] for e in server.events(event)] == [sample_id]
    finally:
        running.stop()


def test_heartbeats_notice_a_stopped_scanner_and_agent(server: Server) -> None:
    agent = server.agent()
    agent.scan_pass()
    agent.monitor_pass()
    assert server.events("scanner_unreachable") == []
    for _ in range(3):  # the agent is alive (its monitor beats), but the scanner has not run
        server.clock.advance(101)
        agent.monitor_pass()
    assert len(server.events("scanner_unreachable")) == 1
    server.clock.advance(301)
    # the web process checks the agent heartbeat when the API is used
    assert len(server.events("agent_stopped")) == 1
    health = server.api("GET", "/health").json()
    assert set(health["heartbeats"]) == {"agent", "scanner"}


def test_definition_directory_unavailable(server: Server) -> None:
    blocker = server.data / "not-a-dir"
    blocker.write_text("x")
    server.set_properties("definition_policy", definitions_dir=str(blocker))
    assert server.agent().scan_pass() == 0
    assert len(server.events("definition_dir_unavailable")) == 1
    assert server.api("GET", "/definitions").json()["active"]["available"] is False


def test_gateway_unreachable(server: Server) -> None:
    server.set_properties("web_communication", gateway_url="https://127.0.0.1:1")
    sample_id = forward(server.http, server.url, infected("NOWHERE")).json()["id"]
    agent = server.agent()
    agent.scan_pass()
    agent.submit_pass()
    assert server.sample(sample_id)["status"] == "released"
    assert len(server.events("gateway_unreachable")) == 1
    assert any(
        e["source"] == "gateway" for e in server.api("GET", "/general-errors").json()["items"]
    )


def test_submission_through_connect_proxy_with_credentials(server: Server) -> None:
    proxy = ConnectProxy("proxyuser", "p@ss:word")
    proxy.start()
    try:
        server.set_properties(
            "firewall",
            name="127.0.0.1",
            port=proxy.server_address[1],
            user="proxyuser",
            password="p@ss:word",
        )
        tab = server.api("GET", "/properties/firewall").json()["properties"]
        assert tab["password"]["value"] == "********"
        forward(server.http, server.url, infected("PROXY"))
        agent = server.agent()
        agent.scan_pass()
        assert agent.submit_pass() == 1
        assert proxy.tunnels == [f"127.0.0.1:{server.gateway_server.port}"]
        assert len(server.gateway.submissions) == 1
        server.set_properties("firewall", password="wrong-password")
        forward(server.http, server.url, infected("PROXY2"), sample_id="2")
        agent.scan_pass()
        agent.submit_pass()
        assert proxy.refused >= 1 and len(server.gateway.submissions) == 1
        assert server.events("gateway_unreachable")
        logged = str(server.events()) + str(server.api("GET", "/general-errors").json())
        assert "wrong-password" not in logged and "p@ss" not in logged
    finally:
        proxy.stop()


def test_syslog_line_format_has_structured_data() -> None:
    from dis_core.config import Config
    from quarantine_server.alerts import syslog_line

    line = syslog_line(
        Config(),
        {
            "severity": "error",
            "sample_id": None,
            "event": "agent_stopped",
            "title": "T",
            "message": "m",
            "at": "2026-01-01T00:00:00+00:00",
        },
    ).decode()
    assert json.dumps(line) and line.startswith(
        "<131>1 2026-01-01T00:00:00+00:00 qserver-1 dis-quarantine - agent_stopped "
    )


def test_no_delivery_for_work_that_was_rolled_back(server: Server, syslog: SyslogReceiver) -> None:
    import socket as socket_module

    from quarantine_server.alerts import raise_event

    server.set_properties("alerting", syslog_address=syslog.address)
    with server.services.work() as session:
        config = server.services.config(session)
    with pytest.raises(RuntimeError), server.services.work() as session:
        raise_event(session, config, server.clock.now(), AlertEvent.AGENT_STOPPED, "rolled back")
        raise RuntimeError("the unit of work fails after the event was raised")
    syslog.sock.settimeout(0.5)
    with pytest.raises(socket_module.timeout):
        syslog.receive()
    assert server.events("agent_stopped") == [] or all(
        e["message"] != "rolled back" for e in server.events("agent_stopped")
    )
