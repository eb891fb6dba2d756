"""The repair recipe language: every expression and operation, validation and bounds."""

from __future__ import annotations

import struct
from typing import Any

import pytest

from dis_core.definitions import RepairError
from dis_core.definitions.recipe import apply_binary_recipe, validate_recipe

INPUT = bytes(range(32)) + struct.pack("<HIQ", 0xBEEF, 0xDEADBEEF, 5)  # 46 bytes


def _run(ops: list[dict[str, Any]], match: int | None = 4) -> bytes:
    recipe = {"version": 1, "anchor": "$a", "ops": ops}
    validate_recipe(recipe, "binary")
    return apply_binary_recipe(INPUT, recipe, match)


def _deep(levels: int) -> Any:
    expr: Any = 1
    for _ in range(levels):
        expr = {"u8": expr}
    return expr


def test_expressions() -> None:
    def value(expr: Any) -> int:
        out = _run([{"op": "write_u32", "at": 0, "value": expr}])
        return int.from_bytes(out[:4], "little")

    assert value(7) == 7
    assert value({"match": 3}) == 7
    assert value({"size": -1}) == len(INPUT) - 1
    assert value({"u8": 5}) == 5
    assert value({"u16": 32}) == 0xBEEF
    assert value({"u32": 34}) == 0xDEADBEEF
    assert value({"u64": 38}) == 5
    assert value({"add": [{"u64": 38}, {"match": 0}]}) == 9
    assert value({"sub": [{"size": 0}, 40]}) == 6
    assert value({"u8": {"add": [1, {"u8": 2}]}}) == 3


def test_operations() -> None:
    assert _run([{"op": "copy", "from": 10, "to": 0, "length": 3}])[:4] == bytes([10, 11, 12, 3])
    xored = _run(
        [{"op": "copy_xor", "from": 0, "to": 0, "length": 5, "key_from": 8, "key_length": 2}]
    )
    assert xored[:5] == bytes([0 ^ 8, 1 ^ 9, 2 ^ 8, 3 ^ 9, 4 ^ 8])
    assert _run([{"op": "fill", "at": 1, "length": 2, "byte": 255}])[:4] == bytes([0, 255, 255, 3])
    assert _run([{"op": "write_u16", "at": 0, "value": 0x0102}])[:3] == bytes([2, 1, 2])
    assert _run([{"op": "truncate", "length": {"match": 0}}]) == INPUT[:4]
    assert (
        _run([{"op": "cut", "at": 0, "length": 2}, {"op": "cut", "at": 0, "length": 2}])
        == INPUT[4:]
    )
    # expressions read the INPUT even after the work copy was cut
    out = _run(
        [{"op": "cut", "at": 0, "length": 10}, {"op": "write_u16", "at": 0, "value": {"u8": 0}}]
    )
    assert out[:2] == b"\x00\x00" and len(out) == len(INPUT) - 10


@pytest.mark.parametrize(
    "ops",
    [
        [{"op": "copy", "from": 40, "to": 0, "length": 10}],
        [{"op": "copy", "from": 0, "to": 40, "length": 10}],
        [{"op": "fill", "at": 46, "length": 1, "byte": 0}],
        [{"op": "write_u16", "at": 0, "value": 70000}],
        [{"op": "write_u32", "at": 44, "value": 1}],
        [{"op": "truncate", "length": 47}],
        [{"op": "cut", "at": 40, "length": 7}],
        [{"op": "truncate", "length": {"sub": [1, 2]}}],
        [{"op": "truncate", "length": {"u64": 40}}],
        [{"op": "truncate", "length": {"match": -5}}],
        [{"op": "cut", "at": 0, "length": 40}, {"op": "fill", "at": 10, "length": 1, "byte": 0}],
        [{"op": "copy_xor", "from": 0, "to": 0, "length": 1, "key_from": 46, "key_length": 1}],
    ],
)
def test_out_of_bounds_is_refused(ops: list[dict[str, Any]]) -> None:
    with pytest.raises(RepairError):
        _run(ops)


def test_match_without_anchor() -> None:
    with pytest.raises(RepairError, match="anchor"):
        _run([{"op": "truncate", "length": {"match": 0}}], match=None)


@pytest.mark.parametrize(
    "recipe",
    [
        None,
        {"version": 2, "ops": [{"op": "truncate", "length": 1}]},
        {"version": 1, "ops": []},
        {"version": 1, "ops": [{"op": "truncate"}]},
        {"version": 1, "ops": [{"op": "truncate", "length": 1, "extra": 2}]},
        {"version": 1, "ops": [{"op": "truncate", "length": 1.5}]},
        {"version": 1, "ops": [{"op": "truncate", "length": True}]},
        {"version": 1, "ops": [{"op": "truncate", "length": {"mul": [1, 2]}}]},
        {"version": 1, "ops": [{"op": "fill", "at": 0, "length": 1, "byte": 256}]},
        {"version": 1, "ops": [{"op": "fill", "at": 0, "length": 1, "byte": {"u8": 0}}]},
        {
            "version": 1,
            "ops": [
                {"op": "copy_xor", "from": 0, "to": 0, "length": 1, "key_from": 0, "key_length": 0}
            ],
        },
        {"version": 1, "anchor": "a", "ops": [{"op": "truncate", "length": 1}]},
        {"version": 1, "ops": [{"op": "truncate", "length": 1}]} | {"surprise": 1},
        {"version": 1, "ops": [{"op": "truncate", "length": 2**64}]},
        {"version": 1, "ops": [{"op": "truncate", "length": 1}] * 257},
        {"version": 1, "ops": [{"op": "truncate", "length": _deep(20)}]},
    ],
)
def test_malformed_recipes_are_refused(recipe: Any) -> None:
    with pytest.raises(ValueError):
        validate_recipe(recipe, "binary")


def test_macro_recipe() -> None:
    validate_recipe({"version": 1, "op": "remove_modules"}, "macro")
    with pytest.raises(ValueError):
        validate_recipe({"version": 1, "ops": [{"op": "truncate", "length": 1}]}, "macro")
