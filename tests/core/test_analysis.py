"""The analysis result every database keeps and every status reply carries."""

from __future__ import annotations

from dis_core.analysis import AnalysisResult
from dis_core.vocabulary.attributes import Message, format_attributes, parse_attributes


def test_result_travels_as_x_attributes_and_back() -> None:
    result = AnalysisResult("Sim.Appender.A", "S000012", 7, repairable=False)
    sent = format_attributes(result.attributes())
    assert sent["X-Analysis-Repairable"] == "no" and sent["X-Signatures-Sequence"] == "7"
    reply = {"X-Analysis-Cookie": "c1", "X-Analysis-State": "infected", **sent}
    assert AnalysisResult.from_attributes(parse_attributes(reply, Message.STATUS)) == result


def test_unknown_parts_of_a_result_are_left_out_and_read_back_as_unknown() -> None:
    assert AnalysisResult(sequence=3).attributes() == {"X-Signatures-Sequence": 3}
    assert AnalysisResult.from_attributes({}) == AnalysisResult()


def test_a_newer_report_keeps_what_it_does_not_know() -> None:
    older = AnalysisResult("Sim.A", "S1", 4, True)
    assert AnalysisResult(sequence=5).over(older) == AnalysisResult("Sim.A", "S1", 5, True)
    assert AnalysisResult(repairable=False).over(older).repairable is False
