"""Each binary family replicates in SimVM exactly as docs/simulated-malware.md describes."""

from __future__ import annotations

import re
import struct

import pefile
import pytest

from dis_core.formats import pe
from simworld.binaries import damaged, dropper, infected_host, program_sample
from simworld.bytecode import CARRIER_HEADER, MAGIC
from simworld.emulator import find_program, locate, run_binary
from simworld.goats import Goat
from simworld.programs import PROGRAMS, program
from simworld.vfs import Event, RunResult

from .conftest import FRIDAY_13, MONDAY, goat_vfs, open_events

APPENDING = [
    "appender_ep",
    "section_adder",
    "polymorphic",
    "date_trigger",
    "size_trigger",
    "resident",
    "known_oldie",
]
POLY_KEY_AT = 34  # the decryptor stub is 34 bytes; the 8-byte key follows it


def family_key(name: str, infected: bytes) -> bytes:
    found = re.search(r'BSET b14, "(.{16})"', PROGRAMS[name])
    if found:
        return found.group(1).encode()
    carrier = locate(infected)
    assert carrier is not None
    return carrier.code[POLY_KEY_AT : POLY_KEY_AT + 8]


def restore_appended(name: str, infected: bytes) -> bytes:
    """Undo an appending infection from the record kept after the virus body."""
    carrier = locate(infected)
    assert carrier is not None
    length, _entry = struct.unpack_from("<II", infected, carrier.end)
    saved = infected[carrier.end + 8 : carrier.end + 8 + 1024]
    key = family_key(name, infected)
    header = bytes(b ^ key[i % len(key)] for i, b in enumerate(saved))
    return header + infected[1024:length]


def run_family(
    name: str, goats: list[Goat], *, when=MONDAY, events: list[Event] | None = None
) -> RunResult:
    sample = infected_host(name, 4)
    return run_binary(
        sample, goat_vfs(goats), when=when, events=events or [], sample_path="C:/Users/x/sample.exe"
    )


def assert_inert_entry(data: bytes) -> None:
    parsed = pefile.PE(data=data)
    assert parsed.get_warnings() == []
    entry = parsed.get_offset_from_rva(parsed.OPTIONAL_HEADER.AddressOfEntryPoint)
    assert data[entry] == pe.RET
    assert data[entry + 1 : entry + 1 + len(MAGIC)] == MAGIC  # after the ret: data, not code


@pytest.mark.parametrize("name", APPENDING)
def test_appending_families_infect_and_keep_the_original_recoverable(
    name: str, bgoats: list[Goat]
) -> None:
    when = FRIDAY_13 if name == "date_trigger" else MONDAY
    events = open_events(bgoats) if name == "resident" else []
    result = run_family(name, bgoats, when=when, events=events)
    assert result.stop_reason == "halt" and result.created == {}
    originals = {g.path: g.data for g in bgoats}
    expected = (
        {p for p, d in originals.items() if 16384 <= len(d) <= 65536}
        if name == "size_trigger"
        else set(originals)
    )
    assert set(result.changed) == expected
    for path, infected in result.changed.items():
        assert_inert_entry(infected)
        assert find_program(infected) is not None
        assert len(infected) > len(originals[path])
        assert restore_appended(name, infected) == originals[path]


def test_section_adder_adds_one_section_and_appender_extends_the_last(bgoats: list[Goat]) -> None:
    added = run_family("section_adder", bgoats)
    extended = run_family("appender_ep", bgoats)
    for goat in bgoats:
        before = pe.sections(goat.data)
        after_added = pe.sections(added.changed[goat.path])
        after_extended = pe.sections(extended.changed[goat.path])
        assert (
            len(after_added) == len(before) + 1 and after_added[-1].name.rstrip(b"\0") == b".svmx"
        )
        assert len(after_extended) == len(before)
        assert after_extended[-1].raw_size > before[-1].raw_size
        assert pe.entry_point(extended.changed[goat.path]) >= after_extended[-1].virtual_address


def test_infected_goats_replicate_further(bgoats: list[Goat]) -> None:
    first = run_family("appender_ep", bgoats[:1])
    infected = first.changed[bgoats[0].path]
    second = run_binary(
        infected, goat_vfs(bgoats[1:]), when=MONDAY, events=[], sample_path="C:/x/second.exe"
    )
    assert set(second.changed) == {g.path for g in bgoats[1:]}


def test_execute_event_runs_the_infected_goat(bgoats: list[Goat]) -> None:
    """The resident family only arms itself; an execute event on an infected goat runs its copy."""
    fresh = bgoats[:2]
    sample = infected_host("resident", 4)
    result = run_binary(
        sample,
        goat_vfs(fresh),
        when=MONDAY,
        events=[Event("execute", fresh[0].path), Event("open", fresh[1].path)],
    )
    assert set(result.changed) == {g.path for g in fresh}


def test_polymorphic_copies_differ_but_share_the_decryptor(bgoats: list[Goat]) -> None:
    result = run_family("polymorphic", bgoats)
    carriers = [locate(data) for data in result.changed.values()]
    codes = [c.code for c in carriers if c is not None]
    assert len(codes) == len(bgoats)
    assert len({code[POLY_KEY_AT:] for code in codes}) == len(codes)  # key + body differ per copy
    assert len({code[:POLY_KEY_AT] for code in codes}) == 1  # the constant decryptor
    assert all(program("polymorphic")[40:] not in code for code in codes)  # body is encrypted


