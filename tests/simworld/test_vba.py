"""The SimVBA subset: parsing, semantics, and the bounds on hostile macros."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dis_core.formats.documents import write_document
from simworld.office import run_document
from simworld.vba import Interpreter, Limits, Project, VBASyntaxError, parse_module
from simworld.vfs import VirtualFS

WHEN = datetime(2026, 3, 6, 9, 0, tzinfo=UTC)  # a Friday


def call(source: str, name: str = "main", limits: Limits | None = None) -> tuple[object, list[str]]:
    project = Project([parse_module("M", source)])
    interp = Interpreter(None, WHEN, limits or Limits())
    proc = project.find(name)
    assert proc is not None
    value = interp.call(proc, project, None, [])
    return value, interp.output


def test_control_flow_functions_and_builtins() -> None:
    source = """
Const Greeting = "hi"
Function Main()
    Dim total, i, word, parts
    total = 0
    For i = 1 To 10 Step 3: total = total + i: Next i
    parts = Split("a,b,c", ",")
    For Each word In parts
        total = total & word
    Next
    If Len(total) > 3 Then total = total & "!" Else total = "short"
    Do While i < 100
        i = i * 2
        If i > 50 Then Exit Do
    Loop
    Select_ = Twice(i)
    Main = Greeting & " " & total & " " & Select_ & " " & UCase(Mid("abcdef", 2, 3)) & InStr("hello", "l") _
        & " " & Replace("aXbX", "X", "-") & " " & Weekday(Now) & " " & (7 Mod 3) & " " & (7 \\ 2) & " " & (Not True)
End Function

Function Twice(x)
    Twice = x * 2
End Function
"""
    value, _ = call(source)
    assert value == "hi 22abc! 104 BCD3 a-b- 6 1 3 False"


def test_if_elseif_else_and_while_wend() -> None:
    source = """
Function Main()
    Dim n, out
    n = 0
    While n < 3
        n = n + 1
        If n = 1 Then
            out = out & "one"
        ElseIf n = 2 Then
            out = out & "two"
        Else
            out = out & "many"
        End If
    Wend
    MsgBox out
    Main = out
End Function
"""
    value, output = call(source)
    assert value == "onetwomany" and output == ["onetwomany"]


def test_on_error_resume_next_skips_failing_statements() -> None:
    source = """
Function Main()
    On Error Resume Next
    x = UnknownThing(1)
    Main = "went on"
End Function
"""
    assert call(source)[0] == "went on"


@pytest.mark.parametrize(
    "source",
    [
        "Sub Main()\n    x = \nEnd Sub",
        "Sub Main()\n    If x Then\nEnd Sub",
        "x = 1",
        "Sub Main()\n    For i = 1\n    Next\nEnd Sub",
        'Sub Main()\n    y = "unterminated\nEnd Sub',
    ],
)
def test_code_outside_the_subset_is_a_syntax_error(source: str) -> None:
    with pytest.raises(VBASyntaxError):
        parse_module("M", source)


def run_macro(source: str, max_steps: int = 20000) -> object:
    doc = write_document("docm", [("Hostile", source)], body_text="", seed=1)
    return run_document(doc, VirtualFS(), when=WHEN, events=[], max_steps=max_steps)


def test_endless_macro_loop_stops_at_the_step_bound() -> None:
    result = run_macro("Sub AutoOpen()\n    Do\n    Loop\nEnd Sub\n")
    assert result.stop_reason == "step_limit"


def test_endless_recursion_is_a_fault_not_a_crash() -> None:
    result = run_macro("Sub AutoOpen()\n    AutoOpen\nEnd Sub\n")
    assert result.stop_reason == "fault"


def test_growing_strings_stop_at_the_memory_bound() -> None:
    result = run_macro(
        'Sub AutoOpen()\n    s = "xxxxxxxx"\n    Do\n        s = s & s\n    Loop\nEnd Sub\n'
    )
    assert result.stop_reason == "memory_limit"


def test_huge_module_writes_stop_at_the_output_bound() -> None:
    source = 'Sub AutoOpen()\n    s = String(70000, "x")\n    SimOffice.Template.AddModule "Big", s\nEnd Sub\n'
    assert run_macro(source).stop_reason == "output_limit"


def test_message_flood_stops_at_the_output_bound() -> None:
    assert (
        run_macro(
            'Sub AutoOpen()\n    Do\n        MsgBox "spam spam spam"\n    Loop\nEnd Sub\n', 200000
        ).stop_reason
        == "output_limit"
    )


def test_a_syntax_error_in_the_sample_is_a_fault() -> None:
    result = run_macro("Sub AutoOpen()\n    GoSub Nowhere\nEnd Sub\n")
    assert result.stop_reason == "fault" and result.fault


def test_real_office_objects_do_not_exist() -> None:
    result = run_macro("Sub AutoOpen()\n    NormalTemplate.VBProject.VBComponents.Add 1\nEnd Sub\n")
    assert result.stop_reason == "fault" and "normaltemplate" in (result.fault or "").lower()


def test_save_loops_over_big_modules_end_quickly() -> None:
    import time

    source = 'Sub AutoOpen()\n    s = String(60000, "x")\n    SimOffice.Template.AddModule "Big", s\n    Do\n        SimOffice.Template.Save\n    Loop\nEnd Sub\n'
    began = time.perf_counter()
    assert run_macro(source, 200000).stop_reason == "step_limit"
    assert time.perf_counter() - began < 10


def test_growing_numbers_overflow_instead_of_eating_memory() -> None:
    result = run_macro("Sub AutoOpen()\n    x = 3\n    Do\n        x = x * x\n    Loop\nEnd Sub\n")
    assert result.stop_reason == "fault" and "overflow" in (result.fault or "")
