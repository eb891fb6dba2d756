"""The agent moves samples through every status against a fake gateway and endpoint (TLS)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from conftest import Server
from qs_helpers import DefcastEndpoint, forward

from dis_core.config import Config
from dis_core.definitions import DefinitionSet, Detection, Scanner, VerifyKey, read_package
from dis_core.protocol.packing import sha256_hex
from quarantine_server.agent import Agent
from quarantine_server.gateway import GatewayClient, Reply
from quarantine_server.models import Sample
from quarantine_server.scanning import rescan_after_install
from tests.support.fake_gateway import Script
from tests.support.samples import infected
from tests.support.servers import Running, serve


def statuses(server: Server, sample_id: int) -> list[str]:
    return [h["after"] for h in server.sample(sample_id)["history"] if h["field"] == "status"]


@pytest.fixture
def endpoint(server: Server) -> Iterator[tuple[DefcastEndpoint, Running]]:
    listener = DefcastEndpoint(
        "PC-1", VerifyKey.load(server.data / "backoffice" / "keys" / "signing.pub")
    )
    running = serve(listener.app(), server.certs)
    yield listener, running
    running.stop()


def test_novel_virus_travels_to_installed(
    server: Server, endpoint: tuple[DefcastEndpoint, Running]
) -> None:
    listener, running = endpoint
    server.vendor.publish("BASE", certified=True)  # set 1: the server does not know NOVEL yet
    content = infected("NOVEL")
    sample_id = forward(
        server.http, server.url, content, address="127.0.0.1", port=running.port
    ).json()["id"]
    agent = server.agent()
    assert agent.certified_pass() == 1
    assert agent.scan_pass() == 1
    assert server.sample(sample_id)["status"] == "released"
    server.gateway.scripts[sha256_hex(content)] = Script(
        ["accepted", "importing", "classifying", "infected"], sequence=2, virus="Sim.Test.NOVEL"
    )
    assert agent.submit_pass() == 1
    detail = server.sample(sample_id)
    assert detail["status"] == "submitted" and detail["sample_state"] == "accepted"
    agent.poll_pass()
    agent.poll_pass()
    assert server.sample(sample_id)["sample_state"] == "classifying"
    server.vendor.publish("NOVEL")  # set 2, not certified
    agent.poll_pass()
    detail = server.sample(sample_id)
    assert (
        detail["status"],
        detail["sample_state"],
        detail["definitions_needed"],
        detail["analyzed"],
    ) == ("needed", "infected", 2, True)
    assert agent.definitions_pass() == 1
    assert "increment 1->2" in server.gateway.requests_seen  # increments first
    detail = server.sample(sample_id)
    assert detail["status"] == "distribute" and detail["repaired"] is True
    assert agent.defcast_pass() == 1
    assert listener.sequence == 2 and server.sample(sample_id)["status"] == "distributed"
    confirm = server.http.post(
        f"{server.url}/intake/v1/confirmations",
        timeout=10,
        json={
            "computer": "PC-1",
            "sequence": 2,
            "results": [{"sample_id": sample_id, "outcome": "repaired"}],
        },
    )
    assert confirm.status_code == 200 and confirm.json()["results"][0]["status"] == "installed"
    history = len(server.sample(sample_id)["history"])
    repeat = server.http.post(
        f"{server.url}/intake/v1/confirmations",
        timeout=10,
        json={
            "computer": "PC-1",
            "sequence": 2,
            "results": [{"sample_id": sample_id, "outcome": "repaired"}],
        },
    )
    assert repeat.json()["results"][0] == {
        "sample_id": sample_id,
        "applied": True,
        "status": "installed",
    }
    assert len(server.sample(sample_id)["history"]) == history
    stranger = server.http.post(
        f"{server.url}/intake/v1/confirmations",
        timeout=10,
        json={
            "computer": "PC-666",
            "sequence": 2,
            "results": [{"sample_id": sample_id, "outcome": "repaired"}],
        },
    )
    assert stranger.json()["results"][0]["applied"] is False
    assert statuses(server, sample_id) == [
        "quarantined",
        "released",
        "submitted",
        "needed",
        "distribute",
        "distributed",
        "installed",
    ]
    kinds = {e["event"] for e in server.events()}
    assert {"certified_defs_arrived", "uncertified_defs_arrived"} <= kinds
    assert server.sample(sample_id)["date_finished"] is not None
    pulled = server.http.get(f"{server.url}/intake/v1/definitions/active", timeout=10)
    assert pulled.status_code == 200 and pulled.headers["X-Signatures-Sequence"] == "2"
    assert pulled.headers["X-Signatures-Checksum"] == sha256_hex(pulled.content)
    assert (
        server.http.get(f"{server.url}/intake/v1/definitions/1", timeout=10).json()["error"]
        == "superseded"
    )
    assert (
        server.http.get(f"{server.url}/intake/v1/definitions/3", timeout=10).json()["error"]
        == "unavailable"
    )


def test_known_virus_is_settled_by_the_server_and_never_submitted(server: Server) -> None:
    server.vendor.publish("KNOWN", certified=True)
    agent = server.agent()
    agent.certified_pass()
    behind = forward(server.http, server.url, infected("KNOWN"), sample_id="a", sequence=0).json()[
        "id"
    ]
    current = forward(server.http, server.url, infected("KNOWN"), sample_id="b", sequence=1).json()[
        "id"
    ]
    agent.scan_pass()
    agent.submit_pass()
    assert server.gateway.submissions == []
    assert server.sample(behind)["status"] == "distribute"
    assert server.sample(behind)["virus"] == "Sim.Test.KNOWN"
    assert server.sample(current)["status"] == "unneeded"


def test_endpoint_without_defcast_listener_confirms_after_pulling(server: Server) -> None:
    server.vendor.publish("PULL", certified=True)
    agent = server.agent()
    agent.certified_pass()
    sample_id = forward(server.http, server.url, infected("PULL")).json()["id"]
    agent.scan_pass()
    agent.defcast_pass()
    assert server.sample(sample_id)["status"] == "distribute"
    assert (
        len(server.events("target_install_failed")) == 1
    )  # definitions wait for an unmanaged client
    reply = server.http.post(
        f"{server.url}/intake/v1/confirmations",
        timeout=10,
        json={
            "computer": "PC-1",
            "sequence": 1,
            "results": [{"sample_id": sample_id, "outcome": "not_repaired"}],
        },
    )
    assert reply.json()["results"][0]["status"] == "installed"
    assert statuses(server, sample_id)[-3:] == ["distribute", "distributed", "installed"]
    assert server.events("sample_not_repaired")


def test_held_delivery_makes_available_then_refused_push_is_not_installed(
    server: Server, endpoint: tuple[DefcastEndpoint, Running]
) -> None:
    listener, running = endpoint
    listener.refuse = True
    server.vendor.publish("HOLD", certified=True)
    server.set_properties("definition_policy", hold_delivery=True)
    agent = server.agent()
    agent.certified_pass()
    sample_id = forward(
        server.http, server.url, infected("HOLD"), address="127.0.0.1", port=running.port
    ).json()["id"]
    agent.scan_pass()
    assert server.sample(sample_id)["status"] == "available"
    assert server.events("sample_defs_held")
    confirm = server.http.post(
        f"{server.url}/intake/v1/confirmations",
        timeout=10,
        json={
            "computer": "PC-1",
            "sequence": 1,
            "results": [{"sample_id": sample_id, "outcome": "install_failed"}],
        },
    )
    assert confirm.json()["results"][0]["status"] == "not installed"
    assert statuses(server, sample_id)[-3:] == ["available", "distribute", "not installed"]


def test_defcast_refusal_is_not_installed_and_unreachable_is_defcast_error(
    server: Server, endpoint: tuple[DefcastEndpoint, Running]
) -> None:
    listener, running = endpoint
    listener.refuse = True
    server.vendor.publish("PUSH", certified=True)
    agent = server.agent()
    agent.certified_pass()
    refused = forward(
        server.http,
        server.url,
        infected("PUSH"),
        sample_id="a",
        address="127.0.0.1",
        port=running.port,
    ).json()["id"]
    gone = forward(
        server.http,
        server.url,
        infected("PUSH"),
        sample_id="b",
        computer="PC-9",
        address="127.0.0.1",
        port=1,
    ).json()["id"]
    agent.scan_pass()
    agent.defcast_pass()
    assert server.sample(refused)["status"] == "not installed"
    assert server.events("target_install_failed")
    assert server.sample(gone)["status"] == "distribute"
    assert server.events("defcast_error")
    assert any(
        e["source"] == "defcast" for e in server.api("GET", "/general-errors").json()["items"]
    )


@pytest.mark.parametrize(
    ("final", "status", "event"),
    [
        ("uninfected", "unneeded", None),
        ("nodetect", "unneeded", None),
        ("declined", "attention", "sample_needs_attention"),
        ("attention", "attention", "sample_needs_attention"),
        ("error", "error", "sample_processing_error"),
        ("broken", "error", "sample_processing_error"),
        ("norepair", "needed", "sample_not_repaired"),
    ],
)
def test_final_states_map_to_statuses(
    server: Server, final: str, status: str, event: str | None
) -> None:
    content = infected(f"FIN{final.upper()}")
    sample_id = forward(server.http, server.url, content).json()["id"]
    server.gateway.scripts[sha256_hex(content)] = Script(
        [final],
        sequence=5 if final == "norepair" else 0,
        error="internal" if final in {"error", "broken"} else "",
    )
    agent = server.agent()
    agent.scan_pass()
    agent.submit_pass()  # the reply to the submission is already final
    detail = server.sample(sample_id)
    assert (detail["status"], detail["sample_state"]) == (status, final)
    if event:
        assert [e["sample_id"] for e in server.events(event)] == [sample_id]
    if status == "error":
        assert detail["errors"] == ["internal"]


def test_declined_submission_needs_attention_and_unknown_cookie_is_crumbled(server: Server) -> None:
    agent = server.agent()
    first = forward(server.http, server.url, infected("DECL")).json()["id"]
    agent.scan_pass()
    server.gateway.refuse_submit = (403, "declined")
    agent.submit_pass()
    detail = server.sample(first)
    assert detail["status"] == "attention" and detail["errors"] == ["declined"]
    server.gateway.refuse_submit = None
    second = forward(server.http, server.url, infected("CRUMB")).json()["id"]
    agent.scan_pass()
    agent.submit_pass()
    server.gateway.cookies.clear()  # the gateway forgot the cookie
    agent.poll_pass()
    detail = server.sample(second)
    assert detail["status"] == "error" and detail["errors"] == ["crumbled"]


def test_restart_sends_a_sample_round_again(server: Server) -> None:
    agent = server.agent()
    content = infected("AGAIN")
    sample_id = forward(server.http, server.url, content).json()["id"]
    server.gateway.scripts[sha256_hex(content)] = Script(["error"], error="internal")
    agent.scan_pass()
    agent.submit_pass()
    assert server.sample(sample_id)["status"] == "error"
    reply = server.api("POST", f"/samples/{sample_id}/restart")
    assert reply.status_code == 200 and reply.json()["status"] == "quarantined"
    server.gateway.scripts[sha256_hex(content)] = Script(["uninfected"])
    agent.scan_pass()
    agent.submit_pass()
    assert (
        statuses(server, sample_id)[-4:] == ["restart", "quarantined", "released", "submitted"]
        or server.sample(sample_id)["status"] == "unneeded"
    )
    assert "restart" in statuses(server, sample_id)
    assert server.sample(sample_id)["status"] == "unneeded"


def test_needed_definitions_that_are_not_published_wait_then_arrive(server: Server) -> None:
    server.vendor.publish("W0", certified=True)
    agent = server.agent()
    agent.certified_pass()
    content = infected("WAIT")
    sample_id = forward(server.http, server.url, content).json()["id"]
    server.gateway.scripts[sha256_hex(content)] = Script(
        ["infected"], sequence=2, virus="Sim.Test.WAIT"
    )
    agent.scan_pass()
    agent.submit_pass()
    assert server.sample(sample_id)["status"] == "needed"
    agent.definitions_pass()
    assert server.sample(sample_id)["status"] == "needed"
    assert [e["sample_id"] for e in server.events("waiting_for_definitions")] == [sample_id]
    server.vendor.publish("WAIT")
    agent.definitions_pass()
    assert server.sample(sample_id)["status"] == "distribute"


def test_certified_only_policy_waits_for_certified_set(server: Server) -> None:
    server.vendor.publish("C0", certified=True)
    server.set_properties("definition_policy", use_newest=False)
    agent = server.agent()
    agent.certified_pass()
    content = infected("CERT")
    sample_id = forward(server.http, server.url, content).json()["id"]
    server.gateway.scripts[sha256_hex(content)] = Script(["infected"], sequence=2)
    agent.scan_pass()
    agent.submit_pass()
    server.vendor.publish("CERT")  # 2: not certified, so not taken
    agent.definitions_pass()
    assert server.sample(sample_id)["status"] == "needed" and server.events(
        "waiting_for_definitions"
    )
    server.vendor.publish(certified=True)  # 3: certified, carries CERT too
    agent.definitions_pass()
    detail = server.sample(sample_id)
    assert detail["status"] == "distribute" and detail["definitions_needed"] == 3


def test_corrupt_definitions_fail_the_install(server: Server) -> None:
    server.vendor.publish("K0", certified=True)
    agent = server.agent()
    agent.certified_pass()
    content = infected("CORRUPT")
    sample_id = forward(server.http, server.url, content).json()["id"]
    server.gateway.scripts[sha256_hex(content)] = Script(["infected"], sequence=2)
    agent.scan_pass()
    agent.submit_pass()
    server.gateway.corrupt.add(server.vendor.publish("CORRUPT"))
    agent.definitions_pass()
    detail = server.sample(sample_id)
    assert detail["status"] == "error" and detail["errors"] == ["unpackage"]
    assert [e["sample_id"] for e in server.events("sample_install_failed")] == [sample_id]
    assert server.api("GET", "/definitions").json()["active"]["sequence"] == 1  # the old set stays


def test_a_bad_increment_falls_back_to_the_full_set(server: Server) -> None:
    server.vendor.publish("F0", certified=True)
    agent = server.agent()
    agent.certified_pass()
    content = infected("FULL")
    sample_id = forward(server.http, server.url, content).json()["id"]
    server.gateway.scripts[sha256_hex(content)] = Script(["infected"], sequence=2)
    agent.scan_pass()
    agent.submit_pass()
    server.vendor.publish("FULL")
    server.gateway.corrupt_increments = True
    agent.definitions_pass()
    assert server.gateway.requests_seen[-2:] == ["increment 1->2", "GET definitions 2"]
    assert server.sample(sample_id)["status"] == "distribute"
    assert server.api("GET", "/definitions").json()["installed"][0]["how"] == "full"


def test_a_nonsense_reply_puts_the_sample_in_error(server: Server) -> None:
    agent = server.agent()
    content = infected("ODD")
    sample_id = forward(server.http, server.url, content).json()["id"]
    server.gateway.scripts[sha256_hex(content)] = Script(["uninfected", "accepted"])
    agent.scan_pass()
    agent.submit_pass()
    assert server.sample(sample_id)["status"] == "unneeded"
    other = infected("ODD2")
    second = forward(server.http, server.url, other, sample_id="2").json()["id"]
    server.gateway.scripts[sha256_hex(other)] = Script(["accepted", "bogusState"])
    agent.scan_pass()
    agent.submit_pass()
    agent.poll_pass()
    detail = server.sample(second)
    assert detail["status"] == "error" and detail["errors"] == ["internal"]
    assert "unusable gateway reply" in detail["error_details"][0]["detail"]


class HeldWhileSubmitting(GatewayClient):
    """The real client; while the gateway answers, an administrator holds the sample."""

    def __init__(self, config: Config, server: Server, sample_id: int) -> None:
        super().__init__(config, server.services.ca_file(config))
        self.server, self.sample_id = server, sample_id

    def submit(self, headers: dict[str, str], body: bytes) -> Reply:
        reply = super().submit(headers, body)
        path = f"/samples/{self.sample_id}/priority"
        assert self.server.api("PUT", path, json={"priority": 0}).status_code == 200
        return reply


def test_a_change_made_while_the_gateway_answers_a_submission_is_not_overwritten(
    server: Server,
) -> None:
    content = infected("RACE")
    sample_id = forward(server.http, server.url, content).json()["id"]
    server.gateway.scripts[sha256_hex(content)] = Script(["accepted"])
    server.agent().scan_pass()
    agent = Agent(server.services, lambda config: HeldWhileSubmitting(config, server, sample_id))
    agent.submit_pass()
    detail = server.sample(sample_id)
    assert detail["status"] == "held"  # the administrator's move stands
    assert detail["sample_state"] == "accepted" and detail["cookie"]  # the vendor's side is kept
    assert "submitted" not in statuses(server, sample_id)


class ConfirmedWhileScanning(Scanner):
    """The set's real scanner; while it scans, the endpoint confirms the sample repaired."""

    def __init__(self, definitions: DefinitionSet, server: Server, sample_id: int) -> None:
        super().__init__(definitions, server.config.definition_policy.engine)
        self.server, self.sample_id, self.confirmed = server, sample_id, False

    def scan_bytes(self, content: bytes) -> list[Detection]:
        if not self.confirmed:
            self.confirmed = True
            body = {"computer": "PC-1", "sequence": 2, "results": [
                {"sample_id": self.sample_id, "outcome": "repaired"}]}  # fmt: skip
            url = f"{self.server.url}/intake/v1/confirmations"
            assert self.server.http.post(url, json=body, timeout=10).status_code == 200
        return super().scan_bytes(content)


