"""After definitions arrive: repair, restore or keep each quarantined item, and say so.

Rules, for every open item, with the newly active set:

* detected and repairable: the repaired file goes back to its original path (``repaired``);
* detected, no repair (or it fails): stays quarantined; reported ``not_repaired`` once per
  set, and only for a set the Quarantine Server delivered;
* quarantined because a signature hit it, and no longer detected: a false positive, given
  back unchanged (``restored``);
* quarantined on suspicion only, not detected: the vendor decides. The server's status of
  the sample (asked by resending it) says ``unneeded`` (nothing to cure) or, for a set the
  server delivered, that it settled the sample: given back (``restored``). Otherwise kept.

Forwarded items decided this way go into one install confirmation (the outbox sends it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from dis_core.clock import Clock
from dis_core.definitions import Detection, RepairError, Scanner
from dis_core.vocabulary.kinds import ConfirmationOutcome, DetectionCategory, ScanResult
from endpoint import forwarding
from endpoint.intake_client import IntakeClient, IntakeRefused, IntakeUnavailable
from endpoint.item import ForwardStatus, QuarantinedItem
from endpoint.journal import Journal
from endpoint.outbox import ConfirmationOutbox
from endpoint.reports import Resolution
from endpoint.scanning import pick
from endpoint.trust import TrustedFiles
from endpoint.vault import LocalQuarantine, VaultError

# Server statuses that mean: the vendor settled this sample and the server delivers a set for it.
SETTLED = frozenset({"available", "distribute", "distributed", "installed", "not installed"})
HARMLESS = "unneeded"  # the vendor found nothing to cure
Attributes = Callable[[QuarantinedItem, datetime], dict[str, Any]]


def cures(detections: list[Detection]) -> list[Detection]:
    """Detections that name a threat; an over-broad 'heuristic' rule only raises suspicion."""
    return [d for d in detections if d.category != DetectionCategory.HEURISTIC]


class Resolver:
    """Decides the fate of one endpoint's open items; the caller holds the endpoint's lock."""

    def __init__(
        self,
        computer: str,
        vault: LocalQuarantine,
        client: IntakeClient,
        outbox: ConfirmationOutbox,
        trusted: TrustedFiles,
        journal: Journal,
        clock: Clock,
        attributes: Attributes,
    ) -> None:
        self.computer = computer
        self.vault = vault
        self.client = client
        self.outbox = outbox
        self.trusted = trusted
        self.journal = journal
        self.clock = clock
        self.attributes = attributes
        self._server_silent = False

    def resolve_all(
        self, scanner: Scanner | None, sequence: int, from_server: bool
    ) -> list[Resolution]:
        decided = []
        self._server_silent = False
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
        detections = cures(scanner.scan_bytes(data)) if scanner else []
        if detections:
            assert scanner is not None
            return self._repair(item, data, scanner, pick(detections), sequence, from_server)
        if scanner and item.scan_result != ScanResult.SUSPICIOUS:
            return self.give_back(
                item,
                data,
                ConfirmationOutcome.RESTORED,
                sequence,
                "no longer detected: false positive",
            )
        verdict, needed = self._server_verdict(item)
        # a settled verdict counts only once this computer runs the set that settles it
        settled_here = verdict in SETTLED and (needed or 0) <= sequence
        if verdict == HARMLESS or (from_server and scanner and settled_here):
            why = f"not detected, and the server says {verdict}: nothing to cure"
            return self.give_back(item, data, ConfirmationOutcome.RESTORED, sequence, why)
        return None  # the vendor has not spoken about this file yet: keep it

    def _server_verdict(self, item: QuarantinedItem) -> tuple[str, int | None]:
        """The server's status of a forwarded item, learnt by resending it (a resend is
        recognised and answered with the sample's current status, docs/protocol.md)."""
        if item.forward_status != ForwardStatus.FORWARDED or self._server_silent:
            return "", None
        now = self.clock.now()
        try:
            receipt = forwarding.send(self.client, self.vault, item, self.attributes(item, now))
        except (IntakeUnavailable, IntakeRefused, VaultError) as exc:
            self._server_silent = isinstance(exc, IntakeUnavailable)  # ask no more this pass
            item.note(now, "status_unknown", str(exc))
            self.vault.save(item)
            return "", None
        item.server_status = receipt.status
        self.vault.save(item)
        return receipt.status, receipt.definitions_needed

    def _repair(
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
        return self.give_back(
            item,
            repaired,
            ConfirmationOutcome.REPAIRED,
            sequence,
            f"repaired {detection.virus_name}",
        )

    def _not_repaired(
        self, item: QuarantinedItem, sequence: int, from_server: bool, why: str
    ) -> Resolution | None:
        """Only a set the server delivered can tell it 'not repaired', and once per set (again
        only if that report never went out: the item had no server id yet)."""
        decided = (item.outcome, item.outcome_sequence) == (
            ConfirmationOutcome.NOT_REPAIRED,
            sequence,
        )
        if not from_server or (decided and (item.outcome_reported or not item.server_id)):
            return None
        if not decided:
            item.outcome, item.outcome_sequence = ConfirmationOutcome.NOT_REPAIRED, sequence
            item.outcome_reported = False
            item.note(self.clock.now(), "not_repaired", why)
            self.vault.save(item)
        return Resolution(item.id, ConfirmationOutcome.NOT_REPAIRED)

    def give_back(
        self,
        item: QuarantinedItem,
        data: bytes,
        outcome: ConfirmationOutcome,
        sequence: int,
        why: str,
    ) -> Resolution:
        """Write the (repaired or original) file where it was found; close the item."""
        target = self.vault.give_back(item, data)
        self.trusted.add(hashlib.sha256(data).hexdigest())
        item.outcome, item.outcome_sequence, item.outcome_reported = outcome, sequence, False
        item.resolved, item.given_back_to = True, str(target)
        if item.forward_status == ForwardStatus.PENDING:  # settled here, the server never asked
            item.forward_status = ForwardStatus.NOT_NEEDED
            why += f"; settled here by set {sequence} before any forward: not forwarded"
        item.note(self.clock.now(), outcome.value, f"{why}; written to {target}")
        self.vault.save(item)
        self.vault.drop_content(item)
        self._journal_settled(item, str(target))
        return Resolution(item.id, outcome, str(target))

    def _journal_settled(self, item: QuarantinedItem, target: str) -> None:
        """The journal line of a give-back; ``forward_status`` ``not_needed`` (and no
        ``server_id``) says the server never heard of the item: settled here by ``sequence``."""
        self.journal.write(
            self.clock.now(),
            str(item.outcome),
            item=item.id,
            path=target,
            sequence=item.outcome_sequence,
            forward_status=item.forward_status.value,
            server_id=item.server_id,
        )

    def restore(self, item_id: str, sequence: int) -> Path:
        item = self.vault.get(item_id)
        if item.resolved:
            raise VaultError(f"item {item_id} was already {item.outcome}")
        data = self.vault.content(item)
        return Path(
            self.give_back(
                item, data, ConfirmationOutcome.RESTORED, sequence, "restored by the administrator"
            ).path
        )

    def install_failed(self, sequence: int, reason: str) -> None:
        """Tell the server that its samples could not get their definitions here."""
        now = self.clock.now()
        self.journal.write(now, "install_failed", sequence=sequence, reason=reason)
        waiting = [i for i in self.vault.items() if i.server_id and not i.resolved]
        results = [
            {"sample_id": i.server_id, "outcome": ConfirmationOutcome.INSTALL_FAILED.value}
            for i in waiting
        ]
        if results:
            self.outbox.put(
                {"computer": self.computer, "sequence": sequence, "results": results}, now
            )

    def _queue_confirmation(self, sequence: int, decided: list[Resolution]) -> None:
        """One confirmation for the forwarded items this install decided; an item without a
        server id yet keeps its outcome unreported until its forward (report_unsent)."""
        items = [self.vault.get(resolution.item_id) for resolution in decided]
        reportable = [i for i in items if i.server_id and i.server_status != HARMLESS]
        self._queue(sequence, reportable)

    def report_unsent(self, item: QuarantinedItem) -> bool:
        """Queue the outcome a set decided before this item had a server id (the set reached
        the computer before the item's first forward), now that the forward gave it one."""
        unsent = item.outcome is not None and not item.outcome_reported
        if not (unsent and item.server_id) or item.server_status == HARMLESS:
            return False
        self._queue(item.outcome_sequence, [item])
        why = f"{item.outcome} with set {item.outcome_sequence}, decided before the forward"
        item.note(self.clock.now(), "outcome_reported", why)
        return True

    def _queue(self, sequence: int, items: list[QuarantinedItem]) -> None:
        """Into the outbox first, then marked reported: a crash between sends it twice (a
        repeat the server answers unchanged), never not at all."""
        if not items:
            return
        results = [{"sample_id": i.server_id, "outcome": str(i.outcome)} for i in items]
        confirmation = {"computer": self.computer, "sequence": sequence, "results": results}
        self.outbox.put(confirmation, self.clock.now())
        for item in items:
            item.outcome_reported = True
            self.vault.save(item)
