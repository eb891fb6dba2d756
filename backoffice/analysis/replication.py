"""One replication run: a sample among goats under a plan (date, events, goat names), in the
SimVM emulator (binary) or the simulated Office (macro), all inside an in-memory file system.

A goat counts as infected when its content changed AND it now carries the virus's own code
(a SimVM program, or VBA modules it did not have): damage alone is not replication.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dis_core.vocabulary.kinds import EngineKind
from simworld.emulator import find_program, run_binary
from simworld.goats import Goat, binary_goats, document_goats
from simworld.vfs import Event, RunResult, VirtualFS

GOAT_SEED = 1
BINARY_SAMPLE_PATH = "C:/Users/Public/Downloads/sample.exe"
MACRO_SAMPLE_PATH = "C:/Users/Public/Downloads/sample"
MACRO_SUFFIX = {"docm": ".docm", "xlsm": ".xlsm", "dotm": ".dotm", "doc": ".doc", "xls": ".xls"}


@dataclass
class Infection:
    path: str
    original: bytes
    infected: bytes


@dataclass
class Replication:
    carried_program: bool
    infections: list[Infection] = field(default_factory=list)
    created: dict[str, bytes] = field(default_factory=dict)
    threat_actions: list[str] = field(default_factory=list)
    stop_reason: str = "halt"
    fault: str | None = None
    steps: int = 0

    def summary(self) -> dict[str, Any]:
        return {
            "carried_program": self.carried_program, "infected": [i.path for i in self.infections],
            "created": sorted(self.created), "threat_actions": self.threat_actions[:20],
            "stop_reason": self.stop_reason, "fault": self.fault,
        }  # fmt: skip


def goat_kit(kind: str, rename: str | None) -> list[Goat]:
    """The goats for a plan; ``rename`` gives every goat a name built from that word."""
    kit = binary_goats(GOAT_SEED) if kind == EngineKind.BINARY else document_goats(GOAT_SEED)
    if not rename:
        return kit
    renamed = []
    for index, goat in enumerate(kit):
        folder, _, name = goat.path.rpartition("/")
        if "Templates" in folder:  # the global template keeps its one fixed place
            renamed.append(goat)
            continue
        suffix = name[name.rfind(".") :] if "." in name else ""
        renamed.append(Goat(f"{folder}/{rename}{index + 1}{suffix}", goat.data, goat.kind))
    return renamed


def replicate(kind: str, sample: bytes, plan: dict[str, Any], max_steps: int) -> Replication:
    goats = goat_kit(kind, plan.get("rename"))
    vfs = VirtualFS()
    for goat in goats:
        vfs.write(goat.path, goat.data)
    when = datetime.fromisoformat(plan["when"])
    events = _events(kind, goats) if plan.get("exercise") else []
    if kind == EngineKind.BINARY:
        result = run_binary(
            sample,
            vfs,
            when=when,
            events=events,
            sample_path=BINARY_SAMPLE_PATH,
            max_steps=max_steps,
        )
        carries = _carries_program
    else:
        from simworld.office import run_document

        path = MACRO_SAMPLE_PATH + _document_suffix(sample)
        result = run_document(
            sample, vfs, when=when, events=events, sample_path=path, max_steps=max_steps
        )
        carries = _carries_macros
    return _collect(
        result,
        goats,
        carries,
        sample_path=BINARY_SAMPLE_PATH if kind == EngineKind.BINARY else None,
    )


def _events(kind: str, goats: list[Goat]) -> list[Event]:
    if kind == EngineKind.BINARY:
        return [Event(k, g.path) for g in goats for k in ("execute", "open", "close")]
    documents = [g for g in goats if "Templates" not in g.path]
    return [Event(k, g.path) for g in documents for k in ("open", "save", "close")]


def _collect(
    result: RunResult, goats: list[Goat], carries: Any, sample_path: str | None
) -> Replication:
    by_path = {g.path.lower(): g for g in goats}
    infections = []
    for path, data in sorted(result.changed.items()):
        goat = by_path.get(path.lower())
        if goat is not None and carries(data) and not carries(goat.data):
            infections.append(Infection(goat.path, goat.data, data))
    created = {p: d for p, d in result.created.items() if p != sample_path}
    return Replication(
        result.carried_program,
        infections,
        created,
        list(result.threat_actions),
        result.stop_reason,
        result.fault,
    )


def _carries_program(data: bytes) -> bool:
    return find_program(data) is not None


def _carries_macros(data: bytes) -> bool:
    from dis_core.formats.documents import read_modules

    try:
        return bool(read_modules(data))
    except Exception:  # not a document the simulated Office can read: no macros it runs
        return False


def _document_suffix(sample: bytes) -> str:
    """A file name ending that matches the container (some viruses only spread to one kind)."""
    if sample.startswith(b"PK"):
        return ".xlsm" if b"xl/" in sample[:4096] else ".docm"
    return ".doc"
