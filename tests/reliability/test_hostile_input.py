"""Hostile input against every parser a sample or a definition set reaches.

Each property runs a bounded number of examples (hypothesis, no deadline: the machine is
shared) and checks that the code under test either answers normally or refuses with its own
documented error, never with an unexpected exception, and never past its bounds.
"""

from __future__ import annotations

import io
import time
import zipfile
import zlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backoffice.analysis.classifier import classify
from backoffice.store.models import SampleKind
from dis_core.definitions import DefinitionError, SigningKey, build_full, extract_vba, read_package
from dis_core.formats.documents import write_document
from dis_core.protocol import ProtocolError, pack_sample, unpack_sample
from dis_core.protocol.packing import compress, scramble, sha256_hex
from dis_core.vocabulary import SampleError
from dis_core.vocabulary.attributes import Message
from simworld.binaries import dropper
from simworld.bytecode import assemble
from simworld.emulator import Limits, run_binary
from simworld.office import run_document
from simworld.vba import Limits as MacroLimits
from simworld.vfs import Event, VirtualFS
from tests.support.samples import forward_headers, marker_signature

from .helpers import quarantine_app, unique_content

WHEN = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
STOP_REASONS = {"halt", "step_limit", "memory_limit", "output_limit", "fault"}
FEW = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
SOME = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- the intake parser ------------------------------------------------------------------------
VALID_HEADERS, VALID_BODY = forward_headers(unique_content("intake-fuzz"))
HEADER_NAMES = sorted(VALID_HEADERS)
header_text = st.text(st.characters(min_codepoint=0, max_codepoint=0x2FF), max_size=80)


def _unpack(headers: dict[str, str], body: bytes) -> None:
    try:
        message = unpack_sample(headers, body, Message.FORWARD, max_size=2**20)
    except ProtocolError as problem:
        assert problem.error in SampleError
        assert 400 <= problem.http_status < 600
        return
    assert len(message.content) == message.attributes["X-Sample-Size"] <= 2**20


@SOME
@given(
    st.dictionaries(st.sampled_from(HEADER_NAMES), header_text, max_size=6), st.binary(max_size=300)
)
def test_unpack_sample_survives_mutated_headers(changes: dict[str, str], body: bytes) -> None:
    _unpack({**VALID_HEADERS, **changes}, body or VALID_BODY)


@SOME
@given(
    st.sets(st.sampled_from(HEADER_NAMES), max_size=4),
    st.integers(0, len(VALID_BODY)),
    st.binary(max_size=8),
)
def test_unpack_sample_survives_dropped_headers_and_spliced_bodies(
    dropped: set[str], at: int, splice: bytes
) -> None:
    headers = {k: v for k, v in VALID_HEADERS.items() if k not in dropped}
    body = VALID_BODY[:at] + splice + VALID_BODY[at + len(splice) :]
    headers["X-Content-Checksum"] = sha256_hex(body)  # get past the checksum to the unpacker
    headers["X-Content-Length"] = str(len(body))
    _unpack(headers, body)


def test_zlib_bomb_is_refused_without_inflating_it() -> None:
    """100 MiB of zeros compressed to ~100 KiB, declared as 1 KiB: refused as unpackage."""
    bomb = compress(bytes(100 * 2**20))
    key = bytes(range(16))
    body = scramble(bomb, key)
    headers = dict(VALID_HEADERS)
    headers.update(
        {
            "X-Sample-Size": "1024",
            "X-Content-Length": str(len(body)),
            "X-Content-Checksum": sha256_hex(body),
            "X-Content-Scrambling-Key": key.hex(),
        }
    )
    started = time.monotonic()
    with pytest.raises(ProtocolError) as raised:
        unpack_sample(headers, body, Message.FORWARD, max_size=2**20)
    assert raised.value.error is SampleError.UNPACKAGE
    assert time.monotonic() - started < 5


def test_declared_size_over_the_limit_is_declined_before_unpacking() -> None:
    headers, body = pack_sample(
        bytes(3000), {k: v for k, v in {"X-Sample-Type": "file"}.items()} | _forward_extras()
    )
    with pytest.raises(ProtocolError) as raised:
        unpack_sample(headers, body, Message.FORWARD, max_size=1000)
    assert raised.value.error is SampleError.DECLINED


