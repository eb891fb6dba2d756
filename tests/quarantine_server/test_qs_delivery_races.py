"""Defcast to an endpoint that already runs the set, and 'not repaired' reports that come
early (issue 20, cause B): the server records a delivery only when the endpoint accepted one,
and a report for a set older than the cure the sample waits for does not settle it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from conftest import Server
from qs_helpers import DefcastEndpoint, forward

from dis_core.definitions import VerifyKey
from tests.support.samples import infected
from tests.support.servers import Running, serve


@pytest.fixture
def endpoint(server: Server) -> Iterator[tuple[DefcastEndpoint, Running]]:
    listener = DefcastEndpoint(
        "PC-1", VerifyKey.load(server.data / "backoffice" / "keys" / "signing.pub")
    )
    running = serve(listener.app(), server.certs)
    yield listener, running
    running.stop()


def _waiting_for_delivery(server: Server, port: int, marker: str = "RACE") -> int:
    """A sample the server settles with its own set 1 and queues for delivery to ``port``."""
    server.vendor.publish(marker, certified=True)
    agent = server.agent()
    agent.certified_pass()
    sample_id = int(
        forward(server.http, server.url, infected(marker), address="127.0.0.1", port=port).json()[
            "id"
        ]
    )
    agent.scan_pass()
    assert server.sample(sample_id)["status"] == "distribute"
    return sample_id


def _reasons(server: Server, sample_id: int) -> list[str]:
    history = server.sample(sample_id)["history"]
    return [f"{h['after']}: {h['reason']}" for h in history if h["field"] == "status"]


def _confirm(server: Server, sample_id: int, sequence: int, outcome: str) -> dict[str, object]:
    body = {
        "computer": "PC-1",
        "sequence": sequence,
        "results": [{"sample_id": sample_id, "outcome": outcome}],
    }
    reply = server.http.post(f"{server.url}/intake/v1/confirmations", json=body, timeout=10)
    assert reply.status_code == 200, reply.text
    return dict(reply.json()["results"][0])


def test_an_endpoint_already_on_the_set_gets_it_pushed_so_it_confirms(
    server: Server, endpoint: tuple[DefcastEndpoint, Running]
) -> None:
    listener, running = endpoint
    listener.sequence = 1  # it got set 1 with another sample's push, before this forward
    sample_id = _waiting_for_delivery(server, running.port)
    server.agent().defcast_pass()
    assert listener.pushes == 1  # asked, not assumed: the push makes it judge the file again
    assert server.sample(sample_id)["status"] == "distributed"
    assert "it already ran 1" in _reasons(server, sample_id)[-1]
    assert _confirm(server, sample_id, 1, "not_repaired")["status"] == "installed"


def test_an_endpoint_ahead_of_the_server_is_not_sent_an_older_set(
    server: Server, endpoint: tuple[DefcastEndpoint, Running]
) -> None:
    listener, running = endpoint
    listener.sequence = 7
    sample_id = _waiting_for_delivery(server, running.port)
    server.agent().defcast_pass()
    assert listener.pushes == 0
    assert server.sample(sample_id)["status"] == "distribute"  # no delivery was recorded
    assert not server.events("target_install_failed")
    assert _confirm(server, sample_id, 7, "repaired")["status"] == "installed"


def test_not_repaired_with_an_older_set_than_the_cure_does_not_settle_the_sample(
    server: Server, endpoint: tuple[DefcastEndpoint, Running]
) -> None:
    _, running = endpoint
    sample_id = _waiting_for_delivery(server, running.port)  # its cure is set 1
    answer = _confirm(server, sample_id, 0, "not_repaired")
    assert answer["applied"] is False
    assert "is older than the set this sample needs" in str(answer["reason"])
    assert server.sample(sample_id)["status"] == "distribute"
    assert _confirm(server, sample_id, 1, "not_repaired")["status"] == "installed"
