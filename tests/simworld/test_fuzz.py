"""Random programs and macros never crash the emulators: every run ends with a stop reason."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dis_core.formats.documents import write_document
from simworld.binaries import dropper
from simworld.bytecode import OPS
from simworld.emulator import run_binary
from simworld.goats import binary_goats
from simworld.office import run_document
from simworld.vfs import Event, VirtualFS

WHEN = datetime(2026, 3, 13, tzinfo=UTC)
GOAT = binary_goats(1)[1]
STOPS = {"halt", "step_limit", "memory_limit", "output_limit", "fault"}

# mostly valid opcodes followed by random operand bytes
instruction = st.tuples(
    st.sampled_from([op.code for op in OPS]), st.binary(min_size=0, max_size=6)
).map(lambda t: bytes([t[0]]) + t[1])


@given(st.lists(instruction, min_size=1, max_size=40).map(b"".join))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_random_bytecode_always_ends_with_a_stop_reason(code: bytes) -> None:
    vfs = VirtualFS(max_total_bytes=4 * 2**20)
    vfs.write("C:/goats/g.exe", GOAT.data)
    result = run_binary(
        dropper(code, seed=1),
        vfs,
        when=WHEN,
        events=[Event("open", "C:/goats/g.exe"), Event("execute", "C:/goats/g.exe")],
        max_steps=5000,
    )
    assert result.carried_program and result.stop_reason in STOPS


WORDS = [
    "Sub",
    "End",
    "If",
    "Then",
    "Else",
    "For",
    "Each",
    "In",
    "Next",
    "Do",
    "Loop",
    "While",
    "x",
    "y",
    "=",
    "(",
    ")",
    ",",
    "&",
    "+",
    '"s"',
    "1",
    "SimOffice",
    ".",
    "Template",
    "AddModule",
    "Save",
    "\n",
    "Call",
    "Exit",
    "Function",
    "Dim",
    "Not",
    "Split",
    "Replace",
]


@given(st.lists(st.sampled_from(WORDS), max_size=60).map(" ".join))
@settings(max_examples=150, deadline=None)
def test_random_macro_text_always_ends_with_a_stop_reason(body: str) -> None:
    source = f"Sub AutoOpen()\n{body}\nEnd Sub\n"
    doc = write_document("docm", [("Fuzz", source)], body_text="x", seed=1)
    result = run_document(doc, VirtualFS(), when=WHEN, events=[], max_steps=5000)
    assert result.stop_reason in STOPS
