"""The scanner: one definition set compiled once, used on bytes, files and documents."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path

from dis_core.definitions.engines import (
    DEFAULT_ENGINE,
    ENGINES,
    CompiledRules,
    EngineError,
    RuleHit,
    compile_rules,
)
from dis_core.definitions.errors import RepairError
from dis_core.definitions.model import DefinitionSet, Detection, Signature
from dis_core.definitions.recipe import apply_binary_recipe
from dis_core.definitions.vba import extract_vba, looks_like_office, normalize_vba
from dis_core.formats.documents import remove_modules
from dis_core.vocabulary.kinds import SignatureKind

MAX_SCAN_BYTES = 512 * 2**20


class Scanner:
    """Compiles all rules of ``definitions`` with ``engine`` ('yara' or 'yara-x').

    Binary and hash rules run on the bytes; macro rules run on the normalized source of
    each VBA module of an OLE/OOXML document. Raises EngineError when the rules do not
    compile (the load test of an install).
    """

    def __init__(self, definitions: DefinitionSet, engine: str = DEFAULT_ENGINE) -> None:
        if engine not in ENGINES:
            raise ValueError(f"unknown engine {engine!r}; use one of {ENGINES}")
        if definitions.kind != "full":
            raise ValueError("a scanner needs a full definition set")
        self.definitions = definitions
        self.engine = engine
        self._signatures = definitions.by_id()
        self._file_rules = self._compile(
            s for s in definitions.signatures if s.kind != SignatureKind.MACRO
        )
        self._macro_rules = self._compile(
            s for s in definitions.signatures if s.kind == SignatureKind.MACRO
        )
        self._has_macros = any(s.kind == SignatureKind.MACRO for s in definitions.signatures)
        self._single: dict[str, CompiledRules] = {}
        self._lock = threading.Lock()

    def _compile(self, signatures: Iterable[Signature]) -> CompiledRules:
        return compile_rules(self.engine, {s.id: s.rule for s in signatures})

    def scan_bytes(self, data: bytes) -> list[Detection]:
        found = {hit.signature_id: self._detection(hit) for hit in self._file_rules.match(data)}
        for sig_id in self._macro_hits(data):
            found.setdefault(sig_id, self._detection(RuleHit(sig_id, {})))
        return sorted(found.values(), key=lambda d: d.signature_id)

    def scan_file(self, path: Path) -> list[Detection]:
        path = Path(path)
        if path.stat().st_size > MAX_SCAN_BYTES:
            raise ValueError(f"{path}: larger than {MAX_SCAN_BYTES} bytes")
        return self.scan_bytes(path.read_bytes())

    def _macro_hits(self, data: bytes) -> set[str]:
        if not self._has_macros or not looks_like_office(data):
            return set()
        modules = extract_vba(data) or []
        return {
            hit.signature_id
            for _, source in modules
            for hit in self._macro_rules.match(_text(source))
        }

    def _detection(self, hit: RuleHit) -> Detection:
        sig = self._signatures[hit.signature_id]
        return Detection(
            signature_id=sig.id, virus_name=sig.virus_name, sequence=self.definitions.sequence,
            kind=sig.kind, category=sig.category, repairable=sig.repair is not None,
            offset=_anchor_offset(sig, hit) if sig.kind == SignatureKind.BINARY else None,
        )  # fmt: skip

    def _rules_of(self, sig: Signature) -> CompiledRules:
        """The signature's rule compiled alone (repair needs its own match and offsets)."""
        with self._lock:
            if sig.id not in self._single:
                try:
                    self._single[sig.id] = compile_rules(self.engine, {sig.id: sig.rule})
                except EngineError as exc:  # e.g. a rule that leans on another rule
                    raise RepairError(
                        f"rule of {sig.id} does not compile on its own: {exc}"
                    ) from None
            return self._single[sig.id]

    def matches(self, sig: Signature, data: bytes) -> RuleHit | None:
        """Whether one signature matches ``data`` (for macro kind: any module of the document)."""
        rules = self._rules_of(sig)
        if sig.kind == SignatureKind.MACRO:
            modules = extract_vba(data) or []
            return next(
                (RuleHit(sig.id, {}) for _, src in modules if rules.match(_text(src))), None
            )
        return next(iter(rules.match(data)), None)

    def repair_works(self, data: bytes, detection: Detection) -> bool:
        """The detection has a repair and it really cleans ``data`` (the result is not kept)."""
        if not detection.repairable:
            return False
        try:
            self.repair(data, detection)
        except RepairError:
            return False
        return True

    def repaired_detection(self, data: bytes) -> Detection | None:
        """The first detection of ``data`` whose repair works, or None."""
        return next((d for d in self.scan_bytes(data) if self.repair_works(data, d)), None)

    def repair(self, data: bytes, detection: Detection) -> bytes:
        """Apply the signature's recipe and check the signature no longer matches the result."""
        sig = self._signatures.get(detection.signature_id)
        if sig is None:
            raise RepairError(f"signature {detection.signature_id} is not in the active set")
        if sig.repair is None:
            raise RepairError(f"{sig.virus_name} ({sig.id}) has no repair")
        hit = self.matches(sig, data)
        if hit is None:
            raise RepairError(f"{sig.virus_name} ({sig.id}) does not match this file")
        repaired = (
            self._repair_macro(sig, data)
            if sig.kind == SignatureKind.MACRO
            else self._repair_binary(sig, data, hit)
        )
        if self.matches(sig, repaired) is not None:
            raise RepairError(f"{sig.virus_name} still matches after the repair")
        return repaired

    def _repair_binary(self, sig: Signature, data: bytes, hit: RuleHit) -> bytes:
        assert sig.repair is not None
        anchor = sig.repair.get("anchor")
        offset = hit.offsets.get(anchor) if anchor else None
        if anchor and offset is None:
            raise RepairError(f"anchor {anchor} of {sig.id} did not match")
        return apply_binary_recipe(data, sig.repair, offset)

    def _repair_macro(self, sig: Signature, data: bytes) -> bytes:
        rules = self._rules_of(sig)
        try:
            return remove_modules(data, lambda _name, source: bool(rules.match(_text(source))))
        except RepairError:
            raise
        except Exception as exc:  # the document writer refuses what it cannot rewrite
            raise RepairError(f"could not rewrite the document: {exc}") from None


def _anchor_offset(sig: Signature, hit: RuleHit) -> int | None:
    anchor = sig.repair.get("anchor") if sig.repair else None
    if anchor and anchor in hit.offsets:
        return hit.offsets[anchor]
    return min(hit.offsets.values(), default=None)


def _text(source: str) -> bytes:
    return normalize_vba(source).encode("utf-8")
