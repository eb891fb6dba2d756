"""The error every protocol check raises: a sample error value plus a readable detail."""

from __future__ import annotations

from dis_core.vocabulary.errors import CodedError, SampleError

# HTTP status that goes with each error when a server refuses a request.
HTTP_STATUS: dict[SampleError, int] = {
    SampleError.MISSING: 400,
    SampleError.MALFORMED: 400,
    SampleError.CONTENT: 422,
    SampleError.SAMPLE: 422,
    SampleError.OVERRUN: 400,
    SampleError.UNDERRUN: 400,
    SampleError.LOST: 400,
    SampleError.UNPACKAGE: 422,
    SampleError.TYPE: 415,
    SampleError.DECLINED: 403,
    SampleError.CRUMBLED: 404,
    SampleError.UNAVAILABLE: 404,
    SampleError.SUPERSEDED: 410,
    SampleError.ABANDONED: 410,
    SampleError.UNPUBLISHED: 409,
    SampleError.INTERNAL: 500,
}


class ProtocolError(CodedError):
    """A request or sample failed one of the protocol's checks."""

    @property
    def http_status(self) -> int:
        return HTTP_STATUS[self.error]

    def as_json(self) -> dict[str, str]:
        return {"error": self.error.value, "message": self.detail}

    def as_headers(self) -> dict[str, str]:
        return {"X-Error": self.error.value, "X-Error-Detail": self.detail[:200]}
