"""The baseline set (sequence 1, certified): the EICAR test file plus the 'known' families of
the simulated world, so that some samples are settled by definitions already installed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dis_core.definitions.keys import SigningKey
from dis_core.definitions.model import Signature
from dis_core.definitions.package import build_full

BASELINE_SEQUENCE = 1
# The 68-byte EICAR test string, assembled from two halves so this source file itself is not
# mistaken for the test file by a scanner.
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
EICAR_MAX_SIZE = 128  # the test file may be followed by white space, up to 128 bytes in all


def eicar_signature() -> Signature:
    pattern = " ".join(f"{byte:02X}" for byte in EICAR)
    rule = (
        "rule baseline_eicar_test_file\n{\n"
        f"  strings:\n    $a = {{ {pattern} }}\n"
        f"  condition:\n    $a at 0 and filesize <= {EICAR_MAX_SIZE}\n}}\n"
    )
    return Signature(
        id="B000001", virus_name="EICAR-Test-File", kind="binary", rule=rule, repair=None,
        added_in=BASELINE_SEQUENCE, family="eicar", category="test",
    )  # fmt: skip


def _known(index: int, entry: dict[str, Any]) -> Signature:
    return Signature(
        id=f"B{index:06d}", virus_name=entry["virus_name"], kind=entry["kind"], rule=entry["rule"],
        repair=entry.get("repair"), added_in=BASELINE_SEQUENCE, family=entry.get("family", ""),
        category=entry.get("category", "virus"),
    )  # fmt: skip


def baseline_signatures() -> list[Signature]:
    """EICAR (B000001) then the simulated world's known entries (B000002, ...), in its order,
    leaving out its own EICAR entry."""
    from dis_core.simworld.known import baseline_signatures as known_entries

    eicar = eicar_signature()
    # The simulated world lists EICAR too; this module's own EICAR signature stays the only one.
    known = [e for e in known_entries() if e["virus_name"] != eicar.virus_name]
    return [eicar] + [_known(i, e) for i, e in enumerate(known, start=2)]


def build_baseline(key: SigningKey, produced: datetime) -> bytes:
    """Signed full package of the baseline: sequence 1, certified at ``produced``."""
    return build_full(
        BASELINE_SEQUENCE, baseline_signatures(), certified=True, produced=produced, key=key,
        published=produced, certified_at=produced,
    )  # fmt: skip
