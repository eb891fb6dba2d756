"""One simulated client computer: scan, quarantine, forward, receive definitions, repair, confirm.

Everything an endpoint knows lives in its folder (data_dir/endpoints/<computer>/), so a
restart picks up where it stopped: items not yet accepted by the server are forwarded
again, confirmations not yet accepted are sent again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from dis_core.clock import Clock
from dis_core.config import Config
from dis_core.definitions import (
    DefinitionError,
    DefinitionSet,
    Detection,
    InstalledDefinitions,
    InstallError,
    RepairError,
    Scanner,
    VerifyKey,
    read_package,
)
from dis_core.protocol import pack_sample
from dis_core.vocabulary.errors import SampleError
from endpoint import heuristics
from endpoint.defcast import DefcastListener, InstallReply, listener_certificate, start_listener
from endpoint.identity import Identity
from endpoint.intake_client import IntakeClient, IntakeRefused, IntakeUnavailable
from endpoint.item import ForwardStatus, Outcome, QuarantinedItem, ScanResult
from endpoint.journal import Journal
from endpoint.layout import EndpointFolders, write_atomically
from endpoint.outbox import ConfirmationOutbox
from endpoint.trust import TrustedFiles
from endpoint.vault import LocalQuarantine, VaultError

log = logging.getLogger(__name__)
CONFIRM_GRACE_S = 0.5
# Server statuses that mean: the vendor settled this sample and the server delivers a set for it.
SETTLED = frozenset({"available", "distribute", "distributed", "installed", "not installed"})
HARMLESS = "unneeded"  # the vendor found nothing to cure


@dataclass
class ScanReport:
    """What one pass over the watched folder did."""

    scanned: int = 0
    quarantined: list[QuarantinedItem] = field(default_factory=list)
    repaired_in_place: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


@dataclass
class ForwardReport:
    """What one forwarding round did."""

    forwarded: list[QuarantinedItem] = field(default_factory=list)
    retry_later: list[QuarantinedItem] = field(default_factory=list)
    refused: list[QuarantinedItem] = field(default_factory=list)
    confirmations_sent: int = 0
    confirmations_waiting: int = 0


@dataclass(frozen=True)
class Resolution:
    """The fate of one quarantined item after an install."""

    item_id: str
    outcome: Outcome
    path: str = ""


def verify_key_path(config: Config) -> Path:
    configured = config.endpoint.verify_key_file
    return Path(configured) if configured else config.path("backoffice/keys/signing.pub")


class Endpoint:
    """A simulated client computer; safe to use from several threads."""

    def __init__(
        self,
        config: Config,
        identity: Identity,
        clock: Clock,
        *,
        folders: EndpointFolders | None = None,
        client: IntakeClient | None = None,
    ) -> None:
        self.config = config
        self.identity = identity
        self.clock = clock
        self.folders = folders or EndpointFolders.under(
            Path(config.general.data_dir), identity.computer
        )
        self.folders.create()
        identity.save(self.folders.identity)
        self.vault = LocalQuarantine(self.folders, clock)
        self.outbox = ConfirmationOutbox(self.folders.outbox)
        self.journal = Journal(self.folders.root / "journal.jsonl")
        self.trusted = TrustedFiles(self.folders.trusted)
        self.client = client or IntakeClient.from_config(config)
        self._definitions: InstalledDefinitions | None = None
        self._clean: dict[str, tuple[int, int, int]] = {}
        self._mutex = threading.RLock()
        self._depth = 0
        self._listener: DefcastListener | None = None
        self._workers: list[threading.Thread] = []
        self._stopping = threading.Event()
        self._last_pull: datetime | None = None
        self._install_initial()

    @property
    def computer(self) -> str:
        return self.identity.computer

    # ----- locking: one thread at a time in-process, one process at a time on disk
    @contextmanager
    def _locked(self) -> Iterator[None]:
        with self._mutex:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            with self.folders.locked():
                self._depth = 1
                try:
                    yield
                finally:
                    self._depth = 0

    # ----- definitions
    def _verify_key(self) -> VerifyKey:
        key_path = verify_key_path(self.config)
        if not key_path.exists():
            raise InstallError(
                f"{key_path}: no definitions verify key; start the back office or set endpoint.verify_key_file"
            )
        return VerifyKey.load(key_path)

    def definitions(self) -> InstalledDefinitions:
        """The endpoint's own installed sets (its folder); InstallError without a verify key."""
        if self._definitions is None:
            self._definitions = InstalledDefinitions(
                self.folders.definitions,
                self._verify_key(),
                engine=self.config.definition_policy.engine,
            )
        return self._definitions

    def active_sequence(self) -> int:
        try:
            return self.definitions().active_sequence
        except InstallError:
            return 0

    def _current_scanner(self) -> Scanner | None:
        return self.definitions().scanner() if self.active_sequence() else None

    def _install_initial(self) -> None:
        path = self.config.endpoint.initial_definitions
        if path and self.active_sequence() == 0:
            self.install_definitions(self.config.path(path).read_bytes())

    def install_definitions(self, package: bytes) -> DefinitionSet:
        """Verify and install a signed full package (atomic); an older one is refused."""
        with self._locked():
            offered = read_package(package, self._verify_key())
            if offered.kind != "full":
                raise InstallError(
                    f"sequence {offered.sequence} is an incremental set; endpoints install full sets"
                )
            active = self.active_sequence()
            if offered.sequence < active:
                raise DefinitionError(
                    SampleError.SUPERSEDED,
                    f"sequence {offered.sequence} is older than the installed {active}",
                )
            installed = self.definitions().install(package)  # the same set again: no change
            if installed.sequence != active:
                self._clean.clear()
                self.journal.write(
                    self.clock.now(), "definitions_installed", sequence=installed.sequence
                )
            return installed

    # ----- scanning and quarantining
    def scan_once(self) -> ScanReport:
        """Scan every file under the watched folder once; quarantine or repair what is found."""
        report = ScanReport()
        with self._locked():
            scanner = self._current_scanner()
            for path in sorted(self.folders.watch.rglob("*")):
                if path.is_file() and not path.is_symlink():
                    self._examine_safely(path, scanner, report)
        return report

    def _examine_safely(self, path: Path, scanner: Scanner | None, report: ScanReport) -> None:
        """A file that vanishes or cannot be read mid-scan is skipped and reported, not fatal."""
        try:
            self._examine(path, scanner, report)
        except OSError as exc:
            report.skipped.append(f"{path}: {exc.strerror or exc}")

    def _unchanged_clean(self, path: Path) -> tuple[str, tuple[int, int, int]]:
        info = path.stat()
        return str(path), (info.st_size, info.st_mtime_ns, self.active_sequence())

    def _examine(self, path: Path, scanner: Scanner | None, report: ScanReport) -> None:
        key, stamp = self._unchanged_clean(path)
        if self._clean.get(key) == stamp:
            return
        if stamp[0] > self.config.endpoint.max_file_mb * 2**20:
            report.skipped.append(f"{path}: larger than endpoint.max_file_mb")
            return
        data = path.read_bytes()
        report.scanned += 1
        if self._act_on_detection(path, data, scanner, report) or self._act_on_suspicion(
            path, data, report
        ):
            return
        self._clean[key] = stamp

    def _act_on_detection(
        self, path: Path, data: bytes, scanner: Scanner | None, report: ScanReport
    ) -> bool:
        detections = scanner.scan_bytes(data) if scanner is not None else []
        if not detections:
            return False
        detection = _pick(detections)
        assert scanner is not None
        if detection.category == "heuristic":
            report.quarantined.append(
                self._admit(path, data, ScanResult.SUSPICIOUS, detection.signature_id, detection)
            )
        elif not detection.repairable:
            report.quarantined.append(
                self._admit(path, data, ScanResult.DETECTED, detection.signature_id, detection)
            )
        else:
            self._repair_or_admit(path, data, scanner, detection, report)
        return True

    def _repair_or_admit(
        self, path: Path, data: bytes, scanner: Scanner, detection: Detection, report: ScanReport
    ) -> None:
        try:
            repaired = scanner.repair(data, detection)
        except RepairError as exc:
            reason = f"{detection.signature_id}: repair failed: {exc}"
            report.quarantined.append(
                self._admit(path, data, ScanResult.UNREPAIRABLE, reason, detection)
            )
            return
        info = path.stat()
        write_atomically(path, repaired, info.st_mode & 0o7777)
        os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))
        self.trusted.add(hashlib.sha256(repaired).hexdigest())
        self.journal.write(
            self.clock.now(),
            "repaired_in_place",
            path=str(path),
            virus=detection.virus_name,
            sequence=detection.sequence,
        )
        report.repaired_in_place.append(path)

    def _act_on_suspicion(self, path: Path, data: bytes, report: ScanReport) -> bool:
        if not self.config.endpoint.heuristics or hashlib.sha256(data).hexdigest() in self.trusted:
            return False
        suspicion = heuristics.assess(data)
        if suspicion is None:
            return False
        reason = f"heuristic {suspicion.rule}: {suspicion.detail}"
        report.quarantined.append(self._admit(path, data, ScanResult.SUSPICIOUS, reason, None))
        return True

    def _admit(
        self, path: Path, data: bytes, result: ScanResult, reason: str, detection: Detection | None
    ) -> QuarantinedItem:
        virus = detection.virus_name if detection else ""
        item = self.vault.admit(path, data, result, reason, virus, self.active_sequence())
        self.journal.write(
            self.clock.now(),
            "quarantined",
            item=item.id,
            path=item.side_effects.path,
            result=result.value,
            reason=reason,
        )
        return item

    def quarantine_file(self, path: Path, reason: str = "submitted by the user") -> QuarantinedItem:
        """Put a file into the quarantine whatever the scan says (a manual submission)."""
        with self._locked():
            path = Path(path)
            if not path.is_file():
                raise FileNotFoundError(f"{path}: not a file")
            return self._admit(path, path.read_bytes(), ScanResult.SUSPICIOUS, reason, None)

    def items(self) -> list[QuarantinedItem]:
        with self._locked():
            return self.vault.items()

    # ----- forwarding
    def forward_pending(self) -> ForwardReport:
        """Forward every item whose retry time has come, then send waiting confirmations."""
        report = ForwardReport()
        with self._locked():
            now = self.clock.now()
            for item in self.vault.items():
                if _due(item, now):
                    self._forward(item, report)
            self._send_confirmations(report)
        return report

    def _forward(self, item: QuarantinedItem, report: ForwardReport) -> None:
        now = self.clock.now()
        item.attempts += 1
        try:
            headers, body = pack_sample(
                self.vault.content(item), self._forward_attributes(item, now)
            )
            receipt = self.client.forward(headers, body)
        except IntakeUnavailable as exc:
            self._retry_later(item, now, str(exc))
            report.retry_later.append(item)
        except (IntakeRefused, VaultError) as exc:
            item.forward_status, item.last_error = ForwardStatus.REFUSED, str(exc)
            item.note(now, "forward_refused", str(exc))
            report.refused.append(item)
        else:
            item.forward_status, item.server_id, item.server_status = (
                ForwardStatus.FORWARDED,
                receipt.sample_id,
                receipt.status,
            )
            item.forwarded_at, item.last_error = now.isoformat(), ""
            item.note(
                now,
                "forwarded",
                f"server id {receipt.sample_id} ({receipt.status}, {'new' if receipt.new else 'already held'})",
            )
            report.forwarded.append(item)
        self.vault.save(item)
        self.journal.write(
            now, "forward", item=item.id, status=item.forward_status.value, error=item.last_error
        )

    def _retry_later(self, item: QuarantinedItem, now: datetime, error: str) -> None:
        item.last_error = error
        item.next_attempt_at = (
            now + timedelta(seconds=self.config.endpoint.retry_interval_s)
        ).isoformat()
        item.note(now, "forward_failed", f"{error}; next attempt {item.next_attempt_at}")

    def _forward_attributes(self, item: QuarantinedItem, now: datetime) -> dict[str, Any]:
        effects = item.side_effects
        path = effects.path if len(effects.path) <= 1000 else Path(effects.path).name[-1000:]
        attributes: dict[str, Any] = {
            "X-Sample-Type": "file",
            "X-Sample-File": path,
            "X-Sample-Id": item.id,
            "X-Sample-Side-Effects": effects.as_attribute(),
            "X-Platform-User": self.identity.user,
            "X-Platform-Computer": self.identity.computer,
            "X-Platform-Domain": self.identity.domain,
            "X-Platform-Address": self.identity.address,
            "X-Scan-Result": item.scan_result.value,
            "X-Scan-Signatures-Sequence": item.sequence,
            "X-Date-Created": datetime.fromisoformat(effects.created),
            "X-Date-Modified": datetime.fromisoformat(effects.modified),
            "X-Date-Quarantined": datetime.fromisoformat(item.quarantined_at),
            "X-Date-Forwarded": now,
        }
        extension = Path(effects.path).suffix.lstrip(".")
        if extension:
            attributes["X-Sample-Extension"] = extension
        if item.virus_name:
            attributes["X-Scan-Virus-Name"] = item.virus_name
        listener = self.listener_address()
        if listener is not None:
            attributes["X-Platform-Address"], attributes["X-Platform-Port"] = listener
        return attributes

    # ----- Defcast
    def start_defcast(self, port: int = 0) -> int:
        """Start the TLS Defcast listener (port 0: any free port); returns the port."""
        if self._listener is not None:
            return self._listener.port
        host = self.config.endpoint.defcast_host
        cert, key = listener_certificate(
            self.config.certs_dir,
            self.folders.defcast_cert,
            self.folders.defcast_key,
            self.computer,
            host,
        )
        self._listener = start_listener(self, host, port, cert, key)
        record = {"host": host, "port": self._listener.port, "pid": os.getpid()}
        write_atomically(self.folders.listener, json.dumps(record).encode(), 0o644)
        return self._listener.port

    def listener_address(self) -> tuple[str, int] | None:
        """Where this computer's Defcast listener runs (in this process or another one)."""
        if self._listener is not None:
            return self.config.endpoint.defcast_host, self._listener.port
        try:
            record = json.loads(self.folders.listener.read_bytes())
            os.kill(int(record["pid"]), 0)
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return str(record["host"]), int(record["port"])

    def receive_definitions(self, package: bytes) -> InstallReply:
        """Install a pushed package; repair and confirm afterwards on a worker thread."""
        try:
            installed = self.install_definitions(package)
        except DefinitionError as exc:
            status = 409 if exc.error == SampleError.SUPERSEDED else 422
            return InstallReply(False, self.active_sequence(), exc.error.value, exc.detail, status)
        except InstallError as exc:
            self._after_failed_install(package, exc.reason)
            return InstallReply(
                False, self.active_sequence(), SampleError.INTERNAL.value, exc.reason, 500
            )
        worker = threading.Thread(
            target=self._resolve_and_confirm, name=f"resolve-{self.computer}", daemon=True
        )
        self._workers.append(worker)
        worker.start()
        return InstallReply(True, installed.sequence)

    def _after_failed_install(self, package: bytes, reason: str) -> None:
        """Tell the server which of its samples could not get their definitions here."""
        try:
            sequence = read_package(package, self._verify_key()).sequence
        except (DefinitionError, InstallError):
            return
        with self._locked():
            now = self.clock.now()
            self.journal.write(now, "install_failed", sequence=sequence, reason=reason)
            waiting = [i for i in self.vault.items() if i.server_id and not i.resolved]
            results = [
                {"sample_id": i.server_id, "outcome": Outcome.INSTALL_FAILED.value} for i in waiting
            ]
            if results:
                self.outbox.put(
                    {"computer": self.computer, "sequence": sequence, "results": results}, now
                )

    def _resolve_and_confirm(self) -> None:
        try:
            self.resolve_quarantine(from_server=True)
            # The pushing server records the delivery only after our answer; confirming a
            # moment later keeps the confirmation from overtaking that record.
            self._stopping.wait(CONFIRM_GRACE_S)
            self.forward_pending()
        except Exception:  # a worker thread must not die silently
            log.exception("%s: repair after install failed", self.computer)

    def wait_idle(self, timeout_s: float = 30.0) -> None:
        """Wait until repairs started by Defcast deliveries are done (tests, launcher)."""
        for worker in list(self._workers):
            worker.join(timeout_s)
        self._workers = [w for w in self._workers if w.is_alive()]

    def pull_definitions(self) -> bool:
        """Fetch the server's active set; install, repair and confirm when it is newer."""
        package = self.client.definitions("active")
        if (
            package is None
            or read_package(package, self._verify_key()).sequence <= self.active_sequence()
        ):
            return False
        self.install_definitions(package)
        self.resolve_quarantine(from_server=True)
        self.forward_pending()
        return True

    # ----- repair, restore, confirm
    def resolve_quarantine(self, *, from_server: bool = False) -> list[Resolution]:
        """Judge every open item with the active set: repair, restore or keep; queue a confirmation.

        ``from_server``: the active set is the one the Quarantine Server delivers (pushed or
        pulled), so an item it does not detect but the server has settled is given back.
        """
        with self._locked():
            scanner = self._current_scanner()
            sequence = self.active_sequence()
            decided = []
            for item in self.vault.items():
                if not item.resolved:
                    resolution = self._resolve(item, scanner, sequence, from_server)
                    decided += [resolution] if resolution else []
            self._queue_confirmation(sequence, decided)
            return decided

    def _resolve(
        self, item: QuarantinedItem, scanner: Scanner | None, sequence: int, from_server: bool
    ) -> Resolution | None:
        try:
            data = self.vault.content(item)
        except VaultError as exc:
            item.note(self.clock.now(), "unreadable", str(exc))
            self.vault.save(item)
            return None
        detections = _cures(scanner.scan_bytes(data)) if scanner else []
        if detections:
            assert scanner is not None
            return self._repair_item(item, data, scanner, _pick(detections), sequence, from_server)
        if scanner and item.scan_result != ScanResult.SUSPICIOUS:
            why = "no longer detected: false positive"
            return self._give_back(item, data, Outcome.RESTORED, sequence, why)
        verdict = self._server_verdict(item)
        if verdict == HARMLESS or (from_server and scanner and verdict in SETTLED):
            why = f"not detected, and the server says {verdict}: nothing to cure"
            return self._give_back(item, data, Outcome.RESTORED, sequence, why)
        return None  # the vendor has not spoken about this file yet: keep it

    def _server_verdict(self, item: QuarantinedItem) -> str:
        """The server's status of a forwarded item, learnt by resending it (a resend is
        recognised and answered with the sample's current status, docs/protocol.md)."""
        if item.forward_status != ForwardStatus.FORWARDED:
            return ""
        now = self.clock.now()
        try:
            content = self.vault.content(item)
            receipt = self.client.forward(
                *pack_sample(content, self._forward_attributes(item, now))
            )
        except (IntakeUnavailable, IntakeRefused, VaultError) as exc:
            item.note(now, "status_unknown", str(exc))
            self.vault.save(item)
            return ""
        item.server_status = receipt.status
        self.vault.save(item)
        return receipt.status

    def _repair_item(
        self,
        item: QuarantinedItem,
        data: bytes,
        scanner: Scanner,
        detection: Detection,
        sequence: int,
        from_server: bool,
    ) -> Resolution | None:
        try:
            if not detection.repairable:
                raise RepairError(f"{detection.virus_name}: the definitions have no repair")
            repaired = scanner.repair(data, detection)
        except RepairError as exc:
            return self._not_repaired(item, sequence, from_server, str(exc))
        why = f"repaired {detection.virus_name}"
        return self._give_back(item, repaired, Outcome.REPAIRED, sequence, why)

    def _not_repaired(
        self, item: QuarantinedItem, sequence: int, from_server: bool, why: str
    ) -> Resolution | None:
        """Only a set the server delivered can tell it 'not repaired', and once per set."""
        if not from_server or (item.outcome, item.outcome_sequence) == (
            Outcome.NOT_REPAIRED,
            sequence,
        ):
            return None
        item.outcome, item.outcome_sequence = Outcome.NOT_REPAIRED, sequence
        item.note(self.clock.now(), "not_repaired", why)
        self.vault.save(item)
        return Resolution(item.id, Outcome.NOT_REPAIRED)

    def _give_back(
        self, item: QuarantinedItem, data: bytes, outcome: Outcome, sequence: int, why: str
    ) -> Resolution:
        target = self.vault.give_back(item, data)
        self.trusted.add(hashlib.sha256(data).hexdigest())
        item.outcome, item.outcome_sequence, item.resolved, item.given_back_to = (
            outcome,
            sequence,
            True,
            str(target),
        )
        if item.forward_status == ForwardStatus.PENDING:
            item.forward_status = ForwardStatus.NOT_NEEDED
        item.note(self.clock.now(), outcome.value, f"{why}; written to {target}")
        self.vault.save(item)
        self.vault.drop_content(item)
        self.journal.write(
            self.clock.now(), outcome.value, item=item.id, path=str(target), sequence=sequence
        )
        return Resolution(item.id, outcome, str(target))

    def restore(self, item_id: str) -> Path:
        """Give a quarantined file back unchanged (an administrator's decision)."""
        with self._locked():
            item = self.vault.get(item_id)
            if item.resolved:
                raise VaultError(f"item {item_id} was already {item.outcome}")
            resolution = self._give_back(
                item,
                self.vault.content(item),
                Outcome.RESTORED,
                self.active_sequence(),
                "restored by the administrator",
            )
            return Path(resolution.path)

    def _queue_confirmation(self, sequence: int, decided: list[Resolution]) -> None:
        """One confirmation for the forwarded items this install decided."""
        results = []
        for resolution in decided:
            item = self.vault.get(resolution.item_id)
            if item.server_id and item.server_status != HARMLESS:
                results.append({"sample_id": item.server_id, "outcome": resolution.outcome.value})
        if results:
            confirmation = {"computer": self.computer, "sequence": sequence, "results": results}
            self.outbox.put(confirmation, self.clock.now())

    def _send_confirmations(self, report: ForwardReport) -> None:
        sent, waiting = self.outbox.send_due(
            self.client, self.clock.now(), self.config.endpoint.retry_interval_s, self.journal
        )
        report.confirmations_sent += sent
        report.confirmations_waiting = waiting

    # ----- running
    def tick(self) -> None:
        """One round of a running endpoint: scan and forward; every pull_interval_s also ask
        the server about open items and, without a listener, pull its active set."""
        self.scan_once()
        self.forward_pending()
        if not self._pull_due():
            return
        self._last_pull = self.clock.now()
        if self._listener is None:
            try:
                self.pull_definitions()
            except (IntakeUnavailable, IntakeRefused, DefinitionError, InstallError) as exc:
                self.journal.write(self.clock.now(), "pull_failed", error=str(exc))
        self.resolve_quarantine()

    def _pull_due(self) -> bool:
        if self._last_pull is None:
            return True
        interval = timedelta(seconds=self.config.endpoint.pull_interval_s)
        return self.clock.now() >= self._last_pull + interval

    def stop(self) -> None:
        """Stop the Defcast listener and wait for running repairs; the folder keeps all state."""
        self._stopping.set()
        if self._listener is not None:
            self._listener.stop()
            self._listener = None
            self.folders.listener.unlink(missing_ok=True)
        self.wait_idle()
        self.client.close()


def _cures(detections: list[Detection]) -> list[Detection]:
    """Detections that name a threat; an over-broad 'heuristic' rule only raises suspicion."""
    return [d for d in detections if d.category != "heuristic"]


def _pick(detections: list[Detection]) -> Detection:
    """The detection to act on: a repairable one when there is one."""
    return next((d for d in detections if d.repairable), detections[0])


def _due(item: QuarantinedItem, now: datetime) -> bool:
    if item.resolved or item.forward_status != ForwardStatus.PENDING:
        return False
    return not item.next_attempt_at or datetime.fromisoformat(item.next_attempt_at) <= now
