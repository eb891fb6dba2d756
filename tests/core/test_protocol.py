"""Sample messages: packing round trips and every check the receiving side makes."""

from __future__ import annotations

import time
import zlib
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dis_core.protocol import ProtocolError, SampleMessage, pack_sample, unpack_sample
from dis_core.protocol.errors import HTTP_STATUS
from dis_core.protocol.packing import (
    KEY_BYTES,
    compress,
    decompress,
    new_scrambling_key,
    scramble,
    sha256_hex,
)
from dis_core.vocabulary import SampleError
from dis_core.vocabulary.attributes import Message

MAX = 1 << 20
FORWARD_ATTRS: dict[str, Any] = {
    "X-Sample-Type": "file",
    "X-Sample-File": "report.doc",
    "X-Sample-Id": "item-1",
    "X-Platform-User": "alice",
    "X-Platform-Computer": "pc-7",
    "X-Scan-Result": "suspicious",
    "X-Scan-Signatures-Sequence": 12,
    "X-Date-Quarantined": "2026-01-05T10:00:00Z",
}
ORIGINAL = b"inert sample bytes " * 40


def forward(original: bytes = ORIGINAL, **kwargs: Any) -> tuple[dict[str, str], bytes]:
    return pack_sample(original, FORWARD_ATTRS, **kwargs)


def receive(headers: dict[str, str], body: bytes, max_size: int = MAX) -> SampleMessage:
    return unpack_sample(headers, body, Message.FORWARD, max_size=max_size)


def reseal(headers: dict[str, str], body: bytes) -> dict[str, str]:
    """Make the content checksum and length fit a tampered body (a consistent liar)."""
    return headers | {"X-Content-Checksum": sha256_hex(body), "X-Content-Length": str(len(body))}


def expect(
    error: SampleError, headers: dict[str, str], body: bytes, max_size: int = MAX
) -> ProtocolError:
    with pytest.raises(ProtocolError) as caught:
        receive(headers, body, max_size)
    assert caught.value.error is error, caught.value
    return caught.value


@pytest.mark.parametrize("compression", [True, False])
@pytest.mark.parametrize("scrambling", [True, False])
def test_round_trip(compression: bool, scrambling: bool) -> None:
    headers, body = forward(compression=compression, scrambling=scrambling)
    message = receive(headers, body)
    assert message.content == ORIGINAL
    assert message.sample_checksum == sha256_hex(ORIGINAL)
    assert message.packed_length == len(body)
    assert message.attributes["X-Sample-File"] == "report.doc"
    assert message.attributes["X-Content-Strip"] is False
    assert (ORIGINAL in body) is not (compression or scrambling)
    assert ("X-Content-Scrambling-Key" in headers) is scrambling
    assert headers["X-Content-Compression"] == ("zlib" if compression else "none")


def test_scrambled_body_shows_no_run_of_the_sample() -> None:
    original = bytes(range(256)) * 8
    _, body = forward(original, compression=False)
    assert len(body) == len(original)
    assert all(original[i : i + 16] not in body for i in range(0, len(original) - 16, 16))


def test_two_packings_use_different_keys() -> None:
    first, body1 = forward()
    second, body2 = forward()
    assert first["X-Content-Scrambling-Key"] != second["X-Content-Scrambling-Key"]
    assert body1 != body2
    assert first["X-Sample-Checksum"] == second["X-Sample-Checksum"]


@pytest.mark.parametrize("compression", [True, False])
def test_stripped_content_travels_with_the_original_checksum(compression: bool) -> None:
    stripped = ORIGINAL.replace(b"sample", b"XXXXXX")
    headers, body = forward(stripped=stripped, compression=compression)
    message = receive(headers, body)
    assert message.content == stripped
    assert message.attributes["X-Content-Strip"] is True
    assert message.sample_checksum == sha256_hex(ORIGINAL)
    assert message.attributes["X-Sample-Size"] == len(stripped)


