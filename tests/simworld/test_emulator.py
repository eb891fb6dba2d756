from __future__ import annotations

from datetime import UTC, datetime

import pytest

from simworld.binaries import dropper, program_sample
from simworld.bytecode import MAGIC, assemble
from simworld.emulator import Limits, find_program, run_binary
from simworld.programs import program
from simworld.vfs import Event, VFSLimitError, VirtualFS

WHEN = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)


def run(source: str, vfs: VirtualFS | None = None, **kwargs) -> object:
    return run_binary(
        dropper(assemble(source), seed=1), vfs or VirtualFS(), when=WHEN, events=[], **kwargs
    )


def test_endless_loop_stops_at_the_step_bound() -> None:
    result = run("top: JMP top", max_steps=5000)
    assert result.stop_reason == "step_limit" and result.steps == 5001


def test_huge_writes_stop_at_the_output_bound() -> None:
    source = """
    MOVI r1, 1048576
    BZERO b1, r1
    BSET b2, "C:/big.bin"
loop:
    APPEND b2, b1
    JMP loop
"""
    vfs = VirtualFS(max_total_bytes=8 * 2**20)
    result = run(source, vfs)
    assert result.stop_reason == "output_limit"
    assert vfs.total_bytes <= 8 * 2**20


def test_written_bytes_bound_applies_even_with_room_in_the_vfs() -> None:
    source = """
    MOVI r1, 1048576
    BZERO b1, r1
    BSET b2, "C:/big.bin"
loop:
    WRITE b2, b1
    JMP loop
"""
    result = run_binary(
        dropper(assemble(source), seed=1),
        VirtualFS(),
        when=WHEN,
        events=[],
        limits=Limits(max_written=4 * 2**20),
    )
    assert result.stop_reason == "output_limit"


def test_growing_buffers_stop_at_the_memory_bound() -> None:
    source = """
    BSET b1, "xxxxxxxxxxxxxxxx"
loop:
    BCAT b1, b1
    JMP loop
"""
    result = run(source)
    assert result.stop_reason == "memory_limit"


def test_too_much_out_text_stops_at_the_output_bound() -> None:
    result = run('BSET b1, "hello hello hello"\nloop: OUT b1\nJMP loop')
    assert result.stop_reason == "output_limit"


@pytest.mark.parametrize(
    ("source", "detail"),
    [
        (".bytes hex:ff", "invalid opcode"),
        ("JMP 9999", "left the code"),
        ("RET", "empty call stack"),
        ("top: CALL top", "stack overflow"),
        ("MOVI r1, 0\nMOD r2, r1, r1", "MOD by zero"),
        ('BSET b1, "notpe"\nPEGETEP r1, b1', "PEGETEP"),
        (".bytes hex:1001", "cut off"),
    ],
)
def test_bad_programs_fault_with_a_description(source: str, detail: str) -> None:
    result = run(source)
    assert result.stop_reason == "fault"
    assert result.fault is not None and detail in result.fault


def test_a_pe_without_program_carries_nothing() -> None:
    from simworld.goats import binary_goats

    goat = binary_goats(1)[0]
    result = run_binary(goat.data, VirtualFS(), when=WHEN, events=[])
    assert not result.carried_program and result.steps == 0
    assert find_program(goat.data) is None


def test_find_program_works_by_content_not_name() -> None:
    sample = program_sample("clean_simvm", 3)
    assert find_program(sample) == program("clean_simvm")
    assert find_program(b"no MZ" + MAGIC) is None


def test_runs_are_deterministic_and_keys_depend_on_time() -> None:
    source = 'NEWKEY b1, 8\nBSET b2, "C:/key.bin"\nWRITE b2, b1\nHALT'
    first, second = VirtualFS(), VirtualFS()
    run(source, first)
    run(source, second)
    assert first.read("C:/key.bin") == second.read("C:/key.bin")
    other = VirtualFS()
    run_binary(
        dropper(assemble(source), seed=1), other, when=datetime(2027, 1, 1, tzinfo=UTC), events=[]
    )
    assert other.read("C:/key.bin") != first.read("C:/key.bin")


def test_date_time_and_weekday_come_from_the_virtual_clock() -> None:
    source = """
    DATE r1
    MOVI r2, 20260504
    EQ r3, r1, r2
    JZ r3, bad
    WEEKDAY r4
    MOVI r2, 1
    EQ r3, r4, r2
    JZ r3, bad
    BSET b1, "ok"
    OUT b1
    HALT
bad:
    HALT
"""
    assert run(source).output == ["ok"]


def test_hooks_wake_on_matching_events_only() -> None:
    source = """
    HOOK 2, handler
    HALT
handler:
    OUT b0
    HALT
"""
    vfs = VirtualFS()
    vfs.write("C:/a.txt", b"a")
    result = run_binary(
        dropper(assemble(source), seed=1),
        vfs,
        when=WHEN,
        events=[
            Event("execute", "C:/a.txt"),
            Event("open", "C:/a.txt"),
            Event("open", "C:/missing"),
        ],
    )
    assert result.output == ["C:/a.txt"]


def test_vfs_bounds_and_case_insensitive_paths() -> None:
    vfs = VirtualFS(max_total_bytes=10, max_files=2)
    vfs.write("C:/A.txt", b"12345")
    assert vfs.read("c:/a.TXT") == b"12345"
    vfs.write("c:/a.txt", b"123456789")
    assert list(vfs.files) == ["C:/A.txt"]
    with pytest.raises(VFSLimitError):
        vfs.write("C:/b.txt", b"12")
    vfs.write("C:/b.txt", b"1")
    with pytest.raises(VFSLimitError):
        vfs.write("C:/c.txt", b"")
    with pytest.raises(ValueError):
        Event("explode", "C:/a")


