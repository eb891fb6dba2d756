"""Each macro family replicates in the simulated Office exactly as documented."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dis_core.formats.documents import read_modules, remove_modules, write_document
from simworld.goats import Goat
from simworld.macros import CLEAN, MACRO_FAMILIES
from simworld.office import (
    EXCEL_STARTUP_PATH,
    GLOBAL_TEMPLATE_PATH,
    run_document,
)
from simworld.vfs import Event

from .conftest import MONDAY, extract_macros, goat_vfs, open_events

FRIDAY = datetime(2026, 3, 6, 9, 0, tzinfo=UTC)


def sample(family: str) -> bytes:
    kind, module, source = MACRO_FAMILIES[family]
    return write_document(kind, [(module, source)], body_text="quarterly figures", seed=5)


def word_goats(goats: list[Goat]) -> list[Goat]:
    return [g for g in goats if g.kind == "docm"]


def excel_goats(goats: list[Goat]) -> list[Goat]:
    return [g for g in goats if g.kind == "xlsm"]


def test_autoopen_copier_goes_through_the_global_template(dgoats: list[Goat]) -> None:
    result = run_document(
        sample("macro_autoopen"),
        goat_vfs(dgoats),
        when=MONDAY,
        events=open_events(word_goats(dgoats)),
    )
    assert result.stop_reason == "halt"
    assert set(result.changed) == {GLOBAL_TEMPLATE_PATH} | {g.path for g in word_goats(dgoats)}
    for data in result.changed.values():
        assert [name for name, _ in read_modules(data)] == ["SimConcept"]


def test_autoopen_copier_spreads_on_close_and_save_too(dgoats: list[Goat]) -> None:
    goat = word_goats(dgoats)[0]
    for kind in ("close", "save"):
        result = run_document(
            sample("macro_autoopen"), goat_vfs(dgoats), when=MONDAY, events=[Event(kind, goat.path)]
        )
        assert goat.path in result.changed


def test_new_documents_get_the_macro_from_the_template(dgoats: list[Goat]) -> None:
    infected_template = run_document(
        sample("macro_autoopen"), goat_vfs(dgoats), when=MONDAY, events=[]
    ).changed[GLOBAL_TEMPLATE_PATH]
    vfs = goat_vfs(dgoats)
    vfs.write(GLOBAL_TEMPLATE_PATH, infected_template)
    clean = write_document("docm", [("Tools", CLEAN)], body_text="hello there", seed=1)
    result = run_document(clean, vfs, when=MONDAY, events=[Event("new", "C:/docs/new1.docm")])
    assert "C:/docs/new1.docm" in result.created
    assert [n for n, _ in read_modules(result.created["C:/docs/new1.docm"])] == ["SimConcept"]


def test_excel_infector_uses_the_startup_workbook(dgoats: list[Goat]) -> None:
    books = excel_goats(dgoats)
    result = run_document(
        sample("macro_excel"), goat_vfs(dgoats), when=MONDAY, events=open_events(dgoats)
    )
    assert set(result.changed) == {g.path for g in books}  # Word goats untouched
    assert list(result.created) == [EXCEL_STARTUP_PATH]
    for data in [*result.changed.values(), *result.created.values()]:
        assert [n for n, _ in read_modules(data)] == ["SimLaroux"]


def test_polymorphic_macro_copies_differ_from_one_another(dgoats: list[Goat]) -> None:
    result = run_document(
        sample("macro_poly"), goat_vfs(dgoats), when=MONDAY, events=open_events(word_goats(dgoats))
    )
    sources = [read_modules(data)[0][1] for data in result.changed.values()]
    names = [read_modules(data)[0][0] for data in result.changed.values()]
    assert len(sources) == 1 + len(word_goats(dgoats))
    assert len(set(sources)) == len(sources) and len(set(names)) == len(names)
    assert all("Sim.Mutant.A" in s and "Qzvbkr" not in s for s in sources)
    # a mutated copy replicates further
    copy = next(data for path, data in result.changed.items() if path != GLOBAL_TEMPLATE_PATH)
    again = run_document(
        copy, goat_vfs(dgoats), when=MONDAY, events=open_events(word_goats(dgoats))
    )
    assert len(again.changed) == len(result.changed)


def test_conditional_macro_spreads_only_on_fridays(dgoats: list[Goat]) -> None:
    events = open_events(word_goats(dgoats))
    assert (
        run_document(
            sample("macro_conditional"), goat_vfs(dgoats), when=MONDAY, events=events
        ).changed
        == {}
    )
    assert len(
        run_document(
            sample("macro_conditional"), goat_vfs(dgoats), when=FRIDAY, events=events
        ).changed
    ) == 1 + len(events)


@pytest.mark.parametrize("family", list(MACRO_FAMILIES))
def test_infected_documents_are_extracted_by_olevba_and_repairable(
    family: str, dgoats: list[Goat]
) -> None:
    originals = {g.path: g.data for g in dgoats}
    result = run_document(sample(family), goat_vfs(dgoats), when=FRIDAY, events=open_events(dgoats))
    assert result.changed
    for path, data in result.changed.items():
        macros = extract_macros(path, data)
        assert len(macros) == 1
        repaired = remove_modules(data, lambda name, source: True)
        assert repaired == originals[path]


def test_a_clean_macro_document_replicates_nothing(dgoats: list[Goat]) -> None:
    clean = write_document("docm", [("Tools", CLEAN)], body_text="one two three", seed=1)
    result = run_document(clean, goat_vfs(dgoats), when=FRIDAY, events=open_events(dgoats))
    assert result.carried_program and result.changed == {} and result.created == {}


def test_documents_without_macros_carry_no_program(dgoats: list[Goat]) -> None:
    result = run_document(dgoats[1].data, goat_vfs(dgoats), when=FRIDAY, events=open_events(dgoats))
    assert not result.carried_program and result.changed == {}


def test_macro_runs_are_deterministic(dgoats: list[Goat]) -> None:
    runs = [
        run_document(
            sample("macro_poly"), goat_vfs(dgoats), when=MONDAY, events=open_events(dgoats)
        ).changed
        for _ in range(2)
    ]
    assert runs[0] == runs[1]
