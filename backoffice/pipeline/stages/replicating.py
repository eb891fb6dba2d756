"""Replicator: runs the sample under the controller's plan; keeps infected goats for scoring,
asks the controller for other conditions when nothing replicated, and when every plan has
been tried decides what the sample is from what it did and what current definitions say."""

from __future__ import annotations

from typing import Any

from backoffice.analysis.replication import Replication, replicate
from backoffice.pipeline.stages.base import Job, Outcome, Stage
from backoffice.store.findings import Mode
from dis_core.definitions import Detection
from dis_core.vocabulary import SampleState
from dis_core.vocabulary.kinds import DetectionCategory as C

T = SampleState


class Replicator(Stage):
    name = "replicator"
    picks_up = frozenset({T.BINARY_REPLICATING, T.MACRO_REPLICATING})

    def run(self, job: Job) -> Outcome:
        plan = job.findings.plan
        if plan is None:
            raise ValueError(f"sample {job.cookie} reached replication without a plan")
        steps = job.services.config.backoffice.emulator_max_steps
        result = replicate(job.engine_kind, job.content, plan, steps)
        rounds = [*(job.findings.rounds or []), dict(result.summary(), plan=plan["label"])]
        if result.infections:
            _keep_infections(job, result)
            outcome = Outcome.go(
                job.kind_state("Scoring"),
                f"{len(result.infections)} goats infected ({plan['label']})",
            )
            outcome.findings.rounds, outcome.findings.mode = rounds, Mode.INFECTION
            return outcome
        hopeless = not result.carried_program or (
            result.stop_reason == "fault" and result.steps == 0
        )
        if not hopeless and job.control_round + 1 < len(job.findings.plans or []):
            outcome = Outcome.go(
                job.kind_state("Controlling"),
                f"nothing replicated ({plan['label']}); trying other conditions",
            )
            outcome.updates["control_round"] = job.control_round + 1
            outcome.findings.rounds = rounds
            return outcome
        outcome = _verdict(job, rounds)
        outcome.findings.rounds = rounds
        return outcome


def _keep_infections(job: Job, result: Replication) -> None:
    space = job.workspace
    index = []
    for number, infection in enumerate(result.infections):
        space.put(f"goats/{number:02d}.original", infection.original)
        space.put(f"goats/{number:02d}.infected", infection.infected)
        index.append(infection.path)
    space.put_json("goats/index.json", index)


def _verdict(job: Job, rounds: list[dict[str, Any]]) -> Outcome:
    """Nothing replicated under any plan: what is it then?"""
    detections = _current_detections(job)
    carried = any(r["carried_program"] for r in rounds)
    faulted = any(r["stop_reason"] == "fault" for r in rounds)
    threats = sorted({a for r in rounds for a in r["threat_actions"]})
    by_category = {d.category: d for d in detections}
    known = by_category.get(C.VIRUS) or by_category.get(C.THREAT)
    if faulted and known is not None:
        return _settled(
            T.RESTORE,
            known,
            f"known as {known.virus_name}, but its program faults and cannot spread",
        )
    if threats:
        if C.THREAT in by_category:
            return _settled(
                T.UNSUBMITTABLE, by_category[C.THREAT], "a known threat that does not infect"
            )
        outcome = Outcome.go(
            job.kind_state("Scoring"),
            f"no infection, but malicious actions: {', '.join(threats[:3])}",
        )
        outcome.findings.mode, outcome.findings.threat_actions = Mode.THREAT, threats
        return outcome
    if C.HEURISTIC in by_category:
        wrong = by_category[C.HEURISTIC]
        outcome = Outcome.go(
            T.SIGNATURES,
            f"{wrong.virus_name} ({wrong.signature_id}) flags a file that does nothing malicious",
        )
        outcome.updates.update(
            virus_name=wrong.virus_name, signature_id=wrong.signature_id, repairable=False
        )
        outcome.findings.mode, outcome.findings.end = Mode.MISFIRE, T.MISFIRED.value
        outcome.findings.remove = [d.signature_id for d in detections if d.category == C.HEURISTIC]
        return outcome
    if carried:
        return Outcome.go(
            T.UNINFECTED, f"carries a program but nothing replicated in {len(rounds)} rounds"
        )
    return Outcome.go(T.NODETECT, "no program for the engines to run and nothing suspicious")


def _current_detections(job: Job) -> list[Detection]:
    scanner = job.services.current_scanner()
    return [] if scanner is None else scanner.scan_bytes(job.content)


def _settled(state: SampleState, detection: Detection, reason: str) -> Outcome:
    return Outcome.go(
        state, reason, virus_name=detection.virus_name, signature_id=detection.signature_id,
        sequence=detection.sequence, repairable=False,
    )  # fmt: skip
