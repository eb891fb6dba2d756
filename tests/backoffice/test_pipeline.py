"""Every fixture family driven from imported to its final state by the running back office.

One back office (two workers, engine pools of two) analyses one sample of every family of
the fixture generator plus real documents from the shared corpus, all at once. The pipeline
sees content only; the manifest is read here, by the test, to say what should come out.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from backoffice.analysis.builder import BACKOFFICE_PREFIX, stored_pairs
from backoffice.link import BackOfficeLink
from backoffice.service import BackOffice
from backoffice.services import Goodware
from backoffice.store.models import Analysis
from dis_core.clock import ScaledClock
from dis_core.definitions import Scanner
from simworld import binaries, goats
from simworld.generator import FAMILIES, Sample, generate_samples, manifest

from .conftest import MONDAY, make_config, shared_corpus, submit

SEED = 7
GOLDEN = Path(__file__).parent / "golden" / "state_paths.json"
# Families a real deployment settles before the back office; here they still reach it.
BACK_OFFICE_VIEW = {"eicar": "delete", "known": "infected"}
CORPUS_FILES = {
    "corpus:encrypted.docx": ("encrypted/encrypted.docx", "encrypted"),
    "corpus:sample_with_vba.ppt": ("olevba/sample_with_vba.ppt", "nodetect"),
    "corpus:excel4.xls": ("excel4-macros/excel4_sample_macro.xls", "nodetect"),
    "corpus:harmless-clean.docx": ("msodde/harmless-clean.docx", "uninfectable"),
    "corpus:dde-test.zip": ("msodde/dde-test-from-office2003.doc.zip", "encrypted"),
    "corpus:rtf": ("rtfobj/issue_251.rtf", "uninfectable"),
    "corpus:text": ("basic/text", "uninfectable"),
}


@dataclass
class Run:
    office: BackOffice
    samples: dict[str, Sample]
    expected: dict[str, dict[str, Any]]
    rows: dict[str, dict[str, Any]]


@pytest.fixture(scope="module")
def run(goodware: Goodware, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    data_dir = tmp_path_factory.mktemp("pipeline")
    config = make_config(data_dir)
    office = BackOffice(config, ScaledClock(start=MONDAY), goodware=goodware)
    samples = {s.family: s for s in generate_samples(SEED)}
    expected = {
        entry["family"]: entry["expected"]
        for entry in manifest(SEED, list(samples.values()))["samples"]
    }
    link = BackOfficeLink(config, office.services.clock)
    office.start()
    try:
        for family, sample in samples.items():
            submit(link, family, sample.data)
        for cookie, (relative, _) in CORPUS_FILES.items():
            submit(link, cookie, (shared_corpus() / "oletools-test-data" / relative).read_bytes())
        cookies = list(samples) + list(CORPUS_FILES)
        states = office.wait_final(cookies, timeout_s=240)
        assert all(states.values()), states
        yield Run(office, samples, expected, _rows(office, cookies))
    finally:
        office.stop()


def _rows(office: BackOffice, cookies: list[str]) -> dict[str, dict[str, Any]]:
    with office.services.store.sessions() as session:
        rows = session.scalars(select(Analysis).where(Analysis.cookie.in_(cookies))).all()
        return {
            r.cookie: {
                "state": r.state, "path": r.state_path(), "virus_name": r.virus_name, "sequence": r.sequence,
                "signature_id": r.signature_id, "repairable": r.repairable, "error": r.error, "traceback": r.traceback,
                "times": [(h.after, h.at) for h in r.history if h.field == "state"],
            }
            for r in rows
        }  # fmt: skip


def _expected_state(run: Run, family: str) -> str:
    return BACK_OFFICE_VIEW.get(family) or str(run.expected[family]["state"])


@pytest.mark.parametrize("family", FAMILIES)
def test_family_reaches_its_expected_final_state(run: Run, family: str) -> None:
    row = run.rows[family]
    assert row["traceback"] is None
    assert row["state"] == _expected_state(run, family), row["path"]
    if run.expected[family]["settled_by"] == "backoffice":
        assert bool(row["repairable"]) == run.expected[family]["repairable"]


def test_golden_file_covers_every_family(run: Run) -> None:
    """UPDATE_GOLDEN=1 rewrites the golden file from this run (review the diff before committing)."""
    if os.environ.get("UPDATE_GOLDEN"):
        paths = {family: " > ".join(run.rows[family]["path"]) for family in FAMILIES}
        GOLDEN.write_text(json.dumps(paths, indent=1) + "\n")
    assert set(json.loads(GOLDEN.read_text())) == set(FAMILIES)


@pytest.mark.parametrize("family", FAMILIES)
def test_state_history_matches_the_documented_path(run: Run, family: str) -> None:
    golden = json.loads(GOLDEN.read_text())
    assert " > ".join(run.rows[family]["path"]) == golden[family]
    stamps: list[datetime] = [at for _, at in run.rows[family]["times"]]
    assert stamps == sorted(stamps)


@pytest.mark.parametrize("cookie", sorted(CORPUS_FILES))
def test_real_documents_end_clean(run: Run, cookie: str) -> None:
    assert run.rows[cookie]["state"] == CORPUS_FILES[cookie][1], run.rows[cookie]["path"]


def _newest_scanner(run: Run) -> Scanner:
    newest = run.office.services.newest_set()
    assert newest is not None
    return Scanner(newest)


def _own(scanner: Scanner, data: bytes) -> list[str]:
    return [
        d.signature_id
        for d in scanner.scan_bytes(data)
        if d.signature_id.startswith(BACKOFFICE_PREFIX)
    ]


def test_infected_samples_get_a_new_sequence_and_signature(run: Run) -> None:
    for family, row in run.rows.items():
        if row["state"] in ("infected", "norepair", "unsubmittable") and family != "known":
            assert row["sequence"] and row["sequence"] > 1, family
            assert row["signature_id"].startswith(BACKOFFICE_PREFIX), family


def test_polymorphic_variants_never_seen_are_detected(run: Run) -> None:
    scanner = _newest_scanner(run)
    signature = run.rows["polymorphic"]["signature_id"]
    unseen = generate_samples(SEED + 1000, ["polymorphic", "macro_poly"], variants=4)
    for sample in unseen:
        assert sample.data not in (s.data for s in run.samples.values())
        family_signature = run.rows[sample.family]["signature_id"]
        assert family_signature in _own(scanner, sample.data), sample.file
    assert signature


def test_signatures_hit_no_other_family(run: Run) -> None:
    scanner = _newest_scanner(run)
    others = generate_samples(SEED + 1, variants=1)
    for sample in others:
        own = run.rows[sample.family]["signature_id"] if sample.family in run.rows else None
        hits = set(_own(scanner, sample.data))
        assert hits <= {own}, (sample.family, hits)


def test_signatures_hit_no_real_goodware(run: Run) -> None:
    """The full real corpus: shared documents, PE files in Python packages, ELF under /usr/bin."""
    from backoffice.analysis.goodware import CorpusLimits, GoodwareCorpus

    everything = GoodwareCorpus.discover([], CorpusLimits(2**40, 2**40, 2**40, 0))
    scanner = _newest_scanner(run)
    assert len(everything.files) > 300
    for path in everything.files:
        assert not _own(scanner, path.read_bytes()), path


def test_repairs_give_back_the_original_goats_and_hosts(run: Run) -> None:
    scanner = _newest_scanner(run)
    archive = run.office.services.store.archive_dir
    repaired = 0
    for family, row in run.rows.items():
        if row["state"] != "infected" or not row["signature_id"].startswith(BACKOFFICE_PREFIX):
            continue
        for original, infected in stored_pairs(archive / family):
            hit = next(
                d for d in scanner.scan_bytes(infected) if d.signature_id == row["signature_id"]
            )
            assert scanner.repair(infected, hit) == original, family
            repaired += 1
    assert repaired >= 20


@pytest.mark.parametrize(
    "family", ["appender_ep", "section_adder", "cavity", "polymorphic", "resident", "prepender"]
)
def test_repair_of_the_sample_gives_back_its_first_host(run: Run, family: str) -> None:
    """The generator infected a known host; the produced repair must give it back exactly."""
    scanner = _newest_scanner(run)
    seed = _sample_seed(family)
    plan = binaries.PLANS.get(family, binaries.InfectionPlan())
    host = goats.host_program(seed * 1000, plan.host_layouts[0])
    sample = run.samples[family].data
    hit = next(
        d for d in scanner.scan_bytes(sample) if d.signature_id == run.rows[family]["signature_id"]
    )
    assert scanner.repair(sample, hit) == host


def _sample_seed(family: str) -> int:
    from simworld.generator import _sample_seed as seed_of

    return seed_of(SEED, family, 0)


def test_engine_pools_bound_parallel_replication(run: Run) -> None:
    """No more binary samples held an engine at once than the pool has (2), and some overlap."""
    spans = []
    for row in run.rows.values():
        states = [state for state, _ in row["times"]]
        if "binaryReplicating" not in states:
            continue
        last = len(states) - 1 - states[::-1].index("binaryReplicating")
        # the engine is held from the first controlling step until replication is left
        spans.append(
            (row["times"][states.index("binaryControlling")][1], row["times"][last + 1][1])
        )
    events = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])
    level = peak = 0
    for _, change in events:
        level += change
        peak = max(peak, level)
    assert 1 <= peak <= 2


def test_goodware_model_is_cached(run: Run, goodware: Goodware) -> None:
    assert goodware.model.totals[0] > 1_000_000
