"""Inert test samples, packed as an endpoint forwards them, and the test signatures that find them.

Nothing here is, carries or runs a virus: a test 'infection' is the text SIMMARK-<marker>
appended to harmless bytes, and its signature is a YARA rule on that text whose repair cuts the
file back where the text starts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from dis_core.definitions import Signature
from dis_core.protocol import pack_sample

WHEN = datetime(2026, 1, 1, tzinfo=UTC)  # when the tests' samples are quarantined and sets made
HOST_BYTES = b"SIMHOST-" + bytes(range(256)) * 4


def host_program(tag: str, size: int = 600) -> bytes:
    """A harmless 'program' of ``size`` bytes: MZ, then ``tag`` repeated; nothing here runs."""
    body = (tag.encode() * (size // max(1, len(tag)) + 1))[: size - 2]
    return b"MZ" + body


def infected(marker: str, host: bytes = HOST_BYTES) -> bytes:
    """``host`` with the inert mark appended, which ``marker_signature(marker)`` detects and
    repairs back to ``host``."""
    return host + b"SIMMARK-" + marker.encode() + b"-tail-bytes"


def marker_signature(
    marker: str, sequence: int, *, repairable: bool = True, virus_name: str | None = None
) -> Signature:
    """A binary signature added in set ``sequence`` on the text SIMMARK-<marker>; ``marker``
    names its rule, so it must be a YARA identifier and unique within one set."""
    rule = f'rule sim_{marker.lower()}\n{{\n  strings:\n    $a = "SIMMARK-{marker}"\n  condition:\n    $a\n}}\n'
    recipe = {"version": 1, "anchor": "$a", "ops": [{"op": "truncate", "length": {"match": 0}}]}
    return Signature(
        id=f"T{sequence:03d}{marker[:8]}",
        virus_name=f"Sim.Test.{marker}" if virus_name is None else virus_name,
        kind="binary",
        rule=rule,
        repair=recipe if repairable else None,
        added_in=sequence,
        family="test",
        category="virus",
    )


def forward_headers(
    content: bytes,
    *,
    sample_id: str = "q-1",
    computer: str = "PC-1",
    user: str = "alice",
    file_name: str = "report.exe",
    sequence: int = 0,
    address: str | None = None,
    port: int | None = None,
    **extra: Any,
) -> tuple[dict[str, str], bytes]:
    """Headers and body an endpoint sends to forward ``content`` to the Quarantine Server."""
    attrs: dict[str, Any] = {
        "X-Sample-Type": "file",
        "X-Sample-File": file_name,
        "X-Sample-Id": sample_id,
        "X-Platform-User": user,
        "X-Platform-Computer": computer,
        "X-Scan-Result": "suspicious",
        "X-Scan-Signatures-Sequence": sequence,
        "X-Date-Quarantined": WHEN,
    }
    if address and port:
        attrs.update({"X-Platform-Address": address, "X-Platform-Port": port})
    attrs.update(extra)
    return pack_sample(content, attrs)
