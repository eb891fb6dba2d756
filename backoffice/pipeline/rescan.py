"""What a newly published set settles beyond its own sample: deferred samples it now detects
(rescan), and samples a withdrawn signature had wrongly called infected (misfired)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select

from backoffice.store.models import Analysis
from dis_core.db import unit_of_work
from dis_core.definitions import Detection, Scanner, read_package
from dis_core.lifecycle import transition
from dis_core.vocabulary import SampleState
from dis_core.vocabulary.kinds import DetectionCategory
from dis_core.vocabulary.parts import Part

if TYPE_CHECKING:
    from backoffice.analysis.builder import Build
    from backoffice.services import Services

T = SampleState


def after_publish(services: Services, build: Build) -> None:
    definitions = read_package(build.package, services.key.verify_key())
    scanner = Scanner(definitions, services.config.definition_policy.engine)
    with unit_of_work(services.store.sessions) as session:
        now = services.clock.now()
        for row in session.scalars(select(Analysis).where(Analysis.state == T.DEFERRED.value)):
            _rescan(services, scanner, row, now)
        if build.removed:
            wrongly = select(Analysis).where(
                Analysis.state == T.INFECTED.value, Analysis.signature_id.in_(build.removed)
            )
            for row in session.scalars(wrongly):
                transition(
                    row,
                    at=now,
                    actor=Part.BACKOFFICE,
                    reason=f"signature withdrawn in set {build.sequence}",
                    state=T.MISFIRED,
                )
                row.sequence = build.sequence


def _rescan(services: Services, scanner: Scanner, row: Analysis, now: datetime) -> None:
    content = services.store.samples.get(row.content_file, row.content_key)
    hits = [d for d in scanner.scan_bytes(content) if d.category != DetectionCategory.HEURISTIC]
    if not hits:
        return
    found = hits[0]
    transition(
        row,
        at=now,
        actor=Part.BACKOFFICE,
        reason=f"set {scanner.definitions.sequence} is newer",
        state=T.RESCAN,
    )
    transition(
        row,
        at=now,
        actor=Part.BACKOFFICE,
        reason=f"detected as {found.virus_name}",
        state=end_for(found),
    )
    row.virus_name, row.signature_id, row.sequence, row.repairable = (
        found.virus_name,
        found.signature_id,
        found.sequence,
        found.repairable,
    )


def end_for(detection: Detection) -> SampleState:
    known = DetectionCategory(detection.category).known_end
    if known is not None:
        return known
    return T.INFECTED if detection.repairable else T.NOREPAIR
