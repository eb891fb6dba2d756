"""Archiver: keeps goats, infected goats, candidate scores and the chosen signature, then
moves the sample to the end its analysis reached."""

from __future__ import annotations

from backoffice.stages.base import Job, Outcome, Stage
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
        end = T(
            job.findings.get("end")
            or ("misfired" if job.findings.get("mode") == "misfire" else "infected")
        )
        build = job.findings.get("build", {})
        return Outcome.go(end, f"archived; definitions sequence {build.get('sequence')}")

    def _archive(self, job: Job) -> None:
        space = job.workspace
        space.put_json("analysis.json", {key: job.findings.get(key) for key in KEPT_FINDINGS})
        space.put("sample.bin", job.content)
        space.copy_to(job.services.archive(job.cookie))
        space.remove()