def test_empty_sample_round_trips() -> None:
    headers, body = forward(b"")
    assert receive(headers, body).content == b""


@settings(
    max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    original=st.binary(max_size=4096),
    compression=st.booleans(),
    scrambling=st.booleans(),
    name=st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=60),
)
def test_random_contents_round_trip(
    original: bytes, compression: bool, scrambling: bool, name: str
) -> None:
    name = name if name.strip() else "x"  # a blank required attribute counts as missing
    attrs = FORWARD_ATTRS | {"X-Sample-File": name}
    headers, body = pack_sample(original, attrs, compression=compression, scrambling=scrambling)
    message = receive(headers, body)
    assert message.content == original
    assert message.attributes["X-Sample-File"] == name


@settings(max_examples=40, deadline=None, database=None)
@given(
    original=st.binary(min_size=1, max_size=512),
    index=st.integers(min_value=0),
    flip=st.integers(1, 255),
)
def test_any_flipped_body_byte_is_a_content_error(original: bytes, index: int, flip: int) -> None:
    headers, body = forward(original)
    index %= len(body)
    tampered = body[:index] + bytes([body[index] ^ flip]) + body[index + 1 :]
    expect(SampleError.CONTENT, headers, tampered)


def test_content_checksum_mismatch() -> None:
    headers, body = forward()
    headers["X-Content-Checksum"] = sha256_hex(b"something else")
    expect(SampleError.CONTENT, headers, body)


def test_sample_checksum_mismatch() -> None:
    headers, body = forward()
    headers["X-Sample-Checksum"] = sha256_hex(b"another file")
    error = expect(SampleError.SAMPLE, headers, body)
    assert error.http_status == 422


def test_sample_size_that_does_not_match_the_content() -> None:
    headers, body = forward(compression=False, scrambling=False)
    headers["X-Sample-Size"] = str(len(ORIGINAL) + 5)
    expect(SampleError.SAMPLE, headers, body)


def test_overrun() -> None:
    headers, body = forward()
    error = expect(SampleError.OVERRUN, headers, body + b"!")
    assert error.http_status == 400 and "declared" in error.detail


def test_underrun() -> None:
    headers, body = forward()
    expect(SampleError.UNDERRUN, headers, body[:-1])
    expect(SampleError.UNDERRUN, headers, b"")


def test_length_is_checked_before_the_content_checksum() -> None:
    headers, body = forward()
    expect(SampleError.OVERRUN, headers | {"X-Content-Checksum": "00" * 32}, body + b"x")


def test_garbage_that_does_not_inflate_is_unpackage() -> None:
    headers, _ = forward(scrambling=False)
    garbage = b"this is not zlib data at all"
    expect(SampleError.UNPACKAGE, reseal(headers, garbage), garbage)


def test_truncated_compressed_stream_is_unpackage() -> None:
    headers, body = forward(scrambling=False)
    short = body[:-6]
    error = expect(SampleError.UNPACKAGE, reseal(headers, short), short)
    assert "truncated" in error.detail


def test_wrong_scrambling_key_is_unpackage() -> None:
    headers, body = forward()
    headers["X-Content-Scrambling-Key"] = new_scrambling_key().hex()
    expect(SampleError.UNPACKAGE, headers, body)


def test_missing_scrambling_key_is_missing() -> None:
    headers, body = forward()
    del headers["X-Content-Scrambling-Key"]
    expect(SampleError.MISSING, headers, body)


def test_decompression_bomb_is_bounded_by_sample_size() -> None:
    bomb = compress(b"\0" * (64 << 20))  # 64 MiB of zeros in ~64 KiB
    headers, _ = forward(scrambling=False)
    headers = reseal(headers, bomb) | {"X-Sample-Size": "4096"}
    started = time.monotonic()
    error = expect(SampleError.UNPACKAGE, headers, bomb)
    assert time.monotonic() - started < 2.0  # stopped early, never inflated the whole thing
    assert "4096" in error.detail


