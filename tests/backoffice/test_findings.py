"""The typed findings the back office's stages hand on to each other."""

from __future__ import annotations

import json

from backoffice.store.findings import BuildInfo, Findings, Mode


def test_only_the_fields_a_stage_set_are_stored() -> None:
    found = Findings(classification="PE32 program", rounds=[])
    assert json.loads(found.to_json()) == {"classification": "PE32 program", "rounds": []}


def test_newer_findings_are_laid_over_the_stored_ones() -> None:
    stored = Findings(plans=[{"label": "a"}, {"label": "b"}], plan={"label": "a"}, rounds=[])
    newer = Findings(plan={"label": "b"}, mode=Mode.THREAT)
    merged = stored.merged(newer)
    assert merged.plan == {"label": "b"} and merged.plans == stored.plans
    assert merged.mode is Mode.THREAT and merged.rounds == []


def test_stored_json_reads_back_typed_and_unknown_keys_are_dropped() -> None:
    build = BuildInfo(sequence=3, kind="incremental", certified=False, new=["S1"], removed=[])
    text = Findings(mode=Mode.MISFIRE, build=build, end="misfired").to_json()
    again = Findings.from_json(text.replace("{", '{"retired_key": 1, ', 1))
    assert again == Findings(mode=Mode.MISFIRE, build=build, end="misfired")
    assert again.mode is Mode.MISFIRE and again.get("end") == "misfired"
    assert Findings.from_json(None) == Findings() == Findings.from_json("{}")
