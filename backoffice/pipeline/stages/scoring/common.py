"""What scoring a binary and scoring a macro virus share: the goat pairs, the goodware and
other-virus checks a candidate must pass, and deferring to an analyst."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from backoffice.analysis.builder import stored_pairs
from backoffice.pipeline.stages.base import Job, Outcome
from backoffice.store.models import BuiltSignature
from dis_core.db import unit_of_work
from dis_core.vocabulary import SampleState

OTHER_VIRUSES = 200  # newest signatures whose goats a candidate is checked against


def load_pairs(job: Job) -> list[tuple[bytes, bytes]]:
    """(original, infected) goat pairs the replicator left in the job's workspace."""
    space = job.workspace
    count = len(space.get_json("goats/index.json"))
    return [
        (space.get(f"goats/{n:02d}.original"), space.get(f"goats/{n:02d}.infected"))
        for n in range(count)
    ]


def goodware_rejects(
    job: Job, data: bytes, others: list[tuple[str, bytes]] | None = None
) -> str | None:
    """Why ``data`` may not be a signature: it occurs in a goodware file, or in a file of
    another virus the back office already has a signature for."""
    found = job.services.goodware.corpus.find(data)
    if found is not None:
        return f"occurs in goodware {found.name}"
    clash = next((name for name, blob in others or [] if data in blob), None)
    return None if clash is None else f"occurs in files of {clash}"


def other_viruses(job: Job, own_name: str | None) -> list[tuple[str, bytes]]:
    """Archived infected goats of other viruses' signatures (kit-built viruses share code:
    a window also found there would make this signature fire on that virus too)."""
    with unit_of_work(job.services.store.sessions) as session:
        rows = session.scalars(
            select(BuiltSignature).order_by(BuiltSignature.id.desc()).limit(OTHER_VIRUSES)
        ).all()
        wanted = [
            (r.virus_name, r.test_dir) for r in rows if r.test_dir and r.virus_name != own_name
        ]
    found: list[tuple[str, bytes]] = []
    for name, folder in wanted:
        found += [(name, infected) for _, infected in stored_pairs(Path(folder))[:2]]
    return found


def defer(job: Job, reason: str, tried: list[dict[str, Any]]) -> Outcome:
    """Nothing passed the checks: the automation cannot settle it, an analyst must."""
    job.workspace.put_json("scores.json", tried)
    outcome = Outcome.go(SampleState.DEFER, reason)
    outcome.findings.deferred_because = reason
    return outcome
