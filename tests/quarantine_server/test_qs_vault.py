from __future__ import annotations

import stat
from pathlib import Path

import pytest

from quarantine_server.vault import Vault, VaultError


def test_content_is_encrypted_at_rest_and_reads_back(tmp_path: Path) -> None:
    vault = Vault(tmp_path / "q", tmp_path / "q.key")
    content = b"SIMMARK-plain-text-that-must-not-appear" * 10
    name, size = vault.store(content)
    raw = (tmp_path / "q" / name).read_bytes()
    assert b"SIMMARK" not in raw and size == len(raw)
    assert vault.read(name) == content
    assert stat.S_IMODE((tmp_path / "q.key").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "q" / name).stat().st_mode) == 0o600


def test_tampered_file_is_refused(tmp_path: Path) -> None:
    vault = Vault(tmp_path / "q", tmp_path / "q.key")
    name, _ = vault.store(b"hello world")
    path = tmp_path / "q" / name
    data = bytearray(path.read_bytes())
    data[-1] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(VaultError, match="does not decrypt"):
        vault.read(name)


def test_other_key_cannot_read(tmp_path: Path) -> None:
    name, _ = Vault(tmp_path / "q", tmp_path / "a.key").store(b"secret")
    with pytest.raises(VaultError):
        Vault(tmp_path / "q", tmp_path / "b.key").read(name)


def test_sweep_removes_half_written_and_unreferenced_files(tmp_path: Path) -> None:
    vault = Vault(tmp_path / "q", tmp_path / "q.key")
    kept, _ = vault.store(b"acknowledged")
    orphan, _ = vault.store(b"never committed")
    (vault.incoming / "half.qsf").write_bytes(b"DISQ1partial")
    removed = vault.sweep({kept})
    assert set(removed) == {orphan, ".incoming/half.qsf"}
    assert vault.stored_files() == [kept]


def test_names_outside_the_folder_are_refused(tmp_path: Path) -> None:
    vault = Vault(tmp_path / "q", tmp_path / "q.key")
    with pytest.raises(VaultError):
        vault.read("../q.key")
