"""Intake: before any analysis, scan the sample with the back office's newest definitions.

The gateway filtered with the set it had; the back office may already have a newer one. A
sample that set settles (a known virus it detects AND repairs, a known threat, a file made
by malware, the test file) goes rescan -> its end; everything else goes on to classifying.
A known virus whose program is damaged is not settled here: replication shows whether it
still works (restore when it does not).
"""

from __future__ import annotations

from backoffice.pipeline.rescan import end_for
from backoffice.pipeline.stages.base import Job, Move, Outcome, Stage
from dis_core.definitions import Detection, Scanner
from dis_core.vocabulary import SampleState
from dis_core.vocabulary.kinds import DetectionCategory as C
from simworld.emulator import locate

T = SampleState


class Intake(Stage):
    name = "intake"
    picks_up = frozenset({T.IMPORTED})

    def run(self, job: Job) -> Outcome:
        scanner = job.services.current_scanner()
        settled = None if scanner is None else _settling(scanner, job.content)
        if settled is None:
            return Outcome.go(T.CLASSIFYING, "not settled by current definitions")
        end = end_for(settled) if settled.category in (C.VIRUS, C.THREAT) else T.DELETE
        outcome = Outcome.go(
            T.RESCAN, f"definitions {settled.sequence} know it as {settled.virus_name}"
        )
        outcome.moves.append(Move(end, f"settled by definitions {settled.sequence}"))
        outcome.updates.update(
            virus_name=settled.virus_name, signature_id=settled.signature_id,
            sequence=settled.sequence, repairable=settled.repairable,
        )  # fmt: skip
        return outcome


def _settling(scanner: Scanner, content: bytes) -> Detection | None:
    for found in scanner.scan_bytes(content):
        if found.category in (C.ARTIFACT, C.TEST, C.THREAT):
            return found
        if found.category == C.VIRUS and _intact(content) and _repairs(scanner, content, found):
            return found
    return None


def _intact(content: bytes) -> bool:
    carrier = locate(content)
    return carrier is None or carrier.intact


def _repairs(scanner: Scanner, content: bytes, found: Detection) -> bool:
    # a known virus without a repair settles too: norepair
    return not found.repairable or scanner.repair_works(content, found)
