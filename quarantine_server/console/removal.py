"""Delete and restore of quarantined items (thin services; the server had none when written).

Restore writes only inside a configured restore folder: the target is resolved (symlinks and
``..`` included) and must lie under one of ``general.restore_dirs``; an existing file is never
overwritten. Delete removes the row in the unit of work and the encrypted file after commit,
so a rolled-back delete leaves both. Both are logged on the server's log.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path, PurePosixPath

from sqlalchemy.orm import Session

from dis_core.config import Config
from quarantine_server.models import Sample
from quarantine_server.services import Services, after_commit

log = logging.getLogger(__name__)


class RestoreRefused(ValueError):
    """The restore target is not allowed (outside the restore folders, or unusable)."""


def allowed_target(config: Config, folder: str) -> Path:
    """``folder`` resolved, if it lies inside a configured restore folder; else refuse."""
    roots = [Path(root).resolve() for root in config.general.restore_dirs]
    if not roots:
        raise RestoreRefused("no restore folders are configured (General tab, restore_dirs)")
    if not folder or not Path(folder).is_absolute():
        raise RestoreRefused(f"{folder or '(empty)'} is not an absolute folder path")
    target = Path(folder).resolve()
    if not any(target == root or target.is_relative_to(root) for root in roots):
        allowed = ", ".join(str(r) for r in roots)
        raise RestoreRefused(f"{target} is outside the restore folders ({allowed}); restore refused")
    return target


def safe_file_name(name: str, sample_id: int) -> str:
    """The base name of the original file, without any folder part; never empty or dotted."""
    base = PurePosixPath(name.replace("\\", "/")).name.strip()
    return base if base and base not in {".", ".."} else f"item-{sample_id}"


def _free_path(folder: Path, name: str) -> Path:
    candidate, stem, suffix, number = folder / name, Path(name).stem, Path(name).suffix, 1
    while candidate.exists():
        candidate = folder / f"{stem} ({number}){suffix}"
        number += 1
    return candidate


def restore_sample(services: Services, config: Config, sample: Sample, folder: str) -> Path:
    """Write the sample's original bytes (unrepaired) into ``folder``; return the file written."""
    target = allowed_target(config, folder)
    content = services.vault.read(sample.stored_name)
    target.mkdir(parents=True, exist_ok=True)
    path = _free_path(target, safe_file_name(sample.file_name, sample.id))
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(content)
    log.warning("restored sample %s (%s) unrepaired to %s", sample.id, sample.sample_checksum, path)
    return path


def delete_sample(services: Services, session: Session, sample: Sample, actor: str) -> None:
    """Remove the row now and the encrypted file once the deletion is committed."""
    stored, sample_id = sample.stored_name, sample.id
    session.delete(sample)
    after_commit(session, lambda: services.vault.remove(stored))
    log.warning("sample %s deleted by %s", sample_id, actor)
