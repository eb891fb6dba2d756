"""Archiver: keeps goats, infected goats, candidate scores and the chosen signature, then
moves the sample to the end its analysis reached."""

from __future__ import annotations

from backoffice.pipeline.stages.base import Job, Outcome, Stage
from backoffice.store.findings import Mode
from dis_core.vocabulary import SampleState

T = SampleState
KEPT_FINDINGS = ("classification", "rounds", "signature", "build", "unit_tests", "remove", "end")


class Archiver(Stage):
    name = "archiver"
    picks_up = frozenset({T.ARCHIVE, T.ARCHIVING})

    def working_state(self, job: Job) -> SampleState:
        return T.ARCHIVING

    def run(self, job: Job) -> Outcome:
        archive = job.services.archive(job.cookie)
        # a step repeated after the work folder was moved away finds the archive complete
        if job.workspace.root.exists() or not (archive / "analysis.json").exists():
            self._archive(job)
        found = job.findings
        end = T(found.end or ("misfired" if found.mode is Mode.MISFIRE else "infected"))
        sequence = found.build["sequence"] if found.build else None
        return Outcome.go(end, f"archived; definitions sequence {sequence}")

    def _archive(self, job: Job) -> None:
        space = job.workspace
        space.put_json("analysis.json", {key: job.findings.get(key) for key in KEPT_FINDINGS})
        space.put("sample.bin", job.content)
        space.copy_to(job.services.archive(job.cookie))
        space.remove()
