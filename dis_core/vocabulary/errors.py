"""Sample errors: the concrete reasons a sample or a definition request failed."""

from enum import StrEnum


class SampleError(StrEnum):
    """Processing errors a sample can carry (seed Table A-6)."""

    ABANDONED = "abandoned"
    CONTENT = "content"
    CRUMBLED = "crumbled"
    DECLINED = "declined"
    INTERNAL = "internal"
    LOST = "lost"
    MALFORMED = "malformed"
    MISSING = "missing"
    OVERRUN = "overrun"
    SAMPLE = "sample"
    SUPERSEDED = "superseded"
    TYPE = "type"
    UNAVAILABLE = "unavailable"
    UNDERRUN = "underrun"
    UNPACKAGE = "unpackage"
    UNPUBLISHED = "unpublished"

    @property
    def meaning(self) -> str:
        return ERROR_MEANINGS[self]


ERROR_MEANINGS: dict[SampleError, str] = {
    SampleError.ABANDONED: "That definition sequence was given up, usually after failed unit tests.",
    SampleError.CONTENT: "The content checksum does not match the bytes that arrived.",
    SampleError.CRUMBLED: "The analysis cookie is unknown: the gateway never assigned it.",
    SampleError.DECLINED: "The gateway refused the sample by policy.",
    SampleError.INTERNAL: "Something failed inside the system while handling the sample.",
    SampleError.LOST: "The transfer broke off before the whole sample arrived.",
    SampleError.MALFORMED: "An essential attribute has a value that cannot be parsed.",
    SampleError.MISSING: "An essential attribute is absent.",
    SampleError.OVERRUN: "More bytes arrived than the declared length.",
    SampleError.SAMPLE: "The sample checksum does not match the original bytes.",
    SampleError.SUPERSEDED: "That sequence was replaced by newer certified definitions.",
    SampleError.TYPE: "The kind of sample is not supported.",
    SampleError.UNAVAILABLE: "That sequence has not been published yet.",
    SampleError.UNDERRUN: "Fewer bytes arrived than the declared length.",
    SampleError.UNPACKAGE: "The sample or definition package cannot be unpacked.",
    SampleError.UNPUBLISHED: "That definition set could not be published.",
}


class CodedError(Exception):
    """A failure that carries its sample error and one readable line of detail; every part's
    error of this kind derives from it, so a caller can record any of them on the sample."""

    def __init__(self, error: SampleError, detail: str, *, message: str | None = None) -> None:
        super().__init__(message or f"{error.value}: {detail}")
        self.error = error
        self.detail = detail
