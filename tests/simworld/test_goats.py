from __future__ import annotations

import pefile

from dis_core.formats import pe
from dis_core.formats.documents import read_modules
from simworld.goats import binary_goats, document_goats
from simworld.office import GLOBAL_TEMPLATE_PATH


def test_binary_goats_are_clean_pe_files_with_a_ret_entry() -> None:
    goats = binary_goats(3)
    assert len(goats) >= 6
    assert {g.kind for g in goats} == {"pe32", "pe64"}
    assert len({g.path.rsplit("/", 1)[0] for g in goats}) >= 3  # several folders
    assert len({len(g.data) for g in goats}) >= 4  # several sizes
    for goat in goats:
        parsed = pefile.PE(data=goat.data)
        assert parsed.get_warnings() == [], goat.path
        assert (parsed.OPTIONAL_HEADER.Magic == 0x20B) == (goat.kind == "pe64")
        entry = parsed.get_offset_from_rva(parsed.OPTIONAL_HEADER.AddressOfEntryPoint)
        assert goat.data[entry] == pe.RET
        assert pe.image_end(goat.data) == len(goat.data)  # no overlay


def test_goats_are_deterministic_per_seed() -> None:
    assert [g.data for g in binary_goats(5)] == [g.data for g in binary_goats(5)]
    assert [g.data for g in binary_goats(5)] != [g.data for g in binary_goats(6)]
    assert [g.data for g in document_goats(5)] == [g.data for g in document_goats(5)]


def test_some_goats_have_a_cavity_and_some_do_not() -> None:
    cavities = [pe.find_cavity(g.data, 300) for g in binary_goats(3)]
    assert any(cavities) and not all(cavities)


def test_document_goats_have_word_excel_and_the_template() -> None:
    goats = document_goats(2)
    kinds = {g.kind for g in goats}
    assert {"docm", "xlsm", "dotm"} <= kinds
    assert any(g.path == GLOBAL_TEMPLATE_PATH for g in goats)
    assert all(read_modules(g.data) == [] for g in goats)  # goats carry no macros
