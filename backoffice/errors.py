"""How a stage says it failed: retry later, or give up with a recorded sample error."""

from __future__ import annotations

from dis_core.vocabulary import SampleError


class RetryableError(Exception):
    """A passing problem (a busy resource, a file being written); the step is tried again."""


class PermanentError(Exception):
    """The sample cannot go on; it ends in ``error`` with this sample error and detail."""

    def __init__(self, error: SampleError, detail: str) -> None:
        super().__init__(f"{error.value}: {detail}")
        self.error = error
        self.detail = detail
