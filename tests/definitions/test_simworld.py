"""The baseline set against the simulated world's fixtures (both engines): known families
detected and repaired back to the original host byte for byte, novel families not detected."""

from __future__ import annotations

from pathlib import Path

import pytest

from dis_core.definitions import (
    EICAR,
    Scanner,
    SigningKey,
    build_baseline,
    read_package,
    write_rule_file,
)
from simworld import goats
from simworld.binaries import PLANS, InfectionPlan, infected_host
from simworld.generator import generate_samples

from .helpers import PRODUCED
from .test_rulefile import _yara

KEY = SigningKey.generate()
BASELINE = read_package(build_baseline(KEY, PRODUCED), KEY.verify_key())
ENGINES = ["yara", "yara-x"]


def test_baseline_envelope() -> None:
    assert (BASELINE.sequence, BASELINE.kind, BASELINE.certified) == (1, "full", True)
    assert BASELINE.certified_at == PRODUCED and BASELINE.published == PRODUCED
    names = [s.virus_name for s in BASELINE.signatures]
    assert names.count("EICAR-Test-File") == 1 and BASELINE.signatures[0].id == "B000001"
    assert names[1:] == ["Sim.Oldie.A", "Sim.Jolt.A", "Heur.SimVM.ExeWalker"]
    assert build_baseline(KEY, PRODUCED) == build_baseline(KEY, PRODUCED)


@pytest.fixture(scope="module")
def samples():  # noqa: ANN201
    return generate_samples(7, variants=2)


@pytest.mark.parametrize("engine", ENGINES)
def test_fixtures_meet_their_expectations(samples, engine: str) -> None:  # noqa: ANN001
    scanner = Scanner(BASELINE, engine)
    settled = 0
    for sample in samples:
        found = scanner.scan_bytes(sample.data)
        if sample.expected["settled_by"] == "quarantine_server":
            settled += 1
            assert len(found) == 1 and found[0].repairable, sample.file
            repaired = scanner.repair(sample.data, found[0])
            assert scanner.scan_bytes(repaired) == [], sample.file
        elif sample.family == "eicar":
            assert [(d.signature_id, d.repairable) for d in found] == [("B000001", False)]
        elif sample.family == "fp_bait":
            assert [d.category for d in found] == ["heuristic"]
        else:
            assert found == [], f"{sample.file} is novel and must not be known to the baseline"
    assert settled >= 2


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("family", ["known_oldie", "known_jolt"])
def test_known_families_repair_to_the_original_host(engine: str, family: str) -> None:
    scanner = Scanner(BASELINE, engine)
    plan = PLANS.get(family, InfectionPlan())
    for variant in range(len(plan.host_layouts)):
        seed = 11
        original = goats.host_program(seed * 1000 + variant, plan.host_layouts[variant])
        infected = infected_host(family, seed, variant)
        assert scanner.scan_bytes(original) == []
        found = scanner.scan_bytes(infected)
        families = {sig.id: sig.family for sig in BASELINE.signatures}
        assert [families[d.signature_id] for d in found] == [family]
        assert scanner.repair(infected, found[0]) == original


@pytest.mark.parametrize("engine", ENGINES)
def test_goats_are_clean(engine: str) -> None:
    scanner = Scanner(BASELINE, engine)
    for goat in goats.binary_goats(3) + goats.document_goats(3):
        assert scanner.scan_bytes(goat.data) == [], goat.path


def test_baseline_rules_compile_with_the_yara_tool(tmp_path: Path) -> None:
    rule_file = write_rule_file(BASELINE, tmp_path / "baseline.yar")
    sample = tmp_path / "eicar.com"
    sample.write_bytes(EICAR)
    assert _yara(rule_file, sample) == ["baseline_eicar_test_file"]
    infected = tmp_path / "oldie.exe"
    infected.write_bytes(infected_host("known_oldie", 3))
    assert _yara(rule_file, infected) == ["Sim_Oldie_A"]
