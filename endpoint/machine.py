"""One simulated client computer: scan, quarantine, forward, receive definitions, repair, confirm.

Everything an endpoint knows lives in its folder (data_dir/endpoints/<computer>/), so a
restart picks up where it stopped: items not yet accepted by the server are forwarded
again, confirmations not yet accepted are sent again. All public methods are safe to call
from several threads (and processes): work on one computer is serialised by a lock.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from dis_core.clock import Clock
from dis_core.config import Config
from dis_core.definitions import (
    DefinitionError,
    DefinitionSet,
    InstalledDefinitions,
    InstallError,
    Scanner,
    VerifyKey,
    read_package,
)
from dis_core.files import write_atomic
from dis_core.layout import VERIFY_KEY_PATH
from dis_core.vocabulary.errors import SampleError
from dis_core.vocabulary.kinds import ScanResult
from endpoint import forwarding
from endpoint.defcast import DefcastListener, InstallReply, listener_certificate, start_listener
from endpoint.identity import Identity
from endpoint.intake_client import IntakeClient, IntakeRefused, IntakeUnavailable
from endpoint.item import ForwardStatus, QuarantinedItem
from endpoint.journal import Journal
from endpoint.layout import EndpointFolders
from endpoint.outbox import ConfirmationOutbox
from endpoint.reports import ForwardReport, Resolution, ScanReport, TakenIn
from endpoint.resolution import Resolver
from endpoint.scanning import FolderScanner
from endpoint.trust import TrustedFiles
from endpoint.vault import LocalQuarantine

__all__ = ["Endpoint", "ForwardReport", "Resolution", "ScanReport", "TakenIn", "verify_key_path"]

log = logging.getLogger(__name__)
# The pushing server records a delivery only after our answer; confirming a moment later
# keeps the confirmation from overtaking that record.
CONFIRM_GRACE_S = 0.5


def verify_key_path(config: Config) -> Path:
    configured = config.endpoint.verify_key_file
    return Path(configured) if configured else config.path(VERIFY_KEY_PATH)


class Endpoint:
    """A simulated client computer with its own identity, folders, definitions and listener."""

    def __init__(
        self,
        config: Config,
        identity: Identity,
        clock: Clock,
        *,
        folders: EndpointFolders | None = None,
        client: IntakeClient | None = None,
    ) -> None:
        self.client = client or IntakeClient.from_config(config)  # refuses a bad URL first
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
        self.scanner = FolderScanner(
            self.vault,
            self.trusted,
            self.journal,
            clock,
            heuristics_on=config.endpoint.heuristics,
            max_bytes=config.endpoint.max_file_mb * 2**20,
        )
        self.resolver = Resolver(
            self.computer,
            self.vault,
            self.client,
            self.outbox,
            self.trusted,
            self.journal,
            clock,
            self._attributes,
        )
        self._definitions: InstalledDefinitions | None = None
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

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """One thread at a time in this process (re-entrant), one process at a time on disk."""
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
                f"{key_path}: no definitions verify key; start the back office "
                "or set endpoint.verify_key_file"
            )
        return VerifyKey.load(key_path)

    def definitions(self) -> InstalledDefinitions:
        """The endpoint's own installed sets (its folder); InstallError without a verify key."""
        if self._definitions is None:
            engine = self.config.definition_policy.engine
            installed = InstalledDefinitions(self.folders.definitions, self._verify_key(), engine)
            self._refuse_damaged(installed)
            self._definitions = installed
        return self._definitions

    def _refuse_damaged(self, installed: InstalledDefinitions) -> None:
        """An active set that no longer verifies (changed on disk, signed by another key) is
        put aside and the previous set is active again, so scanning goes on."""
        try:
            installed.active()
            return
        except DefinitionError as exc:
            problem = exc.detail
        kept, active = installed.refuse_active()
        sequence = active.sequence if active else 0
        self.journal.write(
            self.clock.now(), "definitions_refused", reason=problem, kept=kept, sequence=sequence
        )
        log.warning(
            "%s: active definitions refused (%s); set %d active", self.computer, problem, sequence
        )

    def active_sequence(self) -> int:
        """Sequence of the active definitions (0: none installed, or no verify key)."""
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
        """Verify and install a signed full package (atomic; the same set again changes nothing).

        Raises DefinitionError (``unpackage``: not authentic; ``superseded``: older than the
        active set) or InstallError (incremental package, failed load test, no verify key).
        """
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
            installed = self.definitions().install(package)
            if installed.sequence != active:
                self.journal.write(
                    self.clock.now(), "definitions_installed", sequence=installed.sequence
                )
            return installed

    # ----- scanning and quarantining
    def scan_once(self) -> ScanReport:
        """Scan the watched folder once: cure on the spot, or quarantine what is found."""
        with self._locked():
            return self.scanner.scan(
                self.folders.watch, self._current_scanner(), self.active_sequence()
            )

    def quarantine_file(self, path: Path, reason: str = "submitted by the user") -> QuarantinedItem:
        """Put a file into the quarantine whatever the scan says (a manual submission)."""
        with self._locked():
            path = Path(path)
            if not path.is_file():
                raise FileNotFoundError(f"{path}: not a file")
            data = path.read_bytes()
            return self.scanner.admit(
                path, data, ScanResult.SUSPICIOUS, reason, "", self.active_sequence()
            )

    def take_in(self, sources: list[Path], *, force: bool = False) -> list[TakenIn]:
        """Copy files onto this computer (watch/inbox/; the sources stay) and scan at once.

        With ``force`` a file the scan leaves alone is quarantined anyway (a manual
        submission). Copy and scan happen under the computer's lock, so a running fleet
        cannot take the files first.
        """
        with self._locked():
            placed = [_copy_into(self.folders.watch / "inbox", Path(s)) for s in sources]
            report = self.scan_once()
            found = {item.side_effects.path: item for item in report.quarantined}
            repaired = {str(p.resolve()) for p in report.repaired_in_place}
            return [
                self._taken_in(s, p, found, repaired, force)
                for s, p in zip(sources, placed, strict=True)
            ]

    def _taken_in(
        self,
        source: Path,
        placed: Path,
        found: dict[str, QuarantinedItem],
        repaired: set[str],
        force: bool,
    ) -> TakenIn:
        key = str(placed.resolve())
        item = found.get(key)
        if item is None and force and key not in repaired:
            item = self.quarantine_file(placed)
        return TakenIn(Path(source), placed, item, key in repaired)

    def items(self) -> list[QuarantinedItem]:
        """Every item ever quarantined here (resolved ones keep their record)."""
        with self._locked():
            return self.vault.items()

    # ----- forwarding and confirmations
    def forward_pending(self) -> ForwardReport:
        """Forward every item whose (retry) time has come, then send due confirmations.

        Once the server proves unreachable, the rest of the round waits for the retry interval
        too, so a dead server costs one timeout per round, not one per item.
        """
        report = ForwardReport()
        with self._locked():
            now = self.clock.now()
            for item in self.vault.items():
                if forwarding.due(item, now):
                    self._forward(item, now, report)
            if not report.retry_later:
                retry_s = self.config.endpoint.retry_interval_s
                sent, _ = self.outbox.send_due(self.client, self.clock.now(), retry_s, self.journal)
                report.confirmations_sent = sent
            report.confirmations_waiting = len(self.outbox.pending())
        return report

    def _forward(self, item: QuarantinedItem, now: datetime, report: ForwardReport) -> None:
        retry_s = self.config.endpoint.retry_interval_s
        status: ForwardStatus | None = ForwardStatus.PENDING
        if report.retry_later:  # the server did not answer a moment ago
            forwarding.defer(item, now, retry_s, f"not tried: {report.retry_later[0].last_error}")
        else:
            status = self._attempt(item, now, retry_s, report)
        if status is ForwardStatus.FORWARDED:
            self.resolver.report_unsent(item)  # the round's outbox pass below sends it
        if status is not None:
            {
                ForwardStatus.FORWARDED: report.forwarded,
                ForwardStatus.PENDING: report.retry_later,
                ForwardStatus.REFUSED: report.refused,
            }[status].append(item)
        self.vault.save(item)
        state = item.forward_status.value
        self.journal.write(now, "forward", item=item.id, status=state, error=item.last_error)

    def _attempt(
        self, item: QuarantinedItem, now: datetime, retry_s: float, report: ForwardReport
    ) -> ForwardStatus | None:
        """One attempt; None when this item itself failed (the server was not the problem)."""
        try:
            attributes = self._attributes(item, now)
            return forwarding.attempt(self.client, self.vault, item, attributes, retry_s)
        except Exception as exc:  # a fault with one item must not stall the computer's queue
            log.exception("item %s could not be forwarded", item.id)
            forwarding.defer(item, now, retry_s, f"not forwarded: {exc.__class__.__name__}: {exc}")
            report.failed.append(item)
            return None

    def _attributes(self, item: QuarantinedItem, now: datetime) -> dict[str, Any]:
        return forwarding.forward_attributes(item, self.identity, self.listener_address(), now)

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
        write_atomic(self.folders.listener, json.dumps(record).encode(), 0o644)
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
        """A Defcast delivery: install now; repair and confirm afterwards on a worker thread."""
        try:
            installed = self.install_definitions(package)
        except DefinitionError as exc:
            status = 409 if exc.error == SampleError.SUPERSEDED else 422
            return InstallReply(False, self.active_sequence(), exc.error.value, exc.detail, status)
        except InstallError as exc:
            self._report_failed_install(package, exc.reason)
            return InstallReply(
                False, self.active_sequence(), SampleError.INTERNAL.value, exc.reason, 500
            )
        worker = threading.Thread(
            target=self._resolve_and_confirm, name=f"resolve-{self.computer}", daemon=True
        )
        self._workers.append(worker)
        worker.start()
        return InstallReply(True, installed.sequence)

    def _report_failed_install(self, package: bytes, reason: str) -> None:
        try:
            sequence = read_package(package, self._verify_key()).sequence
        except (DefinitionError, InstallError):
            return  # not even readable: the HTTP answer is all the server gets
        with self._locked():
            self.resolver.install_failed(sequence, reason)

    def _resolve_and_confirm(self) -> None:
        try:
            self.resolve_quarantine(from_server=True)
            self._stopping.wait(CONFIRM_GRACE_S)
            with self._locked():
                self.outbox.hasten(self.clock.now())
            self.forward_pending()
        except Exception:  # a worker thread must not die silently
            log.exception("%s: repair after install failed", self.computer)

    def wait_idle(self, timeout_s: float = 30.0) -> None:
        """Wait until repairs and confirmations started by Defcast deliveries are done."""
        for worker in list(self._workers):
            worker.join(timeout_s)
        self._workers = [w for w in self._workers if w.is_alive()]

    def pull_definitions(self) -> bool:
        """Fetch the server's active set; when newer, install, repair and confirm. True if installed."""
        offered = self.client.active_sequence()  # a HEAD: the set itself only when it is newer
        if offered is None or offered <= self.active_sequence():
            return False
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

    # ----- repair, restore
    def resolve_quarantine(self, *, from_server: bool = False) -> list[Resolution]:
        """Judge every open item with the active set (see endpoint.resolution); queue a confirmation.

        ``from_server``: the active set is the one the Quarantine Server delivers (pushed or
        pulled), so it may say 'not repaired', and an undetected item the server settled is given back.
        """
        with self._locked():
            return self.resolver.resolve_all(
                self._current_scanner(), self.active_sequence(), from_server
            )

    def restore(self, item_id: str) -> Path:
        """Give a quarantined file back unchanged (an administrator's decision); VaultError if closed."""
        with self._locked():
            return self.resolver.restore(item_id, self.active_sequence())

    # ----- running
    def tick(self) -> None:
        """One round of a running endpoint: scan and forward; every pull_interval_s also ask
        the server about open items and pull its active set when newer: always without a
        listener, and with one while a forwarded item waits for its cure under an address this
        listener no longer has (restarted on another port: the push may never come)."""
        self.scan_once()
        self.forward_pending()
        if not self._pull_due():
            return
        self._last_pull = self.clock.now()
        if self._listener is None or self._awaiting_cure():
            try:
                self.pull_definitions()
            except (IntakeUnavailable, IntakeRefused, DefinitionError, InstallError) as exc:
                self.journal.write(self.clock.now(), "pull_failed", error=str(exc))
        self.resolve_quarantine()

    def _awaiting_cure(self) -> bool:
        """A forwarded item waits for its cure, and the server knows another listener for it
        (this one restarted elsewhere): its push may never come, so the endpoint pulls."""
        here = forwarding.listener_text(self._listener_attributes())
        return any(
            i.forward_status is ForwardStatus.FORWARDED
            and not i.resolved
            and i.forwarded_listener != here
            for i in self.vault.items()
        )

    def _listener_attributes(self) -> dict[str, Any]:
        listener = self.listener_address()
        return (
            {"X-Platform-Address": listener[0], "X-Platform-Port": listener[1]} if listener else {}
        )

    def _pull_due(self) -> bool:
        if self._last_pull is None:
            return True
        return self.clock.now() >= self._last_pull + timedelta(
            seconds=self.config.endpoint.pull_interval_s
        )

    def stop(self) -> None:
        """Stop the Defcast listener and wait for running repairs; the folder keeps all state."""
        self._stopping.set()
        if self._listener is not None:
            self._listener.stop()
            self._listener = None
            self.folders.listener.unlink(missing_ok=True)
        self.wait_idle()
        self.client.close()


def _copy_into(folder: Path, source: Path) -> Path:
    """Copy ``source`` into ``folder`` under a name not taken yet."""
    folder.mkdir(parents=True, exist_ok=True)
    target, number = folder / source.name, 1
    while target.exists():
        target = folder / f"{source.stem}-{number}{source.suffix}"
        number += 1
    shutil.copyfile(source, target)
    return target
