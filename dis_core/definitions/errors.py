"""The three ways definitions work can fail, each carrying what the caller needs."""

from __future__ import annotations

from dis_core.vocabulary.errors import CodedError, SampleError


class DefinitionError(CodedError):
    """A definition package or request failed; ``error`` is the protocol error value.

    ``unpackage``: the bytes are not a valid, authentic package (any tampering).
    ``unavailable``/``superseded``/``abandoned``/``unpublished``: see DefinitionRepository.get.
    """


class InstallError(Exception):
    """A set could not be installed; the previously active set is still active.

    ``reason`` is one readable line for the 'unable to install definitions' alert.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RepairError(Exception):
    """A repair could not be made or did not remove the infection."""


def unpackage(detail: str) -> DefinitionError:
    return DefinitionError(SampleError.UNPACKAGE, detail)