def test_loops_over_big_buffers_end_quickly() -> None:
    import time

    source = """
    MOVI r1, 4194304
    BZERO b1, r1
    BSET b3, "C:/big.bin"
loop:
    BMOV b2, b1
    WRITE b3, b1
    JMP loop
"""
    began = time.perf_counter()
    result = run_binary(
        dropper(assemble(source), seed=1),
        VirtualFS(),
        when=WHEN,
        events=[],
        limits=Limits(max_written=2**40),
    )
    assert result.stop_reason == "step_limit"
    assert time.perf_counter() - began < 10


def test_file_table_keeps_its_index_when_used_as_a_dict() -> None:
    vfs = VirtualFS()
    vfs.files["C:/X.bin"] = b"123"
    vfs.write("c:/x.bin", b"12345")
    assert vfs.total_bytes == 5 and vfs.read("C:/x.BIN") == b"12345"
    del vfs.files["C:/X.bin"]
    assert not vfs.exists("c:/x.bin") and vfs.total_bytes == 0
    vfs.files["C:/a"] = b"1"
    vfs.files["c:/A"] = b"22"  # a second spelling replaces the first
    assert list(vfs.files) == ["c:/A"] and vfs.total_bytes == 2


def test_many_small_files_stop_at_the_file_bound_quickly() -> None:
    import time

    source = """
    BSET b1, "C:/spam/f"
    BSET b2, "x"
loop:
    BCAT b1, b2
    WRITE b1, b2
    JMP loop
"""
    began = time.perf_counter()
    result = run_binary(
        dropper(assemble(source), seed=1), VirtualFS(max_files=3000), when=WHEN, events=[]
    )
    assert result.stop_reason == "output_limit"
    assert time.perf_counter() - began < 10


def test_file_and_arithmetic_instructions_do_what_the_docs_say() -> None:
    source = """
    BSET b1, "C:/Docs/Report_Final.TXT"
    BSET b2, "final"
    NAMEHAS r1, b1, b2          ; 1: case-insensitive, name only
    BSET b2, "docs"
    NAMEHAS r2, b1, b2          ; 0: folder names do not count
    BSET b3, "middle"
    WRITE b1, b3
    BSET b3, "<"
    PREPEND b1, b3
    BSET b3, ">"
    APPEND b1, b3
    FSIZE r3, b1                ; 8
    READ b4, b1
    MOVI r4, 0
    BGET32 r5, b4, r4           ; "<mid" little-endian
    MOVI r6, 10
    MOVI r7, 3
    SUB r8, r7, r6              ; wraps to 2**32 - 7
    AND r9, r6, r7              ; 2
    NOT r10, r4                 ; 1
    MOV r11, r6
    ADDI r11, 5                 ; 15
    TIME r12                    ; 120000
    LT r13, r7, r6              ; 1
    BSET b5, "C:/Docs/*.txt"
    MOVI r14, 0
    MOVI r15, 7
    FIND b5, r14, r15           ; 8 bytes > 7: nothing found
    NEXT b6, r14
    HALT
"""
    vfs = VirtualFS()
    code = assemble(source + "\n")
    result = run_binary(dropper(code, seed=1), vfs, when=WHEN, events=[])
    assert result.stop_reason == "halt"
    assert vfs.read("c:/docs/report_final.txt") == b"<middle>"
    assert list(result.created) == ["C:/Docs/Report_Final.TXT"]


def test_register_results() -> None:
    """The same program, with registers dumped through BPUT32 into a file for checking."""
    dump = "\n".join(f"    MOVI r0, {i * 4}\n    BPUT32 b9, r0, r{i}" for i in range(1, 16))
    source = """
    MOVI r0, 64
    BZERO b9, r0
    BSET b1, "C:/Docs/Report_Final.TXT"
    BSET b2, "final"
    NAMEHAS r1, b1, b2
    BSET b2, "docs"
    NAMEHAS r2, b1, b2
    BSET b3, "<middle>"
    WRITE b1, b3
    FSIZE r3, b1
    READ b4, b1
    MOVI r4, 0
    BGET32 r5, b4, r4
    MOVI r6, 10
    MOVI r7, 3
    SUB r8, r7, r6
    AND r9, r6, r7
    NOT r10, r4
    MOV r11, r6
    ADDI r11, 5
    TIME r12
    LT r13, r7, r6
    BSET b5, "C:/Docs/*.txt"
    MOVI r14, 0
    MOVI r15, 7
    FIND b5, r14, r15
    NEXT b6, r14
"""
    source += dump + '\n    BSET b8, "C:/regs.bin"\n    WRITE b8, b9\n    HALT\n'
    vfs = VirtualFS()
    run_binary(dropper(assemble(source), seed=1), vfs, when=WHEN, events=[])
    regs = [int.from_bytes(vfs.read("C:/regs.bin")[i * 4 : i * 4 + 4], "little") for i in range(16)]
    assert regs[1:] == [
        1,
        0,
        8,
        0,
        int.from_bytes(b"<mid", "little"),
        10,
        3,
        2**32 - 7,
        2,
        1,
        15,
        120000,
        1,
        0,
        7,
    ]
