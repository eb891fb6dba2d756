"""Archiver: keeps goats, infected goats, candidate scores and the chosen signature, then
moves the sample to the end its analysis reached."""

from __future__ import annotations

from backoffice.stages.base import Job, Outcome, Stage
from dis_core.vocabulary import SampleState

T = SampleState


class Archiver(Stage):
    name = "archiver"
    picks_up = frozenset({T.ARCHIVE, T.ARCHIVING})

    def working_state(self, job: Job) -> SampleState:
        return T.ARCHIVING

    def run(self, job: Job) -> Outcome:
        space = job.workspace
        space.put_json(
            "analysis.json",
            {
                key: job.findings.get(key)
                for key in (
                    "classification",
                    "rounds",
                    "signature",
                    "build",
                    "unit_tests",
                    "remove",
                    "end",
                )
            },
        )
        space.put("sample.bin", job.content)
        space.copy_to(job.services.archive(job.cookie))
        space.remove()
        end = T(
            job.findings.get("end")
            or ("misfired" if job.findings.get("mode") == "misfire" else "infected")
        )
        build = job.findings.get("build", {})
        return Outcome.go(end, f"archived; definitions sequence {build.get('sequence')}")
