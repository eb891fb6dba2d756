"""Scoring a macro virus: a signature from the VBA its infected goat documents share.

A macro signature is a run of whole lines of NORMALIZED VBA (``dis_core.definitions``'
``normalize_vba``, the one the scanner uses) that every module the virus added to a goat
contains, that the sample contains, and that no goodware document and no original goat
contains. Polymorphic macro viruses rename their variables in every copy; lines that mention
them differ, so only the lines that stay the same can be part of the run. Runs with a string
literal of the virus's own (a module name, a marker) rank first: plain statements such as
``end if`` are common to every macro.
"""

from __future__ import annotations

import re
from typing import Any

from backoffice.analysis.names import family_of, virus_name
from backoffice.pipeline.stages.base import Job, Outcome
from backoffice.pipeline.stages.scoring.common import defer, load_pairs
from dis_core.definitions import extract_vba, normalize_vba
from dis_core.vocabulary import SampleState
from dis_core.vocabulary.kinds import DetectionCategory

T = SampleState
MIN_LINES = 2
MAX_LINES = 8
MIN_CHARS = 40
MAX_CHARS = 400
_LITERAL = re.compile(r'"([^"]{6,})"')


def added_modules(original: bytes, infected: bytes) -> list[str]:
    """Normalized source of the modules the virus added to (or changed in) a document."""
    before = {normalize_vba(src) for _, src in extract_vba(original) or []}
    return [
        text
        for _, src in extract_vba(infected) or []
        if (text := normalize_vba(src)) not in before and text
    ]


def candidate_runs(reference: str, everywhere: list[list[str]], forbidden: list[str]) -> list[str]:
    """Runs of reference lines found in some module of every document, and in no forbidden text."""
    lines = reference.split("\n")
    found: dict[str, None] = {}
    for size in range(MAX_LINES, MIN_LINES - 1, -1):
        for start in range(len(lines) - size + 1):
            run = "\n".join(lines[start : start + size])
            if not MIN_CHARS <= len(run) <= MAX_CHARS or run in found:
                continue
            if all(any(run in text for text in texts) for texts in everywhere) and not any(
                run in text for text in forbidden
            ):
                found[run] = None
    return sorted(found, key=lambda run: (not _LITERAL.search(run), -len(run)))


def score_macro(job: Job) -> Outcome:
    pairs = load_pairs(job)
    added = [added_modules(original, infected) for original, infected in pairs]
    if not all(added):
        return defer(job, "an infected goat shows no added macro module", [])
    sample_texts = [normalize_vba(src) for _, src in extract_vba(job.content) or []]
    originals = [
        normalize_vba(src) for original, _ in pairs for _, src in extract_vba(original) or []
    ]
    forbidden = job.services.goodware.vba_texts + originals
    runs: list[str] = []
    for reference in added[0]:
        runs += candidate_runs(reference, added[1:] + [sample_texts], forbidden)
    runs = sorted(dict.fromkeys(runs), key=lambda run: (not _LITERAL.search(run), -len(run)))
    tried = [{"text": run[:120], "lines": run.count("\n") + 1} for run in runs[:20]]
    if not runs:
        return defer(
            job, "no macro text is common to every infection and absent from goodware", tried
        )
    return _chosen(job, runs[0], tried)


def _chosen(job: Job, run: str, tried: list[dict[str, Any]]) -> Outcome:
    sources = "\n".join(src for _, src in extract_vba(job.content) or [])
    name = virus_name(sources, "macro", run.encode())  # from the invariant macro text
    signature = {
        "kind": "macro", "pattern_text": run, "repair": {"version": 1, "op": "remove_modules"},
        "virus_name": name, "family": family_of(name), "category": DetectionCategory.VIRUS.value,
    }  # fmt: skip
    job.workspace.put_json("scores.json", tried)
    outcome = Outcome.go(
        T.SIGNATURES, f"macro signature chosen ({run.count(chr(10)) + 1} normalized lines)"
    )
    outcome.findings.signature, outcome.findings.end = signature, T.INFECTED.value
    outcome.updates.update(virus_name=name, family=signature["family"], repairable=True)
    return outcome
