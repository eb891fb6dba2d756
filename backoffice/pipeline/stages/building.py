"""Builder and UnitTester: the new definition set for one sample, tested, then published
(or its sequence abandoned, which leaves the sample broken)."""

from __future__ import annotations

from typing import Any

from backoffice.analysis import builder
from backoffice.analysis.builder import Build, SampleEvidence, UnitTestFailure
from backoffice.pipeline.publishing import release
from backoffice.pipeline.stages.base import Job, Outcome, Stage
from backoffice.pipeline.stages.scoring.common import load_pairs
from backoffice.store.findings import BuildInfo
from dis_core.vocabulary import SampleState

T = SampleState
FULL = {T.FULL_BUILDING: T.FULL_UNIT_TESTING, T.INCR_BUILDING: T.INCR_UNIT_TESTING}


def _new_signatures(job: Job) -> list[dict[str, Any]]:
    found = job.findings.signature
    return [found] if found else []


class Builder(Stage):
    name = "builder"
    picks_up = frozenset({T.INCR_BUILDING, T.FULL_BUILDING})

    def run(self, job: Job) -> Outcome:
        full = job.state is T.FULL_BUILDING
        try:
            build = builder.build_set(
                job.services,
                full=full,
                new=_new_signatures(job),
                remove=job.findings.remove or [],
            )
        except (ValueError, UnitTestFailure) as exc:  # a rule or set that cannot even be built
            outcome = Outcome.go(T.UNLOCKING, f"build failed: {exc}")
            outcome.findings.build_failure = str(exc)
            return outcome
        job.workspace.put("build/package.def", build.package)
        outcome = Outcome.go(FULL[job.state], f"{build.kind} set {build.sequence} built")
        outcome.findings.build = BuildInfo(
            sequence=build.sequence,
            kind=build.kind,
            certified=build.certified,
            new=build.new_ids,
            removed=build.removed,
        )
        return outcome


class UnitTester(Stage):
    name = "unit_tester"
    picks_up = frozenset({T.INCR_UNIT_TESTING, T.FULL_UNIT_TESTING})

    def run(self, job: Job) -> Outcome:
        services = job.services
        info = job.findings.build
        if info is None:
            raise ValueError(f"sample {job.cookie} reached the unit tester without a build")
        build = Build(
            info["sequence"],
            info["kind"],
            info["certified"],
            job.workspace.get("build/package.def"),
            info["new"],
            info["removed"],
        )
        evidence = SampleEvidence(
            load_pairs(job) if job.workspace.exists("goats/index.json") else [],
            job.content,
            job.findings.end or "",
        )
        done = release(
            services,
            build,
            evidence,
            f"sample {job.cookie}",
            cookie=job.cookie,
            tests=job.workspace,
        )
        if not done.published:
            outcome = Outcome.go(
                T.UNLOCKING,
                f"unit test failed, sequence {build.sequence} abandoned: {done.failure}",
            )
            outcome.findings.build_failure = f"sequence {build.sequence} abandoned: {done.failure}"
            return outcome
        outcome = Outcome.go(T.UNLOCKING, f"unit tests passed; set {build.sequence} published")
        outcome.findings.unit_tests = done.report
        outcome.updates["sequence"] = build.sequence
        if build.new_ids:
            outcome.updates["signature_id"] = build.new_ids[0]
        return outcome
