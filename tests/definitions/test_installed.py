"""Installing on a host: verification, load test, atomic swap, rollback, increments, fallback."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dis_core.definitions import (
    InstalledDefinitions,
    InstallError,
    SigningKey,
    build_incremental,
)

from .helpers import HOST, MARKER, binary_signature, full_set, infect, loaded


@pytest.fixture()
def key() -> SigningKey:
    return SigningKey.generate()


@pytest.fixture()
def host(tmp_path: Path, key: SigningKey) -> InstalledDefinitions:
    return InstalledDefinitions(tmp_path / "definitions", key.verify_key())


def test_install_activates_and_keeps_previous(host: InstalledDefinitions, key: SigningKey) -> None:
    assert host.active() is None and host.active_sequence == 0 and host.active_package() is None
    with pytest.raises(InstallError):
        host.scanner()
    one = full_set(key, 1, [binary_signature(1)])
    two = full_set(key, 2, [binary_signature(1), binary_signature(2, 2, text=MARKER)])
    assert host.install(one).sequence == 1
    host.install(two)
    assert host.active_sequence == 2 and host.active_package() == two
    previous = host.previous()
    assert previous is not None and previous.sequence == 1
    assert os.path.islink(host.root / "active") and os.path.islink(host.root / "previous")
    assert [d.virus_name for d in host.scanner().scan_bytes(infect(HOST))] == ["Sim.Test.2"]
    assert host.install(two).sequence == 2  # again: nothing changes
    other = InstalledDefinitions(host.root, key.verify_key())  # another process sees the same
    assert other.active_sequence == 2


def _refused(host: InstalledDefinitions, package: bytes, reason: str) -> None:
    before = host.active_package()
    with pytest.raises(InstallError, match=reason) as caught:
        host.install(package)
    assert caught.value.reason
    assert host.active_package() == before


def test_bad_sets_are_refused_and_the_old_one_stays(
    host: InstalledDefinitions, key: SigningKey
) -> None:
    good = full_set(key, 3, [binary_signature(1)])
    host.install(good)
    damaged = bytearray(full_set(key, 4, [binary_signature(1), binary_signature(2)]))
    damaged[-10] ^= 0x01
    _refused(host, bytes(damaged), "package refused")
    _refused(host, full_set(SigningKey.generate(), 4, []), "signature does not verify")
    broken = binary_signature(5).__class__(
        **(binary_signature(5).to_dict() | {"rule": "rule sig_b { condition: nope }"})
    )
    _refused(host, full_set(key, 5, [broken]), r"load test \(signature S000005\)")
    assert host.install(full_set(key, 2, [])).sequence == 3  # older: no downgrade, no error
    _refused(host, full_set(key, 3, [binary_signature(9)]), "differs from the installed set")
    assert host.active_sequence == 3
    assert host.install(full_set(key, 2, []), allow_older=True).sequence == 2


def test_interrupted_install_leaves_active_intact(
    host: InstalledDefinitions, key: SigningKey
) -> None:
    """A crash after the new folder is written but before the swap changes nothing visible."""
    host.install(full_set(key, 1, [binary_signature(1)]))
    staging = host.root / "sets" / ".staging-crashed"
    staging.mkdir()
    (staging / "package.def").write_bytes(b"half-writ")
    assert InstalledDefinitions(host.root, key.verify_key()).active_sequence == 1
    host.install(full_set(key, 2, []))
    assert not staging.exists()  # unused folders are cleaned up at the next install


def test_increment_then_fallback(host: InstalledDefinitions, key: SigningKey) -> None:
    one, three = full_set(key, 1, [binary_signature(1)]), full_set(key, 3, [binary_signature(3, 3)])
    host.install(one)
    increment = build_incremental(loaded(key, one), loaded(key, three))
    assert host.install_incremental(increment).sequence == 3
    assert host.active_package() == three  # rebuilt byte for byte from the increment
    with pytest.raises(InstallError, match="for base 1"):
        host.install_incremental(increment)  # gap: the active set is now 3
    with pytest.raises(InstallError, match="full set"):
        host.install_incremental(three)
    assert host.active_sequence == 3


def test_increment_without_a_base(host: InstalledDefinitions, key: SigningKey) -> None:
    one, two = full_set(key, 1, []), full_set(key, 2, [binary_signature(2, 2)])
    with pytest.raises(InstallError, match="needs an installed base"):
        host.install(build_incremental(loaded(key, one), loaded(key, two)))


def test_yara_x_engine_installs_and_scans(tmp_path: Path, key: SigningKey) -> None:
    host = InstalledDefinitions(tmp_path / "x", key.verify_key(), engine="yara-x")
    host.install(full_set(key, 1, [binary_signature(1, text=MARKER)]))
    assert [d.signature_id for d in host.scanner().scan_bytes(infect(HOST))] == ["S000001"]
