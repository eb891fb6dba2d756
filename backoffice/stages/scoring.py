"""Scorer: turns the replication evidence into a signature (and a repair), or defers.

- infection (binary): invariant byte strings of all infected goats, n-gram FP estimate,
  exact goodware check, repair generated from the goat pairs and tested on every goat;
- infection (macro): see :mod:`backoffice.macros`;
- threat: a program that does harm without infecting gets a detection-only signature taken
  from its own program bytes (unsubmittable);
Nothing passing the checks means the automation cannot settle it: defer to an analyst.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from backoffice import extraction, repairgen
from backoffice.builder import stored_pairs
from backoffice.extraction import Candidate
from backoffice.models import BuiltSignature
from backoffice.names import family_of, virus_name
from backoffice.stages.base import Job, Outcome, Stage
from dis_core.db import unit_of_work
from dis_core.vocabulary import SampleState
from simworld.emulator import carrier_span, find_program

T = SampleState
REPAIR_TRIES = 5
OTHER_VIRUSES = 200  # newest signatures whose goats a candidate is checked against


def load_pairs(job: Job) -> list[tuple[bytes, bytes]]:
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


class Scorer(Stage):
    name = "scorer"
    picks_up = frozenset({T.BINARY_SCORING, T.MACRO_SCORING})

    def run(self, job: Job) -> Outcome:
        mode = job.findings.get("mode")
        if job.engine_kind == "macro":
            from backoffice.macros import score_macro

            return score_macro(job)
        if mode == "threat":
            return self._threat(job)
        return self._infection(job)

    def _infection(self, job: Job) -> Outcome:
        pairs = load_pairs(job)
        infected = [i for _, i in pairs]
        regions = extraction.invariant_regions(infected, [o for o, _ in pairs], job.content)
        regions = extraction.focus_regions(regions, carrier_span(infected[0]))
        ranked = self._ranked(job, infected[0], regions)
        others = other_viruses(job, _name(job))
        tried: list[dict[str, Any]] = []
        for candidate in ranked[: extraction.MAX_VERIFIED]:
            reason = goodware_rejects(job, candidate.data, others)
            tried.append(dict(candidate.as_dict(), rejected=reason))
            if reason is not None:
                continue
            outcome = self._with_repair(job, candidate, pairs, tried)
            if outcome is not None:
                return outcome
            if (
                sum(
                    1
                    for t in tried
                    if t["rejected"] is None or str(t["rejected"]).startswith("repair")
                )
                >= REPAIR_TRIES
            ):
                break
        return _defer(
            job, "no signature candidate passed the false-positive and repair checks", tried
        )

    def _ranked(
        self, job: Job, reference: bytes, regions: list[tuple[int, int]]
    ) -> list[Candidate]:
        model = job.services.goodware.model
        threshold = job.services.config.backoffice.max_fp_log10
        return extraction.candidates(reference, regions, model, threshold)

    def _with_repair(
        self,
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
        return _chosen(job, candidate, recipe, end, tried, category="virus")

    def _threat(self, job: Job) -> Outcome:
        program = find_program(job.content)
        span = carrier_span(job.content)
        if program is None or span is None:
            return _defer(job, "malicious actions, but no program to take a signature from", [])
        regions = [span]
        ranked = self._ranked(job, job.content, regions)
        tried: list[dict[str, Any]] = []
        others = other_viruses(job, _name(job))
        candidate, tried = extraction.choose(
            ranked, lambda data: goodware_rejects(job, data, others)
        )
        if candidate is None:
            return _defer(
                job, "no detection candidate for the threat passed the false-positive checks", tried
            )
        return _chosen(job, candidate, None, T.UNSUBMITTABLE, tried, category="threat")


def _name(job: Job) -> str:
    return virus_name(
        find_program(job.content) or job.content, "binary", job.sample_checksum.encode()
    )


def _chosen(
    job: Job,
    candidate: Candidate,
    recipe: dict[str, Any] | None,
    end: SampleState,
    tried: list[dict[str, Any]],
    *,
    category: str,
) -> Outcome:
    name = virus_name(
        find_program(job.content) or job.content, "binary", job.sample_checksum.encode()
    )
    signature = {
        "kind": "binary", "pattern_hex": candidate.data.hex(), "repair": recipe, "virus_name": name,
        "family": family_of(name), "category": category, "log10_p": round(candidate.log10_probability, 2),
    }  # fmt: skip
    job.workspace.put_json("scores.json", tried)
    outcome = Outcome.go(
        T.SIGNATURES,
        f"signature chosen ({len(candidate.data)} bytes, log10 p {candidate.log10_probability:.1f})",
    )
    outcome.findings.update(signature=signature, end=end.value, candidates_tried=len(tried))
    outcome.updates.update(
        virus_name=name, family=signature["family"], repairable=recipe is not None
    )
    return outcome


def _defer(job: Job, reason: str, tried: list[dict[str, Any]]) -> Outcome:
    job.workspace.put_json("scores.json", tried)
    outcome = Outcome.go(T.DEFER, reason)
    outcome.findings["deferred_because"] = reason
    return outcome
