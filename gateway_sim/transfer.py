"""Reading a request body ourselves, so a transfer that breaks off is seen as such.

Two lengths are in play: the HTTP ``Content-Length`` (what the connection promises to carry)
and ``X-Content-Length`` (what the sender declares the packed sample to be). Fewer bytes than
the first means the connection broke (``lost``); a complete body that differs from the second
is ``underrun`` or ``overrun``, which :func:`dis_core.protocol.unpack_sample` checks later.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Mapping
from typing import IO, Any

from gunicorn.http.errors import ParseException
from werkzeug.exceptions import ClientDisconnected

CHUNK = 64 * 1024


class TransferLost(Exception):
    """The body ended before the length the connection promised."""

    def __init__(self, received: int, expected: int | None) -> None:
        promised = "an unknown number of" if expected is None else str(expected)
        super().__init__(f"connection broke after {received} of {promised} body bytes")
        self.received = received


class BodyTooLarge(Exception):
    """More body bytes than the gateway takes for one sample."""


def read_body(stream: IO[bytes], expected: int | None, limit: int) -> bytes:
    """Read the whole body: exactly ``expected`` bytes, or up to EOF when it is not known."""
    if expected is not None and expected > limit:
        raise BodyTooLarge(f"body of {expected} bytes exceeds the limit of {limit}")
    parts: list[bytes] = []
    received = 0
    while expected is None or received < expected:
        want = CHUNK if expected is None else min(CHUNK, expected - received)
        chunk = _read_chunk(stream, want, received, expected)
        if not chunk:
            break
        parts.append(chunk)
        received += len(chunk)
        if received > limit:
            raise BodyTooLarge(f"body exceeds the limit of {limit} bytes")
    if expected is not None and received < expected:
        raise TransferLost(received, expected)
    return b"".join(parts)


def read_prefix(stream: IO[bytes], count: int) -> int:
    """Read and discard up to ``count`` bytes; how many came (the drop-transfers fault)."""
    received = 0
    while received < count:
        chunk = _read_chunk(stream, min(CHUNK, count - received), received, None)
        if not chunk:
            break
        received += len(chunk)
    return received


def _read_chunk(stream: IO[bytes], want: int, received: int, expected: int | None) -> bytes:
    try:
        return stream.read(want)
    except (ClientDisconnected, OSError, ValueError, ParseException) as exc:
        # werkzeug: ClientDisconnected on a short body; gunicorn: NoMoreData (an OSError) when
        # the peer closes, ParseException when a chunked body breaks off inside its framing
        raise TransferLost(received, expected) from exc


def cut_connection(environ: Mapping[str, Any]) -> bool:
    """Shut the client's connection down under our feet; False when the server gives no socket.

    Under gunicorn the WSGI environment carries the socket. After the shutdown the client
    reads end-of-stream instead of an answer, which it reports as a connection failure;
    gunicorn's later write fails with EPIPE/ENOTCONN, which it ignores.
    """
    sock = environ.get("gunicorn.socket")
    if not isinstance(sock, socket.socket):
        return False
    with contextlib.suppress(OSError):  # already gone: the client is cut off either way
        sock.shutdown(socket.SHUT_RDWR)
    return True
