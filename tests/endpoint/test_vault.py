"""The encrypted local quarantine: key file, encryption at rest, tamper checks, recovery."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dis_core.clock import ManualClock
from dis_core.vocabulary.kinds import ScanResult
from endpoint.item import QuarantinedItem
from endpoint.layout import EndpointFolders
from endpoint.vault import LocalQuarantine, VaultError

SECRET = b"MZ pretend program with a SIMTEST marker inside" * 20


@pytest.fixture
def vault(tmp_path: Path) -> LocalQuarantine:
    folders = EndpointFolders(tmp_path / "ws-1")
    folders.create()
    return LocalQuarantine(folders, ManualClock(datetime(2026, 5, 1, tzinfo=UTC)))


def _file(vault: LocalQuarantine, name: str = "prog.exe", mode: int = 0o751) -> Path:
    path = vault.folders.watch / name
    path.write_bytes(SECRET)
    os.chmod(path, mode)
    os.utime(path, (1_600_000_000, 1_650_000_000))
    return path


def _admit(vault: LocalQuarantine, path: Path) -> QuarantinedItem:
    return vault.admit(path, path.read_bytes(), ScanResult.SUSPICIOUS, "test", "", 1)


def test_key_is_private_and_content_is_encrypted(vault: LocalQuarantine) -> None:
    path = _file(vault)
    item = _admit(vault, path)
    assert stat.S_IMODE(vault.folders.quarantine_key.stat().st_mode) == 0o600
    assert len(vault.folders.quarantine_key.read_bytes()) == 32
    sealed = (vault.folders.quarantine / f"{item.id}.bin").read_bytes()
    assert b"SIMTEST" not in sealed and b"MZ" not in sealed[: 12 + 2]
    assert vault.content(item) == SECRET
    assert not path.exists()


def test_side_effects_are_recorded_and_undone_on_give_back(vault: LocalQuarantine) -> None:
    path = _file(vault)
    item = _admit(vault, path)
    effects = item.side_effects
    assert (
        effects.path == str(path.resolve())
        and effects.mode == 0o751
        and effects.size == len(SECRET)
    )
    assert effects.modified.startswith("2022-04-")  # 1_650_000_000
    target = vault.give_back(item, b"cleaned")
    assert target == path and path.read_bytes() == b"cleaned"
    assert stat.S_IMODE(path.stat().st_mode) == 0o751
    assert int(path.stat().st_mtime) == 1_650_000_000


def test_give_back_never_overwrites_a_new_file(vault: LocalQuarantine) -> None:
    path = _file(vault)
    item = _admit(vault, path)
    path.write_bytes(b"the user's new file")
    target = vault.give_back(item, b"cleaned")
    assert target.name == "prog.exe.restored-1" and path.read_bytes() == b"the user's new file"


def test_tampered_or_swapped_content_is_refused(vault: LocalQuarantine) -> None:
    first = _admit(vault, _file(vault, "a.exe"))
    second = _admit(vault, _file(vault, "b.exe"))
    blob = vault.folders.quarantine / f"{first.id}.bin"
    data = bytearray(blob.read_bytes())
    data[-1] ^= 1
    blob.write_bytes(bytes(data))
    with pytest.raises(VaultError):
        vault.content(first)
    blob.write_bytes((vault.folders.quarantine / f"{second.id}.bin").read_bytes())
    with pytest.raises(VaultError):  # the item id is bound to its content
        vault.content(first)


def test_a_file_stored_before_a_crash_is_not_stored_twice(vault: LocalQuarantine) -> None:
    path = _file(vault)
    item = _admit(vault, path)
    path.write_bytes(SECRET)  # as if the process died before removing the original
    again = _admit(vault, path)
    assert again.id == item.id and not path.exists()
    assert len(vault.items()) == 1


def test_records_survive_a_reopen(vault: LocalQuarantine) -> None:
    item = _admit(vault, _file(vault))
    reopened = LocalQuarantine(vault.folders, vault.clock)
    assert [i.id for i in reopened.items()] == [item.id]
    assert reopened.content(reopened.items()[0]) == SECRET


def test_a_wrong_size_key_is_an_error(tmp_path: Path) -> None:
    folders = EndpointFolders(tmp_path / "ws-2")
    folders.create()
    folders.quarantine_key.write_bytes(b"short")
    with pytest.raises(VaultError):
        LocalQuarantine(folders, ManualClock())
