"""Classifier: what kind of file is this, decided from its content (see backoffice.classifier)."""

from __future__ import annotations

from backoffice.analysis.classifier import classify
from backoffice.pipeline.errors import PermanentError
from backoffice.pipeline.stages.base import Job, Outcome, Stage
from backoffice.store.models import SampleKind
from dis_core.protocol.packing import sha256_hex
from dis_core.vocabulary import SampleError, SampleState

T = SampleState
_ENDS = {
    SampleKind.DATA: T.UNINFECTABLE,
    SampleKind.ENCRYPTED: T.ENCRYPTED,
}


class Classifier(Stage):
    name = "classifier"
    picks_up = frozenset({T.CLASSIFYING})

    def run(self, job: Job) -> Outcome:
        content = job.content
        if sha256_hex(content) != job.sample_checksum:
            raise PermanentError(
                SampleError.SAMPLE, "stored content no longer matches the sample checksum"
            )
        found = classify(content)
        kind_update = {"kind": found.kind}
        if found.kind is SampleKind.UNSUPPORTED:
            outcome = Outcome.go(
                T.DECLINED,
                f"unsupported type: {found.detail}",
                error=SampleError.TYPE,
                error_detail=found.detail,
            )
        elif found.kind in _ENDS:
            outcome = Outcome.go(_ENDS[found.kind], found.detail)
        else:
            outcome = Outcome.go(T(found.kind.value), found.detail)
        outcome.updates.update(kind_update)
        outcome.findings.classification = found.detail
        return outcome