def test_a_confirmation_that_arrives_while_the_agent_rescans_is_not_overwritten(
    server: Server,
) -> None:
    server.vendor.publish("R0", certified=True)
    agent = server.agent()
    agent.certified_pass()
    content = infected("RESCAN")
    sample_id = forward(server.http, server.url, content).json()["id"]
    server.gateway.scripts[sha256_hex(content)] = Script(["infected"], sequence=2, virus="Sim.R")
    agent.scan_pass()
    agent.submit_pass()
    assert server.sample(sample_id)["status"] == "needed"
    sequence = server.vendor.publish("RESCAN")
    key = VerifyKey.load(server.data / "backoffice" / "keys" / "signing.pub")
    scanner = ConfirmedWhileScanning(
        read_package(server.vendor.package(sequence), key), server, sample_id
    )
    with server.services.work() as session:
        config = server.services.config(session)
        sample = session.get(Sample, sample_id)
        assert sample is not None
        now = server.services.clock.now()
        rescan_after_install(server.services, session, config, sample, scanner, sequence, now)
    assert server.sample(sample_id)["status"] == "installed"  # the endpoint's word stands
    assert statuses(server, sample_id)[-1] == "installed"


def test_a_sample_repaired_at_the_endpoint_before_its_analysis_ended_keeps_the_verdict(
    server: Server,
) -> None:
    agent = server.agent()
    content = infected("EARLY")
    sample_id = forward(server.http, server.url, content).json()["id"]
    server.gateway.scripts[sha256_hex(content)] = Script(
        ["accepted", "importing", "infected"], sequence=2, virus="Sim.Test.EARLY"
    )
    agent.scan_pass()
    agent.submit_pass()
    assert server.sample(sample_id)["status"] == "submitted"
    body = {"computer": "PC-1", "sequence": 2, "results": [
        {"sample_id": sample_id, "outcome": "repaired"}]}  # fmt: skip
    url = f"{server.url}/intake/v1/confirmations"
    assert server.http.post(url, json=body, timeout=10).json()["results"][0]["applied"]
    assert server.sample(sample_id)["status"] == "installed"  # cured at the endpoint already
    for _ in range(3):
        agent.poll_pass()  # the vendor's analysis goes on to its end
    detail = server.sample(sample_id)
    assert (detail["status"], detail["sample_state"]) == ("installed", "infected")
    assert (detail["virus"], detail["definitions_needed"], detail["analyzed"]) == (
        "Sim.Test.EARLY",
        2,
        True,
    )
    with server.services.work() as session:
        sample = session.get(Sample, sample_id)
        assert sample is not None and sample.repairable is True


def test_turning_hold_delivery_off_releases_the_samples_waiting_as_available(
    server: Server, endpoint: tuple[DefcastEndpoint, Running]
) -> None:
    listener, running = endpoint
    server.vendor.publish("FREE", certified=True)
    server.set_properties("definition_policy", hold_delivery=True)
    agent = server.agent()
    agent.certified_pass()
    sample_id = forward(
        server.http, server.url, infected("FREE"), address="127.0.0.1", port=running.port
    ).json()["id"]
    agent.scan_pass()
    agent.defcast_pass()
    assert server.sample(sample_id)["status"] == "available"  # held: nothing is pushed
    server.set_properties("definition_policy", hold_delivery=False)
    agent.defcast_pass()
    assert statuses(server, sample_id)[-3:] == ["available", "distribute", "distributed"]
