"""Definition building: turning chosen signatures into signed sets, and the unit tests a set
must pass before it is published.

Unit tests of a set:
1. it verifies and every rule compiles (the same load test a host makes before installing);
2. each signature built for the sample under test detects every infected goat and, when it
   has a repair, gives back each original byte for byte (a threat: detects the sample; a
   removed signature: no longer flags the sample);
3. no signature the back office wrote hits any goodware file;
4. every earlier back-office signature still in the set passes its stored tests (the goats
   archived when it was made).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from backoffice.analysis.rules import binary_rule, macro_rule
from backoffice.services import Services
from backoffice.store.models import BuildRecord, BuiltSignature
from backoffice.store.workspace import Workspace
from dis_core.db import unit_of_work
from dis_core.definitions import (
    DefinitionSet,
    RepairError,
    Scanner,
    Signature,
    apply_incremental,
    build_full,
    build_incremental,
    read_package,
)

BACKOFFICE_PREFIX = "S"


class UnitTestFailure(Exception):
    """The set must not be published; the message says which test failed."""


@dataclass(frozen=True)
class Build:
    sequence: int
    kind: str  # full | incremental
    certified: bool
    package: bytes
    new_ids: list[str]
    removed: list[str]


def next_signature_id(services: Services) -> str:
    """Only the builder (holding its lock) calls this, so ids cannot collide."""
    with unit_of_work(services.store.sessions) as session:
        taken = session.scalars(select(BuiltSignature.signature_id)).all()
    numbers = [int(t[1:]) for t in taken if t.startswith(BACKOFFICE_PREFIX) and t[1:].isdigit()]
    return f"{BACKOFFICE_PREFIX}{max(numbers, default=0) + 1:06d}"


def signature_from(finding: dict[str, Any], signature_id: str, sequence: int) -> Signature:
    if finding["kind"] == "macro":
        rule = macro_rule(signature_id, finding["virus_name"], finding["pattern_text"])
    else:
        rule = binary_rule(
            signature_id, finding["virus_name"], bytes.fromhex(finding["pattern_hex"])
        )
    return Signature(
        id=signature_id, virus_name=finding["virus_name"], kind=finding["kind"], rule=rule,
        repair=finding["repair"], added_in=sequence, family=finding.get("family", ""),
        category=finding.get("category", "virus"),
    )  # fmt: skip


def build_set(
    services: Services, *, full: bool, new: list[dict[str, Any]], remove: list[str]
) -> Build:
    """Reserve a sequence and build the signed full package of the next set."""
    base = services.newest_set()
    sequence = services.repository.next_sequence()
    now = services.clock.now()
    kept = [s for s in (base.signatures if base else []) if s.id not in set(remove)]
    added = [
        signature_from(f, next_id, sequence)
        for f, next_id in zip(new, _ids(services, len(new)), strict=True)
    ]
    package = build_full(
        sequence, kept + added, certified=full, produced=now, key=services.key, published=now,
        certified_at=now if full else None,
    )  # fmt: skip
    if base is not None and not full:
        _check_increment(services, base, package)
    return Build(
        sequence,
        "full" if full else "incremental",
        full,
        package,
        [s.id for s in added],
        list(remove),
    )


def _ids(services: Services, count: int) -> list[str]:
    first = int(next_signature_id(services)[1:])
    return [f"{BACKOFFICE_PREFIX}{first + i:06d}" for i in range(count)]


def _check_increment(services: Services, base: DefinitionSet, package: bytes) -> None:
    """The increment from the current set must rebuild exactly this set (what hosts apply)."""
    target = read_package(package, services.key.verify_key())
    increment = read_package(
        build_incremental(base, target, services.key), services.key.verify_key()
    )
    if (
        apply_incremental(base, increment).result_checksum != target.result_checksum
        and target.result_checksum
    ):
        raise UnitTestFailure("the incremental package does not rebuild the new set")


# ----------------------------------------------------------------------------- unit tests


@dataclass
class SampleEvidence:
    """What the signatures built for one sample must do."""

    pairs: list[tuple[bytes, bytes]]  # (original goat, infected goat)
    sample: bytes
    end: str  # infected | norepair | unsubmittable | misfired


def unit_test(services: Services, build: Build, evidence: SampleEvidence | None) -> dict[str, Any]:
    """Run every test; UnitTestFailure on the first failure, else a small report."""
    definitions = read_package(build.package, services.key.verify_key())
    scanner = Scanner(definitions, services.config.definition_policy.engine)
    report: dict[str, Any] = {"signatures": len(definitions.signatures)}
    if evidence is not None:
        report["goats_checked"] = _test_new(scanner, definitions, build, evidence)
    report["goodware_files"] = _test_goodware(services, definitions)
    report["earlier_signatures"] = _test_earlier(services, scanner, definitions, build)
    return report


def _test_new(
    scanner: Scanner, definitions: DefinitionSet, build: Build, evidence: SampleEvidence
) -> int:
    if evidence.end == "misfired":
        hits = {d.signature_id for d in scanner.scan_bytes(evidence.sample)}
        if hits & set(build.removed):
            raise UnitTestFailure("the withdrawn signature still flags the sample")
        return 0
    new = set(build.new_ids)
    if not {d.signature_id for d in scanner.scan_bytes(evidence.sample)} & new:
        raise UnitTestFailure("the new signature does not detect the sample")
    for original, infected in evidence.pairs:
        _check_goat(scanner, definitions, new, original, infected)
    return len(evidence.pairs)


def _check_goat(
    scanner: Scanner, definitions: DefinitionSet, ids: set[str], original: bytes, infected: bytes
) -> None:
    detection = next((d for d in scanner.scan_bytes(infected) if d.signature_id in ids), None)
    if detection is None:
        raise UnitTestFailure("an infected goat is not detected")
    signature = definitions.find(detection.signature_id)
    if signature is None or signature.repair is None:
        return
    try:
        repaired = scanner.repair(infected, detection)
    except RepairError as exc:
        raise UnitTestFailure(f"repair of an infected goat failed: {exc}") from None
    if repaired != original:
        raise UnitTestFailure("repair of an infected goat does not give back the original bytes")


def _own(definitions: DefinitionSet) -> DefinitionSet:
    mine = [s for s in definitions.signatures if s.id.startswith(BACKOFFICE_PREFIX)]
    return replace(definitions, signatures=mine)


def _test_goodware(services: Services, definitions: DefinitionSet) -> int:
    mine = _own(definitions)
    if not mine.signatures:
        return 0
    scanner = Scanner(mine, services.config.definition_policy.engine)
    checked = 0
    for path, data in services.goodware.corpus.blobs():
        hits = scanner.scan_bytes(data)
        if hits:
            raise UnitTestFailure(
                f"{hits[0].virus_name} ({hits[0].signature_id}) hits goodware {path.name}"
            )
        checked += 1
    return checked


def _test_earlier(
    services: Services, scanner: Scanner, definitions: DefinitionSet, build: Build
) -> int:
    present = {s.id for s in definitions.signatures}
    with unit_of_work(services.store.sessions) as session:
        earlier = [
            (b.signature_id, b.test_dir) for b in session.scalars(select(BuiltSignature)).all()
        ]
    checked = 0
    for signature_id, test_dir in earlier:
        if signature_id not in present or not test_dir or signature_id in build.new_ids:
            continue
        for original, infected in stored_pairs(Path(test_dir)):
            _check_goat(scanner, definitions, {signature_id}, original, infected)
        checked += 1
    return checked


def stored_pairs(folder: Path) -> list[tuple[bytes, bytes]]:
    space = Workspace(folder)
    if not space.exists("goats/index.json"):
        return []
    count = len(space.get_json("goats/index.json"))
    return [
        (space.get(f"goats/{n:02d}.original"), space.get(f"goats/{n:02d}.infected"))
        for n in range(count)
    ]


def record_build(services: Services, build: Build, outcome: str, detail: str, at: datetime) -> None:
    with unit_of_work(services.store.sessions) as session:
        session.add(
            BuildRecord(
                sequence=build.sequence,
                kind=build.kind,
                certified=build.certified,
                outcome=outcome,
                detail=detail[:2000],
                at=at,
            )
        )


def record_signatures(
    services: Services, build: Build, cookie: str | None, test_dir: Path | None
) -> None:
    definitions = read_package(build.package, services.key.verify_key())
    with unit_of_work(services.store.sessions) as session:
        for signature_id in build.new_ids:
            sig = definitions.find(signature_id)
            assert sig is not None
            session.add(BuiltSignature(
                signature_id=sig.id, cookie=cookie, virus_name=sig.virus_name, kind=sig.kind,
                category=sig.category, added_in=build.sequence, test_dir=str(test_dir) if test_dir else None,
            ))  # fmt: skip
        for signature_id in build.removed:
            for row in session.scalars(
                select(BuiltSignature).where(BuiltSignature.signature_id == signature_id)
            ):
                row.removed_in = build.sequence
