"""ZIP packages that Python's zipfile refuses in unusual ways (an 'extract version' it does not
support, a compression method it lacks, damaged deflate data) and decompression bombs, fed to
every reader of Office packages: classification, VBA extraction, the gateway's content kind,
user-data stripping, the simulated Office and the definition reader. Found by the fuzzing in
test_hostile_input.py (zipfile raises NotImplementedError, which nobody caught)."""

from __future__ import annotations

import functools
import io
import struct
import time
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from backoffice.analysis.classifier import classify
from dis_core.definitions import DefinitionError, SigningKey, extract_vba, read_package
from dis_core.formats.documents import write_document
from gateway_sim.kinds import content_kind
from quarantine_server.strip import strip_user_data
from simworld.office import run_document
from simworld.vba import Limits
from simworld.vfs import VirtualFS

DOCUMENT = write_document(
    "docm", [("Module1", 'Sub AutoOpen()\n    MsgBox "hi"\nEnd Sub\n')], body_text="x", seed=3
)
CENTRAL = b"PK\x01\x02"
LOCAL = b"PK\x03\x04"


def _patch_all(data: bytes, signature: bytes, offset: int, fmt: str, value: int) -> bytes:
    """Set a field at ``offset`` in every record that starts with ``signature``."""
    out = bytearray(data)
    at = out.find(signature)
    while at >= 0:
        struct.pack_into(fmt, out, at + offset, value)
        at = out.find(signature, at + 4)
    return bytes(out)


def _with_props(document: bytes) -> bytes:
    """The document plus a docProps/core.xml part, so that stripping has work to do."""
    source = zipfile.ZipFile(io.BytesIO(document))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info, source.read(info.filename))
        target.writestr("docProps/core.xml", b"<cp:coreProperties>alice</cp:coreProperties>")
    return out.getvalue()


BASE = _with_props(DOCUMENT)
NEW_VERSION = _patch_all(BASE, CENTRAL, 6, "<H", 64)  # 'version needed to extract' 6.4
ODD_METHOD = _patch_all(
    _patch_all(BASE, CENTRAL, 10, "<H", 98), LOCAL, 8, "<H", 98
)  # PPMd: unsupported


def _bad_deflate(data: bytes) -> bytes:
    out = bytearray(data)
    at = out.find(LOCAL)
    while at >= 0:
        name_len, extra_len = struct.unpack_from("<HH", out, at + 26)
        start = at + 30 + name_len + extra_len
        out[start : start + 4] = b"\xff\xff\xff\xff"
        at = out.find(LOCAL, at + 4)
    return bytes(out)


BAD_DEFLATE = _bad_deflate(BASE)


@functools.cache
def _bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", b"<Types/>")
        archive.writestr("docProps/core.xml", b"<x/>")
        for index in range(3):
            archive.writestr(f"word/media/big{index}.bin", bytes(96 * 2**20))
    return out.getvalue()


KEY = SigningKey.generate()
READERS: dict[str, Callable[[bytes], object]] = {
    "classify": classify,
    "extract_vba": extract_vba,
    "content_kind": content_kind,
    "strip_user_data": strip_user_data,
    "run_document": lambda data: run_document(
        data,
        VirtualFS(),
        when=datetime(2026, 3, 2, tzinfo=UTC),
        events=[],
        limits=Limits(max_steps=5000),
    ),
}
ODD = {"new version": NEW_VERSION, "odd method": ODD_METHOD, "bad deflate": BAD_DEFLATE}


def test_the_odd_packages_really_are_odd() -> None:
    with pytest.raises(NotImplementedError):
        zipfile.ZipFile(io.BytesIO(NEW_VERSION))
    with pytest.raises(NotImplementedError):
        zipfile.ZipFile(io.BytesIO(ODD_METHOD)).read("docProps/core.xml")
    assert strip_user_data(BASE) is not None and extract_vba(BASE)


@pytest.mark.parametrize("reader", sorted(READERS))
@pytest.mark.parametrize("kind", sorted(ODD))
def test_odd_zip_packages_never_raise(reader: str, kind: str) -> None:
    READERS[reader](ODD[kind])


@pytest.mark.parametrize("kind", sorted(ODD))
def test_the_definition_reader_refuses_odd_packages(kind: str) -> None:
    with pytest.raises(DefinitionError):
        read_package(ODD[kind], KEY.verify_key())


@pytest.mark.parametrize("reader", sorted(READERS))
def test_zip_bombs_stay_bounded(reader: str) -> None:
    bomb = _bomb()
    assert len(bomb) < 4 * 2**20
    started = time.monotonic()
    result = READERS[reader](bomb)
    assert time.monotonic() - started < 20
    if reader == "strip_user_data":
        assert result is None  # refused before anything is inflated
