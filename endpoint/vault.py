"""The encrypted local quarantine: items are AES-GCM encrypted at rest, records beside them.

The key is 32 random bytes in the endpoint's folder (mode 0600). Each item's content is
``nonce || ciphertext`` with the item id as associated data, so swapping two files is noticed.
A file is removed from its folder only after its encrypted copy and its record are on disk.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from dis_core.clock import Clock
from dis_core.files import write_atomic
from dis_core.vocabulary.kinds import ScanResult
from endpoint.item import QuarantinedItem, SideEffects
from endpoint.layout import EndpointFolders

KEY_BYTES = 32
NONCE_BYTES = 12


class VaultError(Exception):
    """The local quarantine cannot read or write an item."""


def load_or_create_key(path: Path) -> bytes:
    if path.exists():
        key = path.read_bytes()
        if len(key) != KEY_BYTES:
            raise VaultError(f"{path}: quarantine key has {len(key)} bytes, expected {KEY_BYTES}")
        return key
    key = AESGCM.generate_key(bit_length=256)
    write_atomic(path, key, 0o600)
    return key


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat()


def side_effects_of(path: Path) -> SideEffects:
    info = path.stat()
    return SideEffects(
        path=str(path.resolve()),
        mode=info.st_mode & 0o7777,
        size=info.st_size,
        created=_iso(info.st_ctime),
        modified=_iso(info.st_mtime),
        accessed=_iso(info.st_atime),
        owner_uid=info.st_uid,
    )


class LocalQuarantine:
    """Encrypted items of one endpoint, under its quarantine folder."""

    def __init__(self, folders: EndpointFolders, clock: Clock) -> None:
        self.folders = folders
        self.clock = clock
        self._aead = AESGCM(load_or_create_key(folders.quarantine_key))

    def _content_path(self, item_id: str) -> Path:
        return self.folders.quarantine / f"{item_id}.bin"

    def _record_path(self, item_id: str) -> Path:
        return self.folders.quarantine / f"{item_id}.json"

    def admit(
        self,
        path: Path,
        content: bytes,
        result: ScanResult,
        reason: str,
        virus_name: str,
        sequence: int,
    ) -> QuarantinedItem:
        """Move ``path`` (whose bytes are ``content``) into the quarantine."""
        checksum = hashlib.sha256(content).hexdigest()
        existing = self._unresolved_copy(str(path.resolve()), checksum)
        if existing is not None:  # an earlier run stored it but stopped before removing it
            path.unlink(missing_ok=True)
            return existing
        now = self.clock.now()
        item = QuarantinedItem(
            id=uuid.uuid4().hex,
            sample_checksum=checksum,
            size=len(content),
            scan_result=result,
            reason=reason,
            virus_name=virus_name,
            sequence=sequence,
            quarantined_at=now.isoformat(),
            side_effects=side_effects_of(path),
            next_attempt_at=now.isoformat(),
        )
        item.note(now, "quarantined", f"{result.value}: {reason}")
        self._store_content(item.id, content)
        self.save(item)
        path.unlink()
        return item

    def _unresolved_copy(self, original: str, checksum: str) -> QuarantinedItem | None:
        for item in self.items():
            if (
                not item.resolved
                and item.side_effects.path == original
                and item.sample_checksum == checksum
            ):
                return item
        return None

    def _store_content(self, item_id: str, content: bytes) -> None:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, content, item_id.encode())
        write_atomic(self._content_path(item_id), nonce + sealed, 0o600)

    def content(self, item: QuarantinedItem) -> bytes:
        try:
            sealed = self._content_path(item.id).read_bytes()
            data = self._aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], item.id.encode())
        except (OSError, InvalidTag) as exc:
            raise VaultError(
                f"item {item.id}: content unreadable ({exc.__class__.__name__})"
            ) from None
        if hashlib.sha256(data).hexdigest() != item.sample_checksum:
            raise VaultError(f"item {item.id}: content does not match its checksum")
        return data

    def save(self, item: QuarantinedItem) -> None:
        write_atomic(self._record_path(item.id), item.to_json(), 0o600)

    def get(self, item_id: str) -> QuarantinedItem:
        try:
            return QuarantinedItem.from_json(self._record_path(item_id).read_bytes())
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise VaultError(f"item {item_id}: record unreadable ({exc})") from None

    def items(self) -> list[QuarantinedItem]:
        records = sorted(self.folders.quarantine.glob("*.json"))
        found = [self.get(p.stem) for p in records if not p.name.startswith(".")]
        return sorted(found, key=lambda i: (i.quarantined_at, i.id))

    def drop_content(self, item: QuarantinedItem) -> None:
        """Forget the encrypted copy once the file is back on disk (the record stays)."""
        self._content_path(item.id).unlink(missing_ok=True)

    def give_back(self, item: QuarantinedItem, data: bytes) -> Path:
        """Write ``data`` where the item was found, with its mode and times; never overwrite."""
        effects = item.side_effects
        target = _free_path(Path(effects.path))
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(target, data, effects.mode or 0o644)
        os.chmod(target, effects.mode or 0o644)
        accessed = datetime.fromisoformat(effects.accessed).timestamp()
        modified = datetime.fromisoformat(effects.modified).timestamp()
        os.utime(target, (accessed, modified))
        return target


def _free_path(wanted: Path) -> Path:
    """The original path, or a sibling name when someone has put a new file there since."""
    if not wanted.exists():
        return wanted
    for number in range(1, 1000):
        candidate = wanted.with_name(f"{wanted.name}.restored-{number}")
        if not candidate.exists():
            return candidate
    raise VaultError(f"{wanted}: no free name to give the file back")
