"""Small pieces: content kinds, the known-clean list, body reading, fault values, references."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from werkzeug.exceptions import ClientDisconnected

from dis_core.protocol import ProtocolError
from gateway_sim.catalog import parse_ref
from gateway_sim.faults import FaultError, check_value
from gateway_sim.kinds import content_kind
from gateway_sim.known_clean import KnownCleanList, parse
from gateway_sim.transfer import BodyTooLarge, TransferLost, read_body, read_prefix


def office_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("content", "kind"),
    [
        (b"", "empty"),
        (b"MZ\x90\x00", "program"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 8, "document"),
        (b"PK\x03\x04 broken zip", "archive"),
        (b"plain words\nand lines\n", "text"),
        ("gr\u00fc\u00dfe".encode(), "text"),
        (bytes(range(256)), "data"),
    ],
)
def test_content_kinds(content: bytes, kind: str) -> None:
    assert content_kind(content) == kind


def test_office_open_xml_is_a_document() -> None:
    assert content_kind(office_zip()) == "document"


def test_known_clean_parse_and_reload(tmp_path: Path) -> None:
    digest = "ab" * 32
    assert parse(f"{digest.upper()}  # comment\nshort\n\n") == frozenset({digest})
    listing = tmp_path / "clean.txt"
    clean = KnownCleanList(listing)
    assert not clean.contains(digest)  # no file yet
    listing.write_text(digest + "\n")
    assert clean.contains(digest)
    listing.write_text("cd" * 32 + "\n# changed\n")
    assert not clean.contains(digest) and clean.contains("cd" * 32)
    assert not KnownCleanList(None).contains(digest)


def test_read_body_exact_short_and_too_large() -> None:
    assert read_body(io.BytesIO(b"abcdef"), 6, 100) == b"abcdef"
    assert read_body(io.BytesIO(b"abcdef"), None, 100) == b"abcdef"
    with pytest.raises(TransferLost):
        read_body(io.BytesIO(b"abc"), 6, 100)
    with pytest.raises(BodyTooLarge):
        read_body(io.BytesIO(b"abc"), 101, 100)
    with pytest.raises(BodyTooLarge):
        read_body(io.BytesIO(b"x" * 200), None, 100)
    assert read_prefix(io.BytesIO(b"abcdef"), 4) == 4


def test_a_disconnect_while_reading_is_lost() -> None:
    class Broken(io.RawIOBase):
        def read(self, size: int = -1) -> bytes:
            raise ClientDisconnected()

    with pytest.raises(TransferLost):
        read_body(Broken(), 10, 100)  # type: ignore[arg-type]


def test_fault_values() -> None:
    assert check_value("delay_s", 2) == 2.0
    assert check_value("hold_definitions_above", -1) == -1
    for name, value in (
        ("delay_s", 601),
        ("decline_all", 1),
        ("hold_definitions_above", -2),
        ("nope", True),
    ):
        with pytest.raises(FaultError):
            check_value(name, value)


def test_definition_references() -> None:
    assert (
        parse_ref("12") == 12
        and parse_ref("newest") == "newest"
        and parse_ref("certified") == "certified"
    )
    for bad in ("0", "-3", "1e3", "Newest", "9" * 19):
        with pytest.raises(ProtocolError):
            parse_ref(bad)
