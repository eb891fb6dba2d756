"""The definition-set data model: signatures, detections and sets, with strict validation."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dis_core.definitions import canonical
from dis_core.definitions.engines import RULE_NAME
from dis_core.definitions.errors import unpackage
from dis_core.definitions.recipe import validate_recipe
from dis_core.vocabulary.attributes import format_attributes
from dis_core.vocabulary.kinds import DetectionCategory, SignatureKind

KINDS = tuple(k.value for k in SignatureKind)
CATEGORIES = tuple(c.value for c in DetectionCategory)
SET_KINDS = ("full", "incremental")
MAX_SIGNATURES = 200_000
MAX_RULE_BYTES = 64 * 1024
MAX_SEQUENCE = 2**53

SIGNATURE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
VIRUS_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.!@#+/:-]{0,127}")
LABEL = re.compile(r"[A-Za-z0-9_.-]{0,64}")
# Rule text that could reach outside the one rule: file includes, rules that apply to all.
FORBIDDEN_RULE_TEXT = re.compile(r"(?m)^[ \t]*(include\b|global\b|private\b)")
SIGNATURE_FIELDS = frozenset(
    {"id", "virus_name", "kind", "rule", "repair", "added_in", "removed_in", "family", "category"}
)


@dataclass(frozen=True)
class Signature:
    id: str
    virus_name: str
    kind: str
    rule: str
    repair: dict[str, Any] | None
    added_in: int
    removed_in: int | None = None
    family: str = ""
    category: str = "virus"

    @property
    def rule_name(self) -> str:
        """The identifier the rule declares (unique within a set)."""
        found = RULE_NAME.search(self.rule)
        return found.group(1) if found else ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "virus_name": self.virus_name, "kind": self.kind, "rule": self.rule,
            "repair": self.repair, "added_in": self.added_in, "removed_in": self.removed_in,
            "family": self.family, "category": self.category,
        }  # fmt: skip


@dataclass(frozen=True)
class Detection:
    signature_id: str
    virus_name: str
    sequence: int
    kind: str
    category: str
    repairable: bool
    offset: int | None


@dataclass
class DefinitionSet:
    sequence: int
    kind: str
    base: int | None
    certified: bool
    produced: datetime
    published: datetime | None
    certified_at: datetime | None
    signatures: list[Signature]
    removed: list[str]
    result_checksum: str
    # Added beyond the contract: the vendor's Ed25519 signature over the full set's manifest
    # (for an incremental set: over the full set it produces) and, for incremental sets,
    # the checksum of the base full set it must be applied to.
    signature: bytes = field(default=b"", repr=False)
    base_checksum: str = ""
    # Canonical signature bytes already known (read from BODY or computed once), with the
    # signature objects they were made from (held, so a replaced list is always noticed).
    _payload: tuple[tuple[Signature, ...], bytes] | None = field(
        default=None, repr=False, compare=False
    )

    def by_id(self) -> dict[str, Signature]:
        return {s.id: s for s in self.signatures}

    def find(self, signature_id: str) -> Signature | None:
        return next((s for s in self.signatures if s.id == signature_id), None)

    def header(self) -> dict[str, Any]:
        """The envelope of a FULL set (signed through the manifest)."""
        return {
            "format": 1, "kind": "full", "sequence": self.sequence, "certified": self.certified,
            "produced": canonical.format_time(self.produced),
            "published": canonical.format_time(self.published),
            "certified_at": canonical.format_time(self.certified_at),
        }  # fmt: skip

    def payload(self) -> bytes:
        """Canonical bytes of the signatures of a FULL set; result_checksum is their sha256."""
        cached = self._payload
        if cached is None or not _same_objects(cached[0], self.signatures):
            self.remember_payload(payload_bytes(self.signatures))
            return self.payload()
        return cached[1]

    def remember_payload(self, data: bytes) -> None:
        """Record that ``data`` is the canonical form of the current signature list."""
        self._payload = (tuple(self.signatures), data)


def _same_objects(kept: tuple[Signature, ...], current: list[Signature]) -> bool:
    return len(kept) == len(current) and all(a is b for a, b in zip(kept, current, strict=True))


def payload_bytes(signatures: list[Signature]) -> bytes:
    ordered = sorted(signatures, key=lambda s: s.id)
    return canonical.dumps({"signatures": [s.to_dict() for s in ordered]})


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_signature(sig: Signature, sequence: int) -> None:
    """Raise ValueError when a signature is malformed for a set with this sequence."""
    _check_text(sig)
    if sig.kind not in KINDS:
        raise ValueError(f"{sig.id}: kind must be one of {KINDS}")
    if sig.category not in CATEGORIES:
        raise ValueError(f"{sig.id}: category must be one of {CATEGORIES}")
    if not _is_int(sig.added_in) or not 1 <= sig.added_in <= sequence:
        raise ValueError(f"{sig.id}: added_in must be between 1 and {sequence}")
    if sig.removed_in is not None and (not _is_int(sig.removed_in) or sig.removed_in < 1):
        raise ValueError(f"{sig.id}: removed_in must be a positive integer or null")
    if sig.repair is not None:
        validate_recipe(sig.repair, sig.kind)


def _check_text(sig: Signature) -> None:
    if not isinstance(sig.id, str) or not SIGNATURE_ID.fullmatch(sig.id):
        raise ValueError(f"signature id {sig.id!r} is not valid")
    if not isinstance(sig.virus_name, str) or not VIRUS_NAME.fullmatch(sig.virus_name):
        raise ValueError(f"{sig.id}: virus name {sig.virus_name!r} is not valid")
    if not isinstance(sig.family, str) or not LABEL.fullmatch(sig.family):
        raise ValueError(f"{sig.id}: family {sig.family!r} is not valid")
    if not isinstance(sig.rule, str) or not sig.rule.isascii() or len(sig.rule) > MAX_RULE_BYTES:
        raise ValueError(f"{sig.id}: rule must be ASCII text of at most {MAX_RULE_BYTES} bytes")
    if len(RULE_NAME.findall(sig.rule)) != 1:
        raise ValueError(f"{sig.id}: rule source must declare exactly one rule")
    if FORBIDDEN_RULE_TEXT.search(sig.rule):
        raise ValueError(f"{sig.id}: include, global and private are not allowed in rules")


def check_signatures(signatures: list[Signature], sequence: int) -> None:
    """Validate every signature and the set-wide uniqueness of ids and rule names."""
    if len(signatures) > MAX_SIGNATURES:
        raise ValueError(f"more than {MAX_SIGNATURES} signatures")
    ids: set[str] = set()
    names: set[str] = set()
    for sig in signatures:
        check_signature(sig, sequence)
        if sig.id in ids:
            raise ValueError(f"signature id {sig.id} appears twice")
        if sig.rule_name in names:
            raise ValueError(f"rule name {sig.rule_name} appears twice")
        ids.add(sig.id)
        names.add(sig.rule_name)


def check_sequence(value: Any, what: str) -> int:
    if not _is_int(value) or not 1 <= value <= MAX_SEQUENCE:
        raise ValueError(f"{what} must be an integer between 1 and {MAX_SEQUENCE}")
    return int(value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def signature_from_dict(item: Any, sequence: int) -> Signature:
    """Strictly rebuild a signature read from a package; DefinitionError(unpackage) if bad."""
    if not isinstance(item, dict) or set(item) != SIGNATURE_FIELDS:
        raise unpackage("signature entry has missing or unknown fields")
    try:
        sig = Signature(**item)
        check_signature(sig, sequence)
    except (TypeError, ValueError) as exc:
        raise unpackage(f"bad signature: {exc}") from None
    return sig


def signatures_from_list(items: Any, sequence: int) -> list[Signature]:
    if not isinstance(items, list) or len(items) > MAX_SIGNATURES:
        raise unpackage("signature list is missing or too long")
    signatures = [signature_from_dict(item, sequence) for item in items]
    if [s.id for s in signatures] != sorted(s.id for s in signatures):
        raise unpackage("signatures are not in canonical order")
    try:
        check_signatures(signatures, sequence)
    except ValueError as exc:
        raise unpackage(str(exc)) from None
    return signatures


@dataclass(frozen=True)
class Package:
    """A definition package as it is sent (by the gateway or the Quarantine Server), with the
    facts its reply headers carry; the checksum describes the bytes as sent."""

    data: bytes
    sequence: int
    kind: str  # full or incremental
    certified: bool
    base: int | None = None  # an increment's base sequence

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    def headers(self) -> dict[str, str]:
        """The X-Signatures-* reply headers."""
        values: dict[str, Any] = {
            "X-Signatures-Sequence": self.sequence,
            "X-Signatures-Kind": self.kind,
            "X-Signatures-Certified": self.certified,
            "X-Signatures-Checksum": self.checksum,
        }
        if self.base is not None:
            values["X-Signatures-Base"] = self.base
        return format_attributes(values)
