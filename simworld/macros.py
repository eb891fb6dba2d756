"""SimVBA sources of the macro families (documented in docs/simulated-malware.md)."""

from __future__ import annotations

AUTOOPEN = """' Sim.Concept.A: simulated macro virus (replicates only inside the DIS simulated Office)
Sub AutoOpen()
    SpreadConcept
End Sub

Sub AutoClose()
    SpreadConcept
End Sub

Sub FileSave()
    SpreadConcept
End Sub

Sub AutoNew()
    SpreadConcept
End Sub

Sub SpreadConcept()
    Dim body
    On Error Resume Next
    body = SimOffice.ThisDocument.ModuleSource("SimConcept")
    If Not SimOffice.Template.HasModule("SimConcept") Then
        SimOffice.Template.AddModule "SimConcept", body
        SimOffice.Template.Save
    End If
    If Not SimOffice.ActiveDocument.HasModule("SimConcept") Then
        SimOffice.ActiveDocument.AddModule "SimConcept", body
        SimOffice.ActiveDocument.Save
    End If
End Sub
"""

EXCEL = """' Sim.Laroux.A: simulated workbook infector (replicates only inside the DIS simulated Office)
Sub Workbook_Open()
    Dim bookCode
    bookCode = SimOffice.ThisWorkbook.ModuleSource("SimLaroux")
    If Not SimOffice.Startup.HasModule("SimLaroux") Then
        SimOffice.Startup.AddModule "SimLaroux", bookCode
        SimOffice.Startup.Save
    End If
    If Not SimOffice.ActiveWorkbook.HasModule("SimLaroux") Then
        SimOffice.ActiveWorkbook.AddModule "SimLaroux", bookCode
        SimOffice.ActiveWorkbook.Save
    End If
End Sub
"""

POLY = """' Sim.Mutant.A: simulated polymorphic macro virus (new names in every copy)
Sub AutoOpen()
    Qzvbkr
End Sub

Sub AutoClose()
    Qzvbkr
End Sub

Sub Qzvbkr()
    Dim Wmxtpa, Lcuyis
    Lcuyis = SimOffice.ThisModule
    Wmxtpa = SimOffice.ThisDocument.ModuleSource(Lcuyis)
    If SimOffice.Template.FindModule("Sim.Mutant.A") = "" Then
        SimOffice.Template.AddModule SimOffice.RandomName(8), Xmutate(Wmxtpa)
        SimOffice.Template.Save
    End If
    If SimOffice.ActiveDocument.FindModule("Sim.Mutant.A") = "" Then
        SimOffice.ActiveDocument.AddModule SimOffice.RandomName(8), Xmutate(Wmxtpa)
        SimOffice.ActiveDocument.Save
    End If
End Sub

Function Xmutate(Ptext)
    Dim Nlist, Nitem
    Nlist = Split("Qzvbkr Wmxtpa Lcuyis Xmutate Ptext Nlist Nitem", " ")
    For Each Nitem In Nlist
        Ptext = Replace(Ptext, Nitem, SimOffice.RandomName(6))
    Next
    Xmutate = Ptext
End Function
"""

CONDITIONAL = """' Sim.Payday.A: simulated macro virus that spreads only on Fridays
Sub AutoOpen()
    If Weekday(Now) = vbFriday Then
        PaydaySpread
    End If
End Sub

Sub AutoClose()
    If Weekday(Now) = vbFriday Then PaydaySpread
End Sub

Sub PaydaySpread()
    Dim payCode
    payCode = SimOffice.ThisDocument.ModuleSource("SimPayday")
    If SimOffice.Template.HasModule("SimPayday") = False Then
        Call SimOffice.Template.AddModule("SimPayday", payCode)
        Call SimOffice.Template.Save
    End If
    If SimOffice.ActiveDocument.HasModule("SimPayday") = False Then
        Call SimOffice.ActiveDocument.AddModule("SimPayday", payCode)
        Call SimOffice.ActiveDocument.Save
    End If
End Sub
"""

CLEAN = """' A harmless document macro: counts words, changes nothing
Sub CountWords()
    Dim words, count
    words = Split(SimOffice.ThisDocument.Text, " ")
    count = UBound(words) + 1
    MsgBox "This document has " & count & " words"
End Sub
"""

# family -> (document kind, module name, source)
MACRO_FAMILIES: dict[str, tuple[str, str, str]] = {
    "macro_autoopen": ("docm", "SimConcept", AUTOOPEN),
    "macro_excel": ("xlsm", "SimLaroux", EXCEL),
    "macro_poly": ("docm", "Qzvbkr", POLY),
    "macro_conditional": ("docm", "SimPayday", CONDITIONAL),
}
