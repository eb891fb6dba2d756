"""Forwarding one quarantined item: its attributes, the attempt, and what the answer means.

An unreachable server (or one that says 'try later') leaves the item pending with its next
attempt ``retry_interval_s`` later; a refusal is recorded on the item and not retried.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from dis_core.protocol import pack_sample
from endpoint.identity import Identity
from endpoint.intake_client import ForwardReceipt, IntakeClient, IntakeRefused, IntakeUnavailable
from endpoint.item import ForwardStatus, QuarantinedItem
from endpoint.vault import LocalQuarantine, VaultError

MAX_ATTRIBUTE_TEXT = 1000


def forward_attributes(
    item: QuarantinedItem, identity: Identity, listener: tuple[str, int] | None, now: datetime
) -> dict[str, Any]:
    """The 'forward' attributes of an item (docs/protocol.md); pack_sample adds the rest."""
    effects = item.side_effects
    name = effects.path if len(effects.path) <= MAX_ATTRIBUTE_TEXT else Path(effects.path).name
    attributes: dict[str, Any] = {
        "X-Sample-Type": "file",
        "X-Sample-File": name[-MAX_ATTRIBUTE_TEXT:],
        "X-Sample-Id": item.id,
        "X-Sample-Side-Effects": effects.as_attribute(),
        "X-Platform-User": identity.user,
        "X-Platform-Computer": identity.computer,
        "X-Platform-Domain": identity.domain,
        "X-Platform-Address": identity.address,
        "X-Scan-Result": item.scan_result.value,
        "X-Scan-Signatures-Sequence": item.sequence,
        "X-Date-Created": datetime.fromisoformat(effects.created),
        "X-Date-Modified": datetime.fromisoformat(effects.modified),
        "X-Date-Quarantined": datetime.fromisoformat(item.quarantined_at),
        "X-Date-Forwarded": now,
    }
    extension = Path(effects.path).suffix.lstrip(".")
    if extension:
        attributes["X-Sample-Extension"] = extension[:MAX_ATTRIBUTE_TEXT]
    if item.virus_name:
        attributes["X-Scan-Virus-Name"] = item.virus_name
    if listener is not None:  # where the server pushes definitions back (Defcast)
        attributes["X-Platform-Address"], attributes["X-Platform-Port"] = listener
    return attributes


def send(
    client: IntakeClient, vault: LocalQuarantine, item: QuarantinedItem, attributes: dict[str, Any]
) -> ForwardReceipt:
    """Pack and post the item once; raises IntakeUnavailable, IntakeRefused or VaultError."""
    headers, body = pack_sample(vault.content(item), attributes)
    return client.forward(headers, body)


def attempt(
    client: IntakeClient,
    vault: LocalQuarantine,
    item: QuarantinedItem,
    attributes: dict[str, Any],
    retry_s: float,
) -> ForwardStatus:
    """One forwarding attempt; the item records the outcome (the caller saves it)."""
    now: datetime = attributes["X-Date-Forwarded"]
    item.attempts += 1
    try:
        receipt = send(client, vault, item, attributes)
    except IntakeUnavailable as exc:
        defer(item, now, retry_s, str(exc))
        return ForwardStatus.PENDING
    except (IntakeRefused, VaultError) as exc:
        item.forward_status, item.last_error = ForwardStatus.REFUSED, str(exc)
        item.note(now, "forward_refused", str(exc))
        return ForwardStatus.REFUSED
    _accepted(item, receipt, now)
    item.forwarded_listener = listener_text(attributes)
    return ForwardStatus.FORWARDED


def listener_text(attributes: dict[str, Any]) -> str:
    """Where the forward said the Defcast listener is ("" without one)."""
    port = attributes.get("X-Platform-Port")
    return f"{attributes['X-Platform-Address']}:{port}" if port else ""


def defer(item: QuarantinedItem, now: datetime, retry_s: float, error: str) -> None:
    """Leave the item pending until ``retry_s`` from now."""
    item.last_error = error
    item.next_attempt_at = (now + timedelta(seconds=retry_s)).isoformat()
    item.note(now, "forward_failed", f"{error}; next attempt {item.next_attempt_at}")


def _accepted(item: QuarantinedItem, receipt: ForwardReceipt, now: datetime) -> None:
    item.forward_status = ForwardStatus.FORWARDED
    item.server_id, item.server_status = receipt.sample_id, receipt.status
    item.forwarded_at, item.last_error = now.isoformat(), ""
    held = "new" if receipt.new else "already held"
    item.note(now, "forwarded", f"server id {receipt.sample_id} ({receipt.status}, {held})")


def due(item: QuarantinedItem, now: datetime) -> bool:
    """Pending, not resolved, and its next attempt time has come."""
    if item.resolved or item.forward_status != ForwardStatus.PENDING:
        return False
    return not item.next_attempt_at or datetime.fromisoformat(item.next_attempt_at) <= now