def _forward_extras() -> dict[str, object]:
    return {
        "X-Sample-File": "a.exe",
        "X-Sample-Id": "1",
        "X-Platform-User": "u",
        "X-Platform-Computer": "c",
        "X-Scan-Result": "suspicious",
        "X-Scan-Signatures-Sequence": 0,
        "X-Date-Quarantined": WHEN,
    }


# --- the intake route of the Quarantine Server (Flask test client) -----------------------------
@pytest.fixture(scope="module")
def qs(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201 - a QuarantineApp
    app = quarantine_app(tmp_path_factory.mktemp("qs-hostile") / "data")
    yield app
    app.close()


@FEW
@given(
    st.dictionaries(st.sampled_from(HEADER_NAMES), header_text, max_size=5), st.binary(max_size=200)
)
def test_intake_route_answers_hostile_requests_with_json_errors(
    qs, changes: dict[str, str], body: bytes
) -> None:  # noqa: ANN001
    headers = {**VALID_HEADERS, **changes}
    reply = qs.client().post(
        "/intake/v1/samples", headers=_latin1(headers), data=body or VALID_BODY
    )
    assert reply.status_code in (200, 201) or 400 <= reply.status_code < 500, reply.data[:300]
    if reply.status_code >= 400:
        payload = reply.get_json()
        assert set(payload) >= {"error", "message"} and payload["error"] in {
            e.value for e in SampleError
        }


def _latin1(headers: dict[str, str]) -> dict[str, str]:
    """HTTP header values are latin-1 on the wire; keep what a client could really send."""
    return {
        k: v.encode("latin-1", "replace").decode("latin-1").replace("\r", " ").replace("\n", " ")
        for k, v in headers.items()
    }


def test_intake_route_refuses_a_zlib_bomb(qs) -> None:  # noqa: ANN001
    bomb = zlib.compress(bytes(64 * 2**20), 9)
    headers = dict(VALID_HEADERS)
    headers.update(
        {
            "X-Sample-Size": "1000",
            "X-Content-Scrambling": "none",
            "X-Content-Length": str(len(bomb)),
            "X-Content-Checksum": sha256_hex(bomb),
        }
    )
    headers.pop("X-Content-Scrambling-Key", None)
    reply = qs.client().post("/intake/v1/samples", headers=headers, data=bomb)
    assert reply.status_code == 422 and reply.get_json()["error"] == "unpackage"


def test_intake_route_refuses_a_body_beyond_its_limit(qs) -> None:  # noqa: ANN001
    body = bytes(qs.config.general.quarantine_max_mb * 2**20 + 2 * 2**20)
    reply = qs.client().post("/intake/v1/samples", headers=VALID_HEADERS, data=body)
    assert reply.status_code == 403 and reply.get_json()["error"] == "declined"


# --- classification (back office) -------------------------------------------------------------
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
PREFIXES = [
    b"",
    b"MZ",
    b"MZ" + bytes(58) + b"\x40\x00\x00\x00PE\x00\x00",
    OLE,
    b"PK\x03\x04",
    b"<?xml",
    b"{\\rtf",
    b"ID;P",
    b"\x7fELF",
]


@SOME
@given(st.sampled_from(PREFIXES), st.binary(max_size=1500))
def test_classifier_never_raises_on_hostile_content(prefix: bytes, data: bytes) -> None:
    found = classify(prefix + data)
    assert found.kind in SampleKind and found.detail


def _zip(members: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return buffer.getvalue()


def _ooxml_bomb() -> bytes:
    return _zip(
        [
            ("[Content_Types].xml", b"<Types/>"),
            ("word/document.xml", bytes(200 * 2**20)),
            ("word/vbaProject.bin", bytes(100 * 2**20)),
        ]
    )


def test_ooxml_bomb_is_classified_and_extracted_within_bounds() -> None:
    bomb = _ooxml_bomb()
    assert len(bomb) < 2**20
    started = time.monotonic()
    assert classify(bomb).kind in SampleKind
    assert extract_vba(bomb) is None
    assert time.monotonic() - started < 20


def test_zip_with_many_members_is_bounded() -> None:
    many = _zip([(f"m{i}.txt", b"") for i in range(20000)])
    started = time.monotonic()
    assert classify(many).kind is SampleKind.UNSUPPORTED
    assert extract_vba(many) is None
    assert time.monotonic() - started < 20


def test_nested_zip_is_not_unpacked_recursively() -> None:
    inner = _zip([("inner.bin", bytes(50 * 2**20))])
    outer = _zip([("[Content_Types].xml", b"<Types/>"), ("word/embeddings/x.zip", inner * 1)])
    assert classify(outer).kind is SampleKind.DATA
    assert extract_vba(outer) is None


# --- VBA extraction -----------------------------------------------------------------------------
DOCUMENT = write_document(
    "docm", [("Module1", 'Sub AutoOpen()\n    MsgBox "hi"\nEnd Sub\n')], body_text="x", seed=3
)
OLE_DOCUMENT = write_document(
    "doc", [("Module1", 'Sub AutoOpen()\n    MsgBox "hi"\nEnd Sub\n')], body_text="x", seed=3
)


@SOME
@given(
    st.sampled_from([DOCUMENT, OLE_DOCUMENT]),
    st.integers(0, 2**31),
    st.binary(min_size=1, max_size=12),
)
def test_extract_vba_survives_mutated_documents(document: bytes, where: int, splice: bytes) -> None:
    at = where % len(document)
    damaged = document[:at] + splice + document[at + len(splice) :]
    modules = extract_vba(damaged)
    assert modules is None or all(isinstance(n, str) and isinstance(s, str) for n, s in modules)


def test_extract_vba_reads_the_intact_documents() -> None:
    for document in (DOCUMENT, OLE_DOCUMENT):
        modules = extract_vba(document)
        assert modules and any("AutoOpen" in source for _, source in modules)


# --- the binary emulator ------------------------------------------------------------------------
SMALL = Limits(max_steps=5000, max_memory=2**20, max_written=2**20, max_log=4096)


def _bounded_run(result, vfs: VirtualFS, limits: Limits) -> None:  # noqa: ANN001 - RunResult
    assert result.stop_reason in STOP_REASONS
    assert result.steps <= limits.max_steps + 1
    assert vfs.total_bytes <= limits.max_written + 64 * 2**10 + 2**20


@SOME
@given(
    st.binary(min_size=1, max_size=400),
    st.lists(st.sampled_from(["open", "execute", "save", "close"]), max_size=3),
)
def test_binary_emulator_stops_random_programs_at_its_bounds(code: bytes, kinds: list[str]) -> None:
    vfs = VirtualFS()
    vfs.write("C:/host.exe", dropper(assemble("HALT"), seed=2))
    events = [
        Event(kind, "C:/sample.exe" if kind == "execute" else "C:/host.exe") for kind in kinds
    ]
    started = time.monotonic()
    result = run_binary(dropper(code, seed=1), vfs, when=WHEN, events=events, limits=SMALL)
    assert time.monotonic() - started < 10
    _bounded_run(result, vfs, SMALL)


OPCODES = [
    "MOVI r1, 7",
    "ADD r1, r1, r1",
    'BSET b1, "C:/x.bin"',
    "BCAT b2, b2",
    "APPEND b1, b2",
    "OUT b2",
    "CALL top",
    "RET",
    "JMP top",
    "SELFPATH b3",
    "FIND r2, b1, 0, 5",
    "NEXT b4, r5",
    "HOOK 255, top",
    "MOD r3, r1, r2",
]


@SOME
@given(st.lists(st.sampled_from(OPCODES), min_size=1, max_size=12))
def test_binary_emulator_stops_hostile_assembled_programs(lines: list[str]) -> None:
    try:
        code = assemble("top:\n" + 'BSET b2, "xyxyxyxyxyxyxyxy"\n' + "\n".join(lines) + "\nHALT")
    except ValueError:
        return  # the assembler refused an operand form; not the emulator's business
    vfs = VirtualFS()
    result = run_binary(
        dropper(code, seed=5), vfs, when=WHEN, events=[Event("open", "C:/sample.exe")], limits=SMALL
    )
    _bounded_run(result, vfs, SMALL)


# --- the Office (VBA) emulator ------------------------------------------------------------------
SIMPLE_VBA = [
    "s = s & s",
    's = "ab" & s',
    "i = i + 1",
    'MsgBox "hostile"',
    "Call AutoOpen",
    "On Error Resume Next",
    'x = Replace(s, "a", s)',
    'x = String(i * 1000, "z")',
    "Err.Raise 5",
    "If i > 3 Then Exit Sub",
    "ThisDocument.VBProject.VBComponents.Add(1).CodeModule.AddFromString s",
    "ActiveDocument.Save",
]
BLOCKS = [
    ("Do", "Loop"),
    ("While i < 50", "Wend"),
    ("For j = 1 To 100000", "Next j"),
    ("If i < 5 Then", "End If"),
]


def _vba_statements() -> st.SearchStrategy[list[str]]:
    simple = st.sampled_from(SIMPLE_VBA).map(lambda line: [line])
    return st.recursive(
        st.lists(simple, min_size=1, max_size=4).map(
            lambda parts: [line for part in parts for line in part]
        ),
        lambda inner: st.tuples(st.sampled_from(BLOCKS), inner).map(
            lambda pair: [pair[0][0], *pair[1], pair[0][1]]
        ),
        max_leaves=6,
    )


@FEW
@given(_vba_statements(), st.sampled_from(["docm", "doc", "xlsm"]))
def test_office_emulator_stops_random_macros_at_its_bounds(lines: list[str], kind: str) -> None:
    source = (
        'Sub AutoOpen()\n    s = "xy"\n    i = 0\n'
        + "".join(f"    {line}\n" for line in lines)
        + "End Sub\n"
    )
    document = write_document(kind, [("Module1", source)], body_text="t", seed=9)
    vfs = VirtualFS()
    limits = MacroLimits(max_steps=20_000)
    started = time.monotonic()
    path = "C:/docs/sample.docm"
    result = run_document(
        document, vfs, when=WHEN, events=[Event("save", path), Event("close", path)], limits=limits
    )
    assert time.monotonic() - started < 20
    assert result.carried_program and result.stop_reason in STOP_REASONS
    assert result.steps <= limits.max_steps + 1
    assert vfs.total_bytes < 64 * 2**20


@SOME
@given(st.binary(max_size=3000))
def test_office_emulator_takes_garbage_documents(data: bytes) -> None:
    for prefix in (b"", OLE, b"PK\x03\x04"):
        result = run_document(
            prefix + data, VirtualFS(), when=WHEN, events=[], limits=MacroLimits(max_steps=5000)
        )
        assert result.stop_reason in STOP_REASONS


# --- the definition-set reader ------------------------------------------------------------------
KEY = SigningKey.generate()
OTHER_KEY = SigningKey.generate()


def _package(key: SigningKey) -> bytes:
    signature = marker_signature("R1", 4, repairable=False)
    return build_full(4, [signature], certified=False, produced=WHEN, key=key)


PACKAGE = _package(KEY)


@SOME
@given(st.lists(st.tuples(st.integers(0, 2**31), st.integers(0, 255)), min_size=1, max_size=4))
def test_definition_reader_refuses_every_mutation(flips: list[tuple[int, int]]) -> None:
    damaged = bytearray(PACKAGE)
    for where, value in flips:
        damaged[where % len(damaged)] = value
    if bytes(damaged) == PACKAGE:
        return
    with pytest.raises(DefinitionError):
        read_package(bytes(damaged), KEY.verify_key())


@SOME
@given(st.integers(0, len(PACKAGE)), st.integers(0, 64))
def test_definition_reader_refuses_truncated_and_extended_packages(cut: int, extra: int) -> None:
    damaged = (
        PACKAGE[:cut] + bytes(extra) if cut < len(PACKAGE) else PACKAGE + b"\x00" * max(extra, 1)
    )
    with pytest.raises(DefinitionError):
        read_package(damaged, KEY.verify_key())


def test_definition_reader_refuses_a_set_signed_by_another_key() -> None:
    with pytest.raises(DefinitionError):
        read_package(_package(OTHER_KEY), KEY.verify_key())
    assert read_package(PACKAGE, KEY.verify_key()).sequence == 4


def test_zip_bomb_as_a_definition_package_is_refused_quickly() -> None:
    bomb = _zip([("manifest.json", bytes(200 * 2**20))])
    started = time.monotonic()
    with pytest.raises(DefinitionError):
        read_package(bomb, KEY.verify_key())
    assert time.monotonic() - started < 20


def test_path_unused(tmp_path: Path) -> None:
    """The reader never writes: a read of a hostile package leaves the directory alone."""
    before = sorted(tmp_path.iterdir())
    with pytest.raises(DefinitionError):
        read_package(b"PK\x03\x04" + bytes(100), KEY.verify_key())
    assert sorted(tmp_path.iterdir()) == before
