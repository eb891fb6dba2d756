"""An endpoint whose stored active definition set no longer verifies (one byte flipped, or
replaced by the same set signed with another key) refuses it when it opens its definitions:
the set is put aside, the previous one is active again and scanning goes on (issue 19,
item 9, on the endpoint's side)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dis_core.definitions import SigningKey, build_full, read_package
from endpoint.machine import Endpoint

from .conftest import ALICE, INFECTED, PRODUCED, Packages, endpoint_config


def _flip_a_byte(package: bytes, packages: Packages) -> bytes:
    damaged = bytearray(package)
    damaged[len(damaged) // 2] ^= 0xFF
    return bytes(damaged)


def _signed_by_a_stranger(package: bytes, packages: Packages) -> bytes:
    genuine = read_package(package, packages.key.verify_key())
    return build_full(
        genuine.sequence,
        genuine.signatures,
        certified=genuine.certified,
        produced=PRODUCED,
        key=SigningKey.generate(),
    )


@pytest.mark.parametrize("tamper", [_flip_a_byte, _signed_by_a_stranger])
def test_a_tampered_active_set_is_refused_and_the_previous_one_scans(
    data_dir, packages, intake, clock, tamper
) -> None:
    config = endpoint_config(data_dir, intake.url)
    endpoint = Endpoint(config, ALICE, clock)
    endpoint.install_definitions(packages.old)
    endpoint.install_definitions(packages.new)
    root = endpoint.folders.definitions
    stored = root / os.readlink(root / "active") / "package.def"
    endpoint.stop()
    stored.chmod(0o600)
    stored.write_bytes(tamper(stored.read_bytes(), packages))

    restarted = Endpoint(config, ALICE, clock)
    try:
        assert restarted.active_sequence() == 1
        (restarted.folders.watch / "tool.exe").write_bytes(INFECTED)
        [item] = restarted.scan_once().quarantined  # set 1 only flags it: quarantined
        assert item.sequence == 1
        [refusal] = [e for e in restarted.journal.entries() if e["event"] == "definitions_refused"]
        assert refusal["sequence"] == 1 and Path(root / refusal["kept"]).is_dir()
        assert restarted.install_definitions(packages.new).sequence == 2  # a good copy installs
    finally:
        restarted.stop()
