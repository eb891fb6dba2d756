"""A sample message: X- attributes plus the packed sample body, and its checks.

Order on the sending side: original bytes -> (optional strip) -> compress -> scramble.
The receiving side checks, in order: attributes (missing, malformed), declared length
(overrun, underrun), content checksum (content), unscramble and inflate (unpackage), then
the sample checksum of the result (sample) unless user data was stripped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dis_core.protocol.errors import ProtocolError
from dis_core.protocol.packing import (
    compress,
    decompress,
    new_scrambling_key,
    scramble,
    sha256_hex,
)
from dis_core.vocabulary.attributes import (
    AttributeProblem,
    Message,
    format_attributes,
    parse_attributes,
)
from dis_core.vocabulary.errors import SampleError

SUPPORTED_TYPES = frozenset({"file"})


@dataclass
class SampleMessage:
    """A parsed, verified sample: its attributes (parsed values) and its original bytes."""

    attributes: dict[str, Any]
    content: bytes  # the original (or stripped) sample bytes, unpacked
    packed_length: int = 0
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def sample_checksum(self) -> str:
        return str(self.attributes["X-Sample-Checksum"])


def pack_sample(
    original: bytes,
    attributes: Mapping[str, Any],
    *,
    compression: bool = True,
    scrambling: bool = True,
    stripped: bytes | None = None,
) -> tuple[dict[str, str], bytes]:
    """Build the headers and body that carry ``original`` plus the given attributes.

    ``stripped`` is the content with user data removed; when given it is sent instead of
    ``original`` while the sample checksum still names the original.
    """
    body = original if stripped is None else stripped
    values: dict[str, Any] = dict(attributes)
    values.update(
        {
            "X-Sample-Checksum": sha256_hex(original),
            "X-Checksum-Method": "sha256",
            "X-Sample-Size": len(body),
            "X-Content-Strip": stripped is not None,
            "X-Content-Compression": "zlib" if compression else "none",
            "X-Content-Scrambling": "xor-sha256" if scrambling else "none",
        }
    )
    if compression:
        body = compress(body)
    if scrambling:
        key = new_scrambling_key()
        body = scramble(body, key)
        values["X-Content-Scrambling-Key"] = key.hex()
    values["X-Content-Checksum"] = sha256_hex(body)
    values["X-Content-Length"] = len(body)
    return format_attributes(values), body


def check_length(declared: int, received: int) -> None:
    if received > declared:
        raise ProtocolError(SampleError.OVERRUN, f"{received} bytes received, {declared} declared")
    if received < declared:
        raise ProtocolError(SampleError.UNDERRUN, f"{received} bytes received, {declared} declared")


def unpack_sample(
    headers: Mapping[str, str],
    body: bytes,
    message: Message,
    *,
    max_size: int,
) -> SampleMessage:
    """Check a received sample message and return its attributes and unpacked content."""
    try:
        attrs = parse_attributes(headers, message)
    except AttributeProblem as problem:
        raise ProtocolError(problem.error, str(problem)) from None
    if attrs["X-Sample-Type"] not in SUPPORTED_TYPES:
        raise ProtocolError(
            SampleError.TYPE, f"sample type {attrs['X-Sample-Type']} is not supported"
        )
    if attrs["X-Sample-Size"] > max_size:
        raise ProtocolError(
            SampleError.DECLINED, f"sample of {attrs['X-Sample-Size']} bytes exceeds {max_size}"
        )
    check_length(attrs["X-Content-Length"], len(body))
    if sha256_hex(body) != attrs["X-Content-Checksum"]:
        raise ProtocolError(SampleError.CONTENT, "content checksum does not match the body")
    content = _unpack_body(body, attrs)
    if len(content) != attrs["X-Sample-Size"]:
        raise ProtocolError(
            SampleError.SAMPLE,
            f"unpacked {len(content)} bytes, sample size says {attrs['X-Sample-Size']}",
        )
    if not attrs.get("X-Content-Strip") and sha256_hex(content) != attrs["X-Sample-Checksum"]:
        raise ProtocolError(
            SampleError.SAMPLE, "sample checksum does not match the unpacked content"
        )
    return SampleMessage(attrs, content, len(body), dict(headers))


def _unpack_body(body: bytes, attrs: Mapping[str, Any]) -> bytes:
    if attrs["X-Content-Scrambling"] == "xor-sha256":
        key_hex = attrs.get("X-Content-Scrambling-Key")
        if not key_hex:
            raise ProtocolError(
                SampleError.MISSING, "X-Content-Scrambling-Key: needed to unscramble"
            )
        body = scramble(body, bytes.fromhex(key_hex))
    if attrs["X-Content-Compression"] == "zlib":
        body = decompress(body, attrs["X-Sample-Size"])
    return body
