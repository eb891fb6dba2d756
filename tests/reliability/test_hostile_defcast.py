"""Hostile Defcast deliveries to an endpoint (its real Machine behind its Defcast app, Flask's
test client): random bytes, damaged and foreign-signed packages, zip bombs and odd zips are
refused with a JSON answer, the active set stays, and a good package still installs."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dis_core.certs import generate
from dis_core.clock import ManualClock
from dis_core.config import load_config
from dis_core.definitions import SigningKey, build_full
from endpoint.defcast import create_app
from endpoint.identity import Identity
from endpoint.machine import Endpoint as Machine
from tests.support.samples import marker_signature

from .helpers import WHEN
from .test_hostile_zip import NEW_VERSION, ODD_METHOD

KEY = SigningKey.generate()
GOOD = build_full(2, [marker_signature("DEFCAST", 2)], certified=False, produced=WHEN, key=KEY)
FOREIGN = build_full(
    3, [marker_signature("DEFCAST", 3)], certified=False, produced=WHEN, key=SigningKey.generate()
)


@pytest.fixture(scope="module")
def defcast(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FlaskClient, Machine]]:
    data = tmp_path_factory.mktemp("defcast") / "data"
    generate(data / "certs")
    (data / "backoffice" / "keys").mkdir(parents=True)
    KEY.verify_key().save(data / "backoffice" / "keys" / "signing.pub")
    config = load_config(
        environ={},
        overrides={
            "general": {"data_dir": str(data)},
            "endpoint": {"server_url": "https://127.0.0.1:9", "timeout_s": 1},
        },
    )
    machine = Machine(
        config, Identity("alice", "PC-DEFCAST"), ManualClock(datetime(2026, 3, 1, tzinfo=UTC))
    )
    yield create_app(machine).test_client(), machine


def _refused(client: FlaskClient, body: bytes) -> None:
    reply = client.post(
        "/defcast/v1/definitions", data=body, headers={"Content-Type": "application/octet-stream"}
    )
    payload = reply.get_json()
    # 4xx for what is not an authentic package; 500 'internal' for one that verifies but cannot be installed
    assert 400 <= reply.status_code < 500 or (
        reply.status_code == 500 and payload["error"] == "internal"
    ), reply.status_code
    assert payload["installed"] is False and payload["error"] and payload["message"]


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    st.one_of(
        st.binary(max_size=600),
        st.builds(
            lambda at, b: GOOD[: at % len(GOOD)] + bytes([b]) + GOOD[at % len(GOOD) + 1 :],
            st.integers(0, 2**31),
            st.integers(0, 255),
        ),
    )
)
def test_damaged_deliveries_are_refused_and_the_active_set_stays(
    defcast: tuple[FlaskClient, Machine], body: bytes
) -> None:
    client, machine = defcast
    before = machine.active_sequence()
    if body == GOOD:
        return
    _refused(client, body)
    assert machine.active_sequence() == before


def _bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("manifest.json", bytes(200 * 2**20))
    return out.getvalue()


def test_foreign_odd_and_bomb_packages_are_refused_then_a_good_one_installs(
    defcast: tuple[FlaskClient, Machine],
) -> None:
    client, machine = defcast
    for body in (FOREIGN, NEW_VERSION, ODD_METHOD, _bomb(), b""):
        _refused(client, body)
    assert machine.active_sequence() in (0, 1)
    reply = client.post("/defcast/v1/definitions", data=GOOD)
    assert reply.status_code == 200 and reply.get_json() == {"installed": True, "sequence": 2}
    _refused(client, FOREIGN)
    assert machine.active_sequence() == 2
