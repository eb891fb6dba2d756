"""Scoring a binary: a virus's invariant bytes with a tested repair, or a threat's own
program bytes as a detection-only signature."""

from __future__ import annotations

from typing import Any

from backoffice.analysis import extraction, repairgen
from backoffice.analysis.extraction import Candidate
from backoffice.analysis.names import family_of, virus_name
from backoffice.pipeline.stages.base import Job, Outcome
from backoffice.pipeline.stages.scoring.common import (
    defer,
    goodware_rejects,
    load_pairs,
    other_viruses,
)
from dis_core.vocabulary import SampleState
from dis_core.vocabulary.kinds import DetectionCategory
from simworld.emulator import carrier_span, find_program

T = SampleState
REPAIR_TRIES = 5


def score_infection(job: Job) -> Outcome:
    pairs = load_pairs(job)
    infected = [i for _, i in pairs]
    regions = extraction.invariant_regions(infected, [o for o, _ in pairs], job.content)
    regions = extraction.focus_regions(regions, carrier_span(infected[0]))
    ranked = _ranked(job, infected[0], regions)
    others = other_viruses(job, _name(job))
    tried: list[dict[str, Any]] = []
    for candidate in ranked[: extraction.MAX_VERIFIED]:
        reason = goodware_rejects(job, candidate.data, others)
        tried.append(dict(candidate.as_dict(), rejected=reason))
        if reason is not None:
            continue
        outcome = _with_repair(job, candidate, pairs, tried)
        if outcome is not None:
            return outcome
        if _repair_attempts(tried) >= REPAIR_TRIES:
            break
    return defer(job, "no signature candidate passed the false-positive and repair checks", tried)


def _repair_attempts(tried: list[dict[str, Any]]) -> int:
    """Candidates that passed the false-positive checks (a repair was then tried on them)."""
    return sum(1 for t in tried if t["rejected"] is None or str(t["rejected"]).startswith("repair"))


def _ranked(job: Job, reference: bytes, regions: list[tuple[int, int]]) -> list[Candidate]:
    model = job.services.goodware.model
    threshold = job.services.config.backoffice.max_fp_log10
    return extraction.candidates(reference, regions, model, threshold)


def _with_repair(
    job: Job,
    candidate: Candidate,
    pairs: list[tuple[bytes, bytes]],
    tried: list[dict[str, Any]],
) -> Outcome | None:
    matched = [repairgen.Pair(o, i, i.find(candidate.data)) for o, i in pairs]
    try:
        recipe: dict[str, Any] | None = repairgen.generate(matched)
        end = T.INFECTED
    except repairgen.NoRepair as exc:
        if not exc.destroyed:
            tried[-1]["rejected"] = f"repair: {exc}"
            return None
        recipe, end = None, T.NOREPAIR
    return _chosen(job, candidate, recipe, end, tried, category=DetectionCategory.VIRUS)


def score_threat(job: Job) -> Outcome:
    program = find_program(job.content)
    span = carrier_span(job.content)
    if program is None or span is None:
        return defer(job, "malicious actions, but no program to take a signature from", [])
    regions = [span]
    ranked = _ranked(job, job.content, regions)
    tried: list[dict[str, Any]] = []
    others = other_viruses(job, _name(job))
    candidate, tried = extraction.choose(ranked, lambda data: goodware_rejects(job, data, others))
    if candidate is None:
        return defer(
            job, "no detection candidate for the threat passed the false-positive checks", tried
        )
    return _chosen(job, candidate, None, T.UNSUBMITTABLE, tried, category=DetectionCategory.THREAT)


def _name(job: Job, invariant: bytes | None = None) -> str:
    """The name the program gives itself, else one made from what every copy shares (the
    signature's bytes), so a polymorphic family gets one name, not one per sample."""
    seed = invariant if invariant is not None else job.sample_checksum.encode()
    return virus_name(find_program(job.content) or job.content, "binary", seed)


def _chosen(
    job: Job,
    candidate: Candidate,
    recipe: dict[str, Any] | None,
    end: SampleState,
    tried: list[dict[str, Any]],
    *,
    category: DetectionCategory,
) -> Outcome:
    name = _name(job, candidate.data)
    signature = {
        "kind": "binary", "pattern_hex": candidate.data.hex(), "repair": recipe, "virus_name": name,
        "family": family_of(name), "category": category, "log10_p": round(candidate.log10_probability, 2),
    }  # fmt: skip
    job.workspace.put_json("scores.json", tried)
    outcome = Outcome.go(
        T.SIGNATURES,
        f"signature chosen ({len(candidate.data)} bytes, log10 p {candidate.log10_probability:.1f})",
    )
    outcome.findings.signature, outcome.findings.end = signature, end.value
    outcome.findings.candidates_tried = len(tried)
    outcome.updates.update(
        virus_name=name, family=signature["family"], repairable=recipe is not None
    )
    return outcome
