"""The one way a built definition set leaves the builder: unit-tested, then published, or its
sequence abandoned (a sequence once handed out is never used for another set)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from backoffice.analysis import builder
from backoffice.analysis.builder import Build, SampleEvidence, UnitTestFailure
from backoffice.pipeline.pools import BuilderLock
from backoffice.pipeline.rescan import after_publish
from backoffice.services import Services
from backoffice.store.workspace import Workspace

SCHEDULER_HOLDER = "certified-build-scheduler"  # the builder lock's holder for scheduled builds


@dataclass(frozen=True)
class Release:
    """What became of one built set."""

    build: Build
    report: dict[str, Any] | None = None  # the unit tests' report, when published
    failure: str | None = None  # why its sequence was abandoned

    @property
    def published(self) -> bool:
        return self.failure is None


def release(
    services: Services,
    build: Build,
    evidence: SampleEvidence | None,
    detail: str,
    *,
    cookie: str | None = None,
    tests: Workspace | None = None,
) -> Release:
    """Unit-test ``build``, then publish it or abandon its sequence; both are recorded.

    ``cookie`` and ``tests`` name the sample the set was built for: its work folder (goats and
    infected goats) is kept in its archive, where later builds re-run it as a test."""
    now = services.clock.now()
    try:
        report = builder.unit_test(services, build, evidence)
    except UnitTestFailure as exc:
        _abandon(services, build, str(exc), now)
        return Release(build, failure=str(exc))
    services.repository.publish(build.package)
    archive = _keep_tests(services, cookie, tests)
    builder.record_signatures(services, build, cookie, archive)
    builder.record_build(services, build, "published", detail, now)
    after_publish(services, build)
    return Release(build, report=report)


def certified_release(services: Services) -> Release | None:
    """Build and release a certified full set now; None when the builder is busy."""
    lock = BuilderLock(services.store.sessions)
    if not lock.acquire(SCHEDULER_HOLDER, services.clock.now()):
        return None
    try:
        build = builder.build_set(services, full=True, new=[], remove=[])
        return release(services, build, None, "scheduled certified build")
    finally:
        lock.release(SCHEDULER_HOLDER)


def _abandon(services: Services, build: Build, why: str, at: datetime) -> None:
    services.repository.abandon(build.sequence, f"unit test failed: {why}")
    builder.record_build(services, build, "abandoned", why, at)


def _keep_tests(services: Services, cookie: str | None, tests: Workspace | None) -> Path | None:
    if cookie is None or tests is None:
        return None
    archive = services.archive(cookie)
    tests.copy_to(archive)
    return archive
