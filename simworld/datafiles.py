"""Non-program samples: a PNG image, a WAV sound, encrypted containers and the EICAR test file."""

from __future__ import annotations

import io
import math
import random
import struct
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

# The standard anti-virus test string (public, harmless by design).
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
ARCHIVE_PASSWORD = "infected"


def eicar_file() -> bytes:
    return EICAR + b"\r\n"


def png_image(seed: int, size: int = 48) -> bytes:
    """A real RGB PNG: a seeded colour gradient."""
    rng = random.Random(f"png:{seed}")
    base = [rng.randrange(256) for _ in range(3)]
    rows = bytearray()
    for y in range(size):
        rows.append(0)  # filter type: none
        for x in range(size):
            rows += bytes(
                ((base[0] + 4 * x) % 256, (base[1] + 4 * y) % 256, (base[2] + 2 * (x + y)) % 256)
            )
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(bytes(rows), 9))
        + _chunk(b"IEND", b"")
    )


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def wav_sound(seed: int, seconds: float = 0.5, rate: int = 8000) -> bytes:
    """A real 8-bit mono PCM WAV: a seeded tone."""
    frequency = 220 + random.Random(f"wav:{seed}").randrange(660)
    frames = bytes(
        int(128 + 100 * math.sin(2 * math.pi * frequency * n / rate))
        for n in range(int(seconds * rate))
    )
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate, 1, 8)
    body = (
        b"WAVE"
        + b"fmt "
        + struct.pack("<I", len(fmt))
        + fmt
        + b"data"
        + struct.pack("<I", len(frames))
        + frames
    )
    return b"RIFF" + struct.pack("<I", len(body)) + body


# ----------------------------------------------------------------------------- ZIP 2.0 encryption


def _crc_table() -> list[int]:
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0xEDB88320 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC = _crc_table()


class _ZipCipher:
    """The traditional PKWARE stream cipher (APPNOTE 6.1), keyed by a password."""

    def __init__(self, password: bytes) -> None:
        self.keys = [0x12345678, 0x23456789, 0x34567890]
        for byte in password:
            self._update(byte)

    def _update(self, byte: int) -> None:
        k0, k1, k2 = self.keys
        k0 = (k0 >> 8) ^ _CRC[(k0 ^ byte) & 0xFF]
        k1 = ((k1 + (k0 & 0xFF)) * 134775813 + 1) & 0xFFFFFFFF
        k2 = (k2 >> 8) ^ _CRC[(k2 ^ (k1 >> 24)) & 0xFF]
        self.keys = [k0, k1, k2]

    def encrypt(self, data: bytes) -> bytes:
        out = bytearray()
        for byte in data:
            temp = (self.keys[2] | 2) & 0xFFFF
            out.append(byte ^ (((temp * (temp ^ 1)) >> 8) & 0xFF))
            self._update(byte)
        return bytes(out)


def encrypted_zip(files: list[tuple[str, bytes]], password: str, seed: int) -> bytes:
    """A ZIP archive whose entries are deflated and encrypted with ZIP 2.0 (PKWARE) encryption."""
    rng = random.Random(f"zip:{seed}")
    out = bytearray()
    central = bytearray()
    for name, data in files:
        crc = zlib.crc32(data)
        packer = zlib.compressobj(9, zlib.DEFLATED, -15)
        packed = packer.compress(data) + packer.flush()
        header = bytes(rng.randrange(256) for _ in range(11)) + bytes([crc >> 24])
        sealed = _ZipCipher(password.encode()).encrypt(header + packed)
        fields = struct.pack(
            "<HHHHHIIIHH",
            20,
            0x0001,
            8,
            0,
            0x21,
            crc,
            len(sealed),
            len(data),
            len(name.encode()),
            0,
        )
        central += (
            b"PK\x01\x02"
            + struct.pack("<H", 20)
            + fields
            + struct.pack("<HHHII", 0, 0, 0, 0, len(out))
            + name.encode()
        )
        out += b"PK\x03\x04" + fields + name.encode() + sealed
    end = struct.pack("<HHHHIIH", 0, 0, len(files), len(files), len(central), len(out), 0)
    return bytes(out + central + b"PK\x05\x06" + end)


# ----------------------------------------------------------------------------- encrypted OOXML

_SEEDED = threading.Lock()


@contextmanager
def _seeded_random(seed: int) -> Iterator[None]:
    """msoffcrypto draws salts and keys from ``secrets``; swap in a seeded source meanwhile so
    the same seed gives the same encrypted file."""
    from msoffcrypto.method import ecma376_agile

    rng = random.Random(f"ooxml-crypt:{seed}")
    with _SEEDED:
        original = ecma376_agile._random_buffer
        ecma376_agile._random_buffer = lambda size: rng.randbytes(size)
        try:
            yield
        finally:
            ecma376_agile._random_buffer = original


def encrypted_document(plain: bytes, password: str, seed: int) -> bytes:
    """A password-protected OOXML file (ECMA-376 agile encryption) made with msoffcrypto-tool.
    The plain package must be over 4 KB: msoffcrypto-tool 6.1 mis-encrypts smaller ones."""
    from msoffcrypto.format.ooxml import OOXMLFile

    if len(plain) <= 4096:
        raise ValueError("the document to encrypt must be larger than 4096 bytes")
    out = io.BytesIO()
    with _seeded_random(seed):
        OOXMLFile(io.BytesIO(plain)).encrypt(password, out)
    return _without_timestamps(out.getvalue())


def _without_timestamps(compound: bytes) -> bytes:
    """The same streams rewritten by our compound-file writer (msoffcrypto stamps the time)."""
    import olefile

    from dis_core.formats.cfb import write_cfb

    ole = olefile.OleFileIO(io.BytesIO(compound))
    streams = {
        "/".join(path): ole.openstream(path).read()
        for path in ole.listdir(streams=True, storages=False)
    }
    return write_cfb(streams)
