"""Fixtures for the endpoint tests: a data directory with certificates, a signing key,
definition packages (an old one that only flags, a newer one that repairs) and test files.

The test 'virus' here is a plain byte pattern appended to a host file; it is inert data.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dis_core.certs import generate
from dis_core.clock import ManualClock
from dis_core.config import Config, load_config
from dis_core.definitions import Signature, SigningKey, build_full
from endpoint.identity import Identity

from .fake_intake import FakeIntake

HOST = b"MZ" + bytes(62) + b"a harmless host program, nothing but data " * 40
TAIL = b"SIMTEST-APPENDED-BODY-7f3a9c" + bytes(range(64))
INFECTED = HOST + TAIL
ENGINE = "yara"
PRODUCED = datetime(2026, 1, 1, tzinfo=UTC)

FLAG_RULE = 'rule SimTestFlag { strings: $a = "SIMTEST-APPENDED" condition: $a }'
VIRUS_RULE = 'rule SimTestAppender { strings: $a = "SIMTEST-APPENDED-BODY-7f3a9c" condition: $a }'
TRUNCATE_AT_BODY = {
    "version": 1,
    "anchor": "$a",
    "ops": [{"op": "truncate", "length": {"match": 0}}],
}


def flag_signature() -> Signature:
    """In the old set: an over-broad rule that only says 'suspicious'."""
    return Signature("S000001", "Heur.SimTest", "binary", FLAG_RULE, None, 1, category="heuristic")


def virus_signature(added_in: int = 2) -> Signature:
    return Signature(
        "S000002",
        "Sim.TestAppender.A",
        "binary",
        VIRUS_RULE,
        TRUNCATE_AT_BODY,
        added_in,
        family="appender",
    )


@dataclass
class Packages:
    key: SigningKey
    old: bytes  # sequence 1: flags the test virus as suspicious, cannot repair it
    new: bytes  # sequence 2: detects and repairs it
    empty: bytes  # sequence 3: no signatures at all


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    generate(data / "certs")
    return data


@pytest.fixture
def packages(data_dir: Path) -> Packages:
    key = SigningKey.generate()
    keys = data_dir / "backoffice" / "keys"
    keys.mkdir(parents=True)
    key.verify_key().save(keys / "signing.pub")
    old = build_full(1, [flag_signature()], certified=True, produced=PRODUCED, key=key)
    new = build_full(
        2, [flag_signature(), virus_signature()], certified=False, produced=PRODUCED, key=key
    )
    empty = build_full(3, [], certified=False, produced=PRODUCED, key=key)
    return Packages(key, old, new, empty)


@pytest.fixture
def intake(data_dir: Path) -> Iterator[FakeIntake]:
    server = FakeIntake(data_dir / "certs").start()
    yield server
    server.stop()


def endpoint_config(
    data_dir: Path, server_url: str, engine: str = ENGINE, **endpoint: object
) -> Config:
    settings: dict[str, object] = {"server_url": server_url, "retry_interval_s": 60, "timeout_s": 5}
    settings.update(endpoint)
    return load_config(
        environ={},
        overrides={
            "general": {"data_dir": str(data_dir)},
            "endpoint": settings,
            "definition_policy": {"engine": engine},
        },
    )


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 3, 1, 9, 0, tzinfo=UTC))


ALICE = Identity(user="alice", computer="ws-alice", domain="SALES")
BOB = Identity(user="bob", computer="ws-bob", domain="LAB")
