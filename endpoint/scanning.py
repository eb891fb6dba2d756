"""Scanning the watched folder: what to do with each file.

A detection with a working repair is cured on the spot (the file stays where it is); a
detection without one, or whose repair fails, goes to the quarantine; so does a file that
only an over-broad ('heuristic') rule or the content heuristic finds suspicious. Files the
endpoint itself gave back are not flagged by the heuristic again. A clean verdict is
remembered per (path, size, mtime, definitions) so unchanged files are not read again.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from dis_core.clock import Clock
from dis_core.definitions import Detection, RepairError, Scanner
from dis_core.files import write_atomic
from dis_core.vocabulary.kinds import DetectionCategory, ScanResult
from endpoint import heuristics
from endpoint.item import QuarantinedItem
from endpoint.journal import Journal
from endpoint.reports import ScanReport
from endpoint.trust import TrustedFiles
from endpoint.vault import LocalQuarantine

Stamp = tuple[int, int, int]


def pick(detections: list[Detection]) -> Detection:
    """The detection to act on: a repairable one when there is one."""
    return next((d for d in detections if d.repairable), detections[0])


class FolderScanner:
    """Examines files for one endpoint; the caller holds the endpoint's lock."""

    def __init__(
        self,
        vault: LocalQuarantine,
        trusted: TrustedFiles,
        journal: Journal,
        clock: Clock,
        *,
        heuristics_on: bool,
        max_bytes: int,
    ) -> None:
        self.vault = vault
        self.trusted = trusted
        self.journal = journal
        self.clock = clock
        self.heuristics_on = heuristics_on
        self.max_bytes = max_bytes
        self._clean: dict[str, Stamp] = {}

    def scan(self, folder: Path, scanner: Scanner | None, sequence: int) -> ScanReport:
        report = ScanReport()
        for path in sorted(folder.rglob("*")):
            if path.is_file() and not path.is_symlink():
                try:
                    self._examine(path, scanner, sequence, report)
                except OSError as exc:  # vanished or unreadable mid-scan: skip, report
                    report.skipped.append(f"{path}: {exc.strerror or exc}")
        return report

    def _examine(
        self, path: Path, scanner: Scanner | None, sequence: int, report: ScanReport
    ) -> None:
        info = path.stat()
        stamp = (info.st_size, info.st_mtime_ns, sequence)
        if self._clean.get(str(path)) == stamp:
            return
        if info.st_size > self.max_bytes:
            report.skipped.append(f"{path}: larger than endpoint.max_file_mb")
            return
        data = path.read_bytes()
        report.scanned += 1
        detections = scanner.scan_bytes(data) if scanner is not None else []
        if detections:
            assert scanner is not None
            self._act_on_detection(path, data, scanner, pick(detections), sequence, report)
        elif not self._act_on_suspicion(path, data, sequence, report):
            self._clean[str(path)] = stamp

    def _act_on_detection(
        self,
        path: Path,
        data: bytes,
        scanner: Scanner,
        detection: Detection,
        sequence: int,
        report: ScanReport,
    ) -> None:
        if detection.category == DetectionCategory.HEURISTIC:
            result, reason = ScanResult.SUSPICIOUS, detection.signature_id
        elif not detection.repairable:
            result, reason = ScanResult.DETECTED, detection.signature_id
        else:
            try:
                self._repair_in_place(path, scanner.repair(data, detection), detection)
                report.repaired_in_place.append(path)
                return
            except RepairError as exc:
                result, reason = (
                    ScanResult.UNREPAIRABLE,
                    f"{detection.signature_id}: repair failed: {exc}",
                )
        report.quarantined.append(
            self.admit(path, data, result, reason, detection.virus_name, sequence)
        )

    def _repair_in_place(self, path: Path, repaired: bytes, detection: Detection) -> None:
        info = path.stat()
        write_atomic(path, repaired, info.st_mode & 0o7777)
        os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))
        self.trusted.add(hashlib.sha256(repaired).hexdigest())
        self.journal.write(
            self.clock.now(),
            "repaired_in_place",
            path=str(path),
            virus=detection.virus_name,
            sequence=detection.sequence,
        )

    def _act_on_suspicion(self, path: Path, data: bytes, sequence: int, report: ScanReport) -> bool:
        if not self.heuristics_on or hashlib.sha256(data).hexdigest() in self.trusted:
            return False
        suspicion = heuristics.assess(data)
        if suspicion is None:
            return False
        reason = f"heuristic {suspicion.rule}: {suspicion.detail}"
        report.quarantined.append(
            self.admit(path, data, ScanResult.SUSPICIOUS, reason, "", sequence)
        )
        return True

    def admit(
        self, path: Path, data: bytes, result: ScanResult, reason: str, virus: str, sequence: int
    ) -> QuarantinedItem:
        item = self.vault.admit(path, data, result, reason, virus, sequence)
        self.journal.write(
            self.clock.now(),
            "quarantined",
            item=item.id,
            path=item.side_effects.path,
            result=result.value,
            reason=reason,
        )
        return item