def test_decompress_stops_at_the_limit() -> None:
    data = compress(b"a" * 1000)
    assert decompress(data, 1000) == b"a" * 1000
    with pytest.raises(ProtocolError) as caught:
        decompress(data, 999)
    assert caught.value.error is SampleError.UNPACKAGE


@pytest.mark.parametrize("kind", ["boot", "memory"])
def test_unsupported_sample_type(kind: str) -> None:
    headers, body = forward()
    error = expect(SampleError.TYPE, headers | {"X-Sample-Type": kind}, body)
    assert error.http_status == 415


def test_unknown_sample_type_word_is_malformed() -> None:
    headers, body = forward()
    expect(SampleError.MALFORMED, headers | {"X-Sample-Type": "floppy"}, body)


def test_sample_larger_than_allowed_is_declined() -> None:
    headers, body = forward()
    error = expect(SampleError.DECLINED, headers, body, max_size=len(ORIGINAL) - 1)
    assert error.http_status == 403
    assert receive(headers, body, max_size=len(ORIGINAL)).content == ORIGINAL


@pytest.mark.parametrize("name", ["X-Sample-Checksum", "X-Content-Length", "X-Platform-User"])
def test_missing_attribute_refuses_the_message(name: str) -> None:
    headers, body = forward()
    del headers[name]
    error = expect(SampleError.MISSING, headers, body)
    assert name in error.detail


@pytest.mark.parametrize(
    ("name", "value"),
    [("X-Content-Length", "-3"), ("X-Sample-Checksum", "abc"), ("X-Date-Quarantined", "soon")],
)
def test_malformed_attribute_refuses_the_message(name: str, value: str) -> None:
    headers, body = forward()
    expect(SampleError.MALFORMED, headers | {name: value}, body)


def test_submit_message_needs_the_customer() -> None:
    headers, body = forward()
    with pytest.raises(ProtocolError) as caught:
        unpack_sample(headers, body, Message.SUBMIT, max_size=MAX)
    assert caught.value.error is SampleError.MISSING
    submit = {
        "X-Date-Submitted": "2026-01-05T11:00:00Z",
        "X-Customer-Name": "Example Corp",
        "X-Customer-Contact-Name": "Admin",
        "X-Customer-Contact-Email": "admin@example.invalid",
    }
    message = unpack_sample(headers | submit, body, Message.SUBMIT, max_size=MAX)
    assert message.content == ORIGINAL


def test_pack_refuses_unknown_attributes() -> None:
    with pytest.raises(KeyError):
        pack_sample(b"x", FORWARD_ATTRS | {"X-Made-Up": "1"})


def test_scramble_is_its_own_inverse() -> None:
    key = new_scrambling_key()
    assert len(key) == KEY_BYTES
    data = bytes(range(256)) * 3 + b"tail"
    scrambled = scramble(data, key)
    assert scrambled != data and len(scrambled) == len(data)
    assert scramble(scrambled, key) == data
    assert scramble(b"", key) == b""


def test_compress_round_trip_and_sha256() -> None:
    assert zlib.decompress(compress(b"abc")) == b"abc"
    assert sha256_hex(b"") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


@pytest.mark.parametrize("error", list(SampleError))
def test_every_error_has_an_http_reply(error: SampleError) -> None:
    problem = ProtocolError(error, "detail " + "x" * 300)
    assert 400 <= problem.http_status < 600
    assert problem.as_json() == {"error": error.value, "message": problem.detail}
    headers = problem.as_headers()
    assert headers["X-Error"] == error.value and len(headers["X-Error-Detail"]) == 200
    assert set(HTTP_STATUS) == set(SampleError)


def test_bytes_after_the_compressed_stream_are_unpackage() -> None:
    headers, body = forward(scrambling=False)
    padded = body + b"extra"
    error = expect(SampleError.UNPACKAGE, reseal(headers, padded), padded)
    assert "follow the end" in error.detail
