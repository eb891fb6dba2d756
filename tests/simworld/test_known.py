"""The baseline signatures: they compile, match what they should, and the recipes repair."""

from __future__ import annotations

import pytest
import yara

from dis_core.definitions import baseline
from simworld.binaries import infected_host, program_sample
from simworld.datafiles import eicar_file
from simworld.emulator import run_binary
from simworld.generator import FAMILIES, generate_samples
from simworld.goats import Goat

from . import recipe
from .conftest import MONDAY, goat_vfs

FIELDS = ("virus_name", "kind", "rule", "repair", "family", "category")
SIGNATURES = {
    s.virus_name: {name: getattr(s, name) for name in FIELDS}
    for s in baseline.baseline_signatures()
}


def test_the_facts_frozen_in_the_baseline_are_the_worlds() -> None:
    from simworld.binaries import dropper
    from simworld.bytecode import MAGIC
    from simworld.programs import EXE_PATTERN, program

    assert baseline.SIMVM_MAGIC == MAGIC and baseline.EXE_PATTERN == EXE_PATTERN
    assert len(program("known_oldie")) == baseline.OLDIE_CODE_LENGTH
    assert len(dropper(program("known_jolt"), seed=0)) == baseline.JOLT_IMAGE_SIZE


def matches(signature: dict, data: bytes) -> bool:
    return bool(yara.compile(source=signature["rule"]).match(data=data))


def test_every_signature_is_complete_and_compiles() -> None:
    categories = {s["category"] for s in SIGNATURES.values()}
    assert categories == {"test", "virus", "heuristic"}
    for signature in SIGNATURES.values():
        assert set(signature) == {"virus_name", "kind", "rule", "repair", "family", "category"}
        assert signature["kind"] in ("binary", "hash")
        yara.compile(source=signature["rule"])
        assert (signature["repair"] is not None) == (signature["category"] == "virus")


def test_eicar_rule_matches_the_test_file_only() -> None:
    eicar = SIGNATURES["EICAR-Test-File"]
    assert matches(eicar, eicar_file())
    assert not matches(eicar, b"padding " + eicar_file())


@pytest.mark.parametrize(
    ("virus_name", "family"), [("Sim.Oldie.A", "known_oldie"), ("Sim.Jolt.A", "known_jolt")]
)
def test_known_family_recipes_restore_every_infected_goat(
    virus_name: str, family: str, bgoats: list[Goat]
) -> None:
    signature = SIGNATURES[virus_name]
    sample = infected_host(family, 8)
    result = run_binary(sample, goat_vfs(bgoats), when=MONDAY, events=[])
    originals = {g.path: g.data for g in bgoats}
    assert set(result.changed) == set(originals)
    for path, infected in [*result.changed.items()]:
        assert matches(signature, infected)
        repaired = recipe.apply(signature["repair"], signature["rule"], infected)
        assert repaired == originals[path]
        assert not matches(signature, repaired)
    assert not matches(signature, recipe.apply(signature["repair"], signature["rule"], sample))


def test_heuristic_matches_the_bait_and_no_viral_family() -> None:
    heuristic = SIGNATURES["Heur.SimVM.ExeWalker"]
    assert matches(heuristic, program_sample("fp_bait", 3))
    for sample in generate_samples(3, [f for f in FAMILIES if f not in ("fp_bait", "clean_pe")]):
        assert not matches(heuristic, sample.data), sample.family


def test_known_signatures_match_only_their_family() -> None:
    samples = generate_samples(4, [f for f in FAMILIES if f != "clean_pe"], variants=2)
    for sample in samples:
        hits = {
            name
            for name, s in SIGNATURES.items()
            if s["category"] == "virus" and matches(s, sample.data)
        }
        if sample.family == "known":
            assert hits == {
                "Sim.Oldie.A" if sample.expected["virus_family"] == "known_oldie" else "Sim.Jolt.A"
            }
        else:
            assert hits == set(), sample.family


@pytest.mark.parametrize(
    ("virus_name", "family"), [("Sim.Oldie.A", "known_oldie"), ("Sim.Jolt.A", "known_jolt")]
)
def test_known_recipes_also_work_in_the_definitions_evaluator(
    virus_name: str, family: str, bgoats: list[Goat]
) -> None:
    from dis_core.definitions.recipe import apply_binary_recipe, validate_recipe

    signature = SIGNATURES[virus_name]
    validate_recipe(signature["repair"], "binary")
    result = run_binary(infected_host(family, 9), goat_vfs(bgoats), when=MONDAY, events=[])
    for goat in bgoats:
        infected = result.changed[goat.path]
        anchor = recipe.anchor_offset(signature["rule"], "$a", infected)
        assert apply_binary_recipe(infected, signature["repair"], anchor) == goat.data
