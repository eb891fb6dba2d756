"""The gateway's link into the back office: import, idempotency, status, storage at rest."""

from __future__ import annotations

import hashlib
from pathlib import Path

from backoffice.link import BackOfficeLink
from dis_core.clock import ManualClock
from dis_core.config import load_config


def _link(tmp_path: Path) -> BackOfficeLink:
    config = load_config(environ={}, overrides={"general": {"data_dir": str(tmp_path)}})
    return BackOfficeLink(config, ManualClock())


def test_import_records_importing_then_imported(tmp_path: Path) -> None:
    link = _link(tmp_path)
    content = b"MZ example sample bytes" * 10
    link.import_sample(
        "c1", hashlib.sha256(content).hexdigest(), content, {"X-Sample-Type": "file"}
    )
    status = link.status("c1")
    assert status is not None and status.state == "imported"
    assert status.date_analyzed is None
    with link.store.sessions() as session:
        from backoffice.link import _find

        row = _find(session, "c1")
        assert row is not None
        assert row.state_path() == ["importing", "imported"]
        assert link.store.samples.get(row.content_file, row.content_key) == content
    files = list((tmp_path / "backoffice" / "samples").iterdir())
    assert len(files) == 1 and content[:8] not in files[0].read_bytes()


def test_import_is_idempotent_per_cookie(tmp_path: Path) -> None:
    link = _link(tmp_path)
    content = b"abc" * 5
    checksum = hashlib.sha256(content).hexdigest()
    link.import_sample("c2", checksum, content, {})
    link.import_sample("c2", checksum, content, {})
    with link.store.sessions() as session:
        from backoffice.link import _find

        row = _find(session, "c2")
        assert row is not None and len(row.history) == 2


def test_unknown_cookie_and_checksum_mismatch(tmp_path: Path) -> None:
    link = _link(tmp_path)
    assert link.status("nope") is None
    link.import_sample("c3", "0" * 64, b"data", {})
    status = link.status("c3")
    assert status is not None and status.state == "error" and status.error == "sample"
    assert status.date_analyzed is not None
