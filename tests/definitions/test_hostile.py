"""Hostile input: random and mutated packages, documents and VBA never crash the readers."""

from __future__ import annotations

import io
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dis_core.definitions import (
    DefinitionError,
    RepairError,
    SigningKey,
    apply_incremental,
    build_incremental,
    extract_vba,
    normalize_vba,
    read_package,
)
from dis_core.definitions.recipe import apply_binary_recipe
from dis_core.definitions.vba import ZIP_MAGIC

from .helpers import binary_signature, full_set

KEY = SigningKey.generate()
PACKAGE = full_set(KEY, 3, [binary_signature(1), binary_signature(2)])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_random_bytes_are_refused(data: bytes) -> None:
    try:
        read_package(data, KEY.verify_key())
    except DefinitionError:
        return
    raise AssertionError("random bytes accepted")


@settings(max_examples=200, deadline=None)
@given(st.integers(0, len(PACKAGE) - 1), st.binary(min_size=1, max_size=16))
def test_spliced_packages_are_refused(position: int, splice: bytes) -> None:
    damaged = PACKAGE[:position] + splice + PACKAGE[position + len(splice) :]
    if damaged == PACKAGE:
        return
    try:
        read_package(damaged, KEY.verify_key())
    except DefinitionError:
        return
    raise AssertionError(f"spliced package accepted at {position}")


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=2000))
def test_extract_vba_survives_garbage(data: bytes) -> None:
    for prefix in (b"", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", ZIP_MAGIC):
        assert extract_vba(prefix + data) is None


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=500))
def test_normalize_vba_is_idempotent(source: str) -> None:
    once = normalize_vba(source)
    assert normalize_vba(once) == once


def test_zip_bomb_is_not_opened() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/vbaProject.bin", bytes(20 * 2**20))
    bomb = buffer.getvalue()
    assert len(bomb) < 2**20
    assert extract_vba(bomb) is None


def _expressions() -> st.SearchStrategy:
    leaves = st.one_of(
        st.integers(-5, 80),
        st.builds(lambda k: {"match": k}, st.integers(-5, 40)),
        st.builds(lambda k: {"size": k}, st.integers(-60, 5)),
    )
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            st.builds(
                lambda name, e: {name: e}, st.sampled_from(["u8", "u16", "u32", "u64"]), inner
            ),
            st.builds(
                lambda name, a, b: {name: [a, b]}, st.sampled_from(["add", "sub"]), inner, inner
            ),
        ),
        max_leaves=4,
    )


def _operations() -> st.SearchStrategy:
    expr = _expressions()
    return st.one_of(
        st.fixed_dictionaries({"op": st.just("copy"), "from": expr, "to": expr, "length": expr}),
        st.fixed_dictionaries(
            {
                "op": st.just("copy_xor"),
                "from": expr,
                "to": expr,
                "length": expr,
                "key_from": expr,
                "key_length": st.integers(1, 8),
            }
        ),
        st.fixed_dictionaries(
            {"op": st.just("fill"), "at": expr, "length": expr, "byte": st.integers(0, 255)}
        ),
        st.fixed_dictionaries(
            {"op": st.sampled_from(["write_u16", "write_u32"]), "at": expr, "value": expr}
        ),
        st.fixed_dictionaries({"op": st.just("truncate"), "length": expr}),
        st.fixed_dictionaries({"op": st.just("cut"), "at": expr, "length": expr}),
    )


@settings(max_examples=300, deadline=None)
@given(
    st.binary(min_size=0, max_size=64),
    st.lists(_operations(), min_size=1, max_size=5),
    st.one_of(st.none(), st.integers(0, 70)),
)
def test_recipes_never_escape_their_bounds(data: bytes, ops: list, match: int | None) -> None:  # noqa: ANN001
    from dis_core.definitions import RepairError
    from dis_core.definitions.recipe import apply_binary_recipe, validate_recipe

    recipe = {"version": 1, "anchor": "$a", "ops": ops}
    validate_recipe(recipe, "binary")
    try:
        out = apply_binary_recipe(data, recipe, match)
    except RepairError:
        return
    assert len(out) <= len(data)


_BASE = read_package(full_set(KEY, 1, [binary_signature(1), binary_signature(2)]), KEY.verify_key())
_TARGET = read_package(PACKAGE, KEY.verify_key())
INCREMENT = build_incremental(_BASE, _TARGET)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, len(INCREMENT) - 1), st.binary(min_size=1, max_size=16))
def test_spliced_increments_never_apply(position: int, splice: bytes) -> None:
    damaged = INCREMENT[:position] + splice + INCREMENT[position + len(splice) :]
    if damaged == INCREMENT:
        return
    try:
        apply_incremental(_BASE, read_package(damaged, KEY.verify_key()))
    except DefinitionError:
        return
    raise AssertionError(f"spliced increment applied at {position}")


@pytest.mark.parametrize(
    "op",
    [
        {"op": "write_u16", "at": 0, "value": -1},  # crashed with OverflowError
        {"op": "write_u16", "at": -1, "value": 0},  # grew the file through a negative slice
        {"op": "fill", "at": -1, "length": 2, "byte": 0},
        {"op": "cut", "at": 0, "length": -1},
    ],
)
def test_negative_literals_in_a_recipe_are_refused(op: dict[str, object]) -> None:
    with pytest.raises(RepairError):
        apply_binary_recipe(b"\x00", {"version": 1, "anchor": "$a", "ops": [op]}, None)
