"""A gateway that stops between accepting a submission and handing it to the back office left
the submission in ``importing`` for ever (found by test_crashes). The gateway now ends such a
submission as abort/internal after a grace period, so the Quarantine Server sees an error it
can act on instead of polling a sample that never moves."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from flask import Flask

from backoffice.link import BackOfficeLink
from dis_core.analysis import AnalysisStatus
from dis_core.clock import ManualClock
from dis_core.config import load_config
from gateway_sim.tracking import LOST_IMPORT_AFTER_S

from .helpers import WHEN, unique_content
from .test_hostile_gateway import submit_message


@dataclass
class CrashingLink:
    """The real link, except that the first import is lost as if the gateway died mid hand-off."""

    real: BackOfficeLink
    lose_next: bool = True

    def import_sample(
        self, cookie: str, sample_checksum: str, content: bytes, attributes: dict[str, str]
    ) -> None:
        if self.lose_next:
            self.lose_next = False
            return
        self.real.import_sample(cookie, sample_checksum, content, attributes)

    def status(self, cookie: str) -> AnalysisStatus | None:
        return self.real.status(cookie)


@pytest.fixture
def gateway(tmp_path) -> Iterator[tuple[Flask, ManualClock]]:  # noqa: ANN001 - pytest's tmp_path
    config = load_config(
        None, environ={}, overrides={"general": {"data_dir": str(tmp_path / "data")}}
    )
    clock = ManualClock(WHEN)
    app = create_app_with(config, clock)
    yield app, clock
    app.extensions["gateway"].dispose()


def create_app_with(config, clock):  # noqa: ANN001, ANN201 - a gateway Flask app
    from gateway_sim.app import create_app

    return create_app(config, clock=clock, link=CrashingLink(BackOfficeLink(config)))


def test_a_lost_hand_off_ends_as_abort_after_the_grace_period(
    gateway: tuple[Flask, ManualClock],
) -> None:
    app, clock = gateway
    client = app.test_client()
    headers, body = submit_message(unique_content("lost-hand-off"))
    first = client.post("/gateway/v1/samples", headers=headers, data=body)
    assert first.status_code == 202 and first.headers["X-Analysis-State"] == "importing"
    cookie = first.headers["X-Analysis-Cookie"]
    clock.advance(LOST_IMPORT_AFTER_S / 2)
    assert (
        client.get(f"/gateway/v1/samples/{cookie}").headers["X-Analysis-State"] == "importing"
    )  # not too early
    clock.advance(LOST_IMPORT_AFTER_S)
    reply = client.get(f"/gateway/v1/samples/{cookie}")
    assert reply.headers["X-Analysis-State"] == "abort" and reply.headers["X-Error"] == "internal"
    again = client.post("/gateway/v1/samples", headers=headers, data=body)  # the sender tries again
    assert again.status_code == 202 and again.headers["X-Analysis-Cookie"] != cookie
    assert again.headers["X-Analysis-State"] in {"importing", "imported"}
