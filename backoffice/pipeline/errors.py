"""How a stage says it failed: retry later, or give up with a recorded sample error."""

from __future__ import annotations

from dis_core.vocabulary import CodedError


class RetryableError(Exception):
    """A passing problem (a busy resource, a file being written); the step is tried again."""


class PermanentError(CodedError):
    """The sample cannot go on; it ends in ``error`` with this sample error and detail."""