def test_cavity_infects_only_hosts_with_a_cavity_and_keeps_the_length(bgoats: list[Goat]) -> None:
    result = run_family("cavity", bgoats)
    originals = {g.path: g.data for g in bgoats}
    with_cavity = {
        g.path
        for g in bgoats
        if pe.find_cavity(g.data, 1 + CARRIER_HEADER + len(program("cavity")) + 4)
    }
    assert set(result.changed) == with_cavity and 0 < len(with_cavity) < len(bgoats)
    for path, infected in result.changed.items():
        assert_inert_entry(infected)
        assert len(infected) == len(originals[path])
        carrier = locate(infected)
        assert carrier is not None
        repaired = bytearray(infected)
        struct.pack_into(
            "<I",
            repaired,
            pe.entry_point_field(infected),
            struct.unpack_from("<I", infected, carrier.end)[0],
        )
        repaired[carrier.offset - 1 : carrier.end + 4] = bytes(carrier.end + 5 - carrier.offset)
        assert bytes(repaired) == originals[path]


def test_prepender_puts_its_image_in_front_of_the_intact_host(bgoats: list[Goat]) -> None:
    result = run_family("prepender", bgoats)
    originals = {g.path: g.data for g in bgoats}
    fronts = set()
    assert set(result.changed) == set(originals)
    for path, infected in result.changed.items():
        assert_inert_entry(infected)
        assert infected.endswith(originals[path])
        fronts.add(infected[: len(infected) - len(originals[path])])
    assert len(fronts) == 1  # the same virus image everywhere


def test_overwriter_destroys_the_host(bgoats: list[Goat]) -> None:
    result = run_family("overwriter", bgoats)
    virus_size = len(dropper(program("overwriter"), seed=0))
    assert set(result.changed) == {g.path for g in bgoats}
    for goat in bgoats:
        infected = result.changed[goat.path]
        assert len(infected) == max(len(goat.data), virus_size)
        assert find_program(infected) == program("overwriter")
        assert goat.data[: virus_size // 2] not in infected  # the start of the host is gone


def test_date_trigger_needs_the_13th(bgoats: list[Goat]) -> None:
    assert run_family("date_trigger", bgoats, when=MONDAY).changed == {}
    assert len(run_family("date_trigger", bgoats, when=FRIDAY_13).changed) == len(bgoats)


def test_resident_infects_nothing_without_events(bgoats: list[Goat]) -> None:
    assert run_family("resident", bgoats).changed == {}


def test_worm_drops_copies_and_mails_without_touching_goats(bgoats: list[Goat]) -> None:
    sample = program_sample("worm", 1)
    result = run_binary(sample, goat_vfs(bgoats), when=MONDAY, events=open_events(bgoats))
    assert result.changed == {}
    assert len(result.created) == 2 and all(copy == sample for copy in result.created.values())
    assert [a.split(":")[0] for a in result.threat_actions] == ["drop", "drop", "mail"]


def test_trojan_mails_and_drops_a_log_without_touching_goats(bgoats: list[Goat]) -> None:
    result = run_binary(program_sample("trojan", 1), goat_vfs(bgoats), when=MONDAY, events=[])
    assert result.changed == {}
    assert list(result.created) == ["C:/Windows/Temp/kbd_capture.log"]
    assert find_program(next(iter(result.created.values()))) is None
    assert result.threat_actions[0].startswith("mail:collector@exfil.invalid:")


@pytest.mark.parametrize("name", ["clean_simvm", "fp_bait"])
def test_clean_programs_change_nothing(name: str, bgoats: list[Goat]) -> None:
    result = run_binary(
        program_sample(name, 1), goat_vfs(bgoats), when=FRIDAY_13, events=open_events(bgoats)
    )
    assert result.carried_program and result.stop_reason == "halt"
    assert result.changed == {} and result.created == {} and result.threat_actions == []


def test_corrupted_copy_faults_and_infects_nothing(bgoats: list[Goat]) -> None:
    sample = damaged(infected_host("appender_ep", 4), 4)
    result = run_binary(
        sample, goat_vfs(bgoats), when=MONDAY, events=[Event("execute", "C:/sample.exe")]
    )
    assert result.carried_program and result.stop_reason == "fault"
    assert result.changed == {} and "checksum" in (result.fault or "")


@pytest.mark.parametrize("name", ["worm", "trojan", "clean_simvm", "fp_bait"])
def test_program_samples_are_inert_pe_files(name: str) -> None:
    assert_inert_entry(program_sample(name, 2))


def test_infecting_families_share_no_twelve_byte_code_run() -> None:
    """Signatures of 12+ bytes taken from one family's code cannot match another family."""
    viral = [n for n in PROGRAMS if n not in ("clean_simvm", "fp_bait", "worm", "trojan")]
    windows = {
        name: {program(name)[i : i + 12] for i in range(len(program(name)) - 11)} for name in viral
    }
    for index, first in enumerate(viral):
        for second in viral[index + 1 :]:
            assert not windows[first] & windows[second], (first, second)
