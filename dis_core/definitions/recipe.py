"""Repair recipes: strict validation and a bounds-checked interpreter for binary recipes.

Expressions are evaluated against the INFECTED input (never the work copy); operations change
a work copy that starts as the input. See docs/definitions.md for the language.
"""

from __future__ import annotations

import re
from typing import Any

from dis_core.definitions.errors import RepairError
from dis_core.vocabulary.kinds import SignatureKind

MAX_OPS = 256
MAX_EXPR_DEPTH = 16
MAX_KEY_LENGTH = 4096
MAX_VALUE = 2**63
ANCHOR = re.compile(r"\$[A-Za-z0-9_]{0,127}")
READS = {"u8": 1, "u16": 2, "u32": 4, "u64": 8}
WRITES = {"write_u16": 2, "write_u32": 4}
OP_FIELDS: dict[str, set[str]] = {
    "copy": {"from", "to", "length"},
    "copy_xor": {"from", "to", "length", "key_from", "key_length"},
    "fill": {"at", "length", "byte"},
    "write_u16": {"at", "value"},
    "write_u32": {"at", "value"},
    "truncate": {"length"},
    "cut": {"at", "length"},
}
PLAIN_INT_FIELDS = {"key_length", "byte"}


def validate_recipe(recipe: Any, kind: str) -> None:
    """Raise ValueError unless ``recipe`` is a well-formed recipe for a signature of ``kind``."""
    if not isinstance(recipe, dict) or recipe.get("version") != 1:
        raise ValueError("repair recipe must be an object with version 1")
    if kind == SignatureKind.MACRO:
        if recipe != {"version": 1, "op": "remove_modules"}:
            raise ValueError('macro repair must be {"version": 1, "op": "remove_modules"}')
        return
    if set(recipe) - {"version", "anchor", "ops"} or "ops" not in recipe:
        raise ValueError("binary repair recipe has unknown or missing fields")
    anchor = recipe.get("anchor")
    if anchor is not None and (not isinstance(anchor, str) or not ANCHOR.fullmatch(anchor)):
        raise ValueError("anchor must name a YARA string such as $a")
    ops = recipe["ops"]
    if not isinstance(ops, list) or not 1 <= len(ops) <= MAX_OPS:
        raise ValueError(f"ops must be a list of 1 to {MAX_OPS} operations")
    for op in ops:
        _validate_op(op)


def _validate_op(op: Any) -> None:
    if not isinstance(op, dict) or op.get("op") not in OP_FIELDS:
        raise ValueError(f"unknown repair operation {op!r}")
    expected = OP_FIELDS[op["op"]]
    if set(op) != expected | {"op"}:
        raise ValueError(f"operation {op['op']} needs exactly the fields {sorted(expected)}")
    for name in expected:
        if name in PLAIN_INT_FIELDS:
            _validate_plain(name, op[name])
        else:
            _validate_expr(op[name], 0)


def _validate_plain(name: str, value: Any) -> None:
    limit = 255 if name == "byte" else MAX_KEY_LENGTH
    low = 0 if name == "byte" else 1
    if not _is_int(value) or not low <= value <= limit:
        raise ValueError(f"{name} must be an integer from {low} to {limit}")


def _validate_expr(expr: Any, depth: int) -> None:
    if depth > MAX_EXPR_DEPTH:
        raise ValueError("expression nested too deeply")
    if _is_int(expr):
        if not -MAX_VALUE < expr < MAX_VALUE:
            raise ValueError("integer out of range")
        return
    if not isinstance(expr, dict) or len(expr) != 1:
        raise ValueError(f"bad expression {expr!r}")
    ((name, arg),) = expr.items()
    if name in ("match", "size"):
        if not _is_int(arg) or not -MAX_VALUE < arg < MAX_VALUE:
            raise ValueError(f"{name} takes an integer")
    elif name in READS:
        _validate_expr(arg, depth + 1)
    elif name in ("add", "sub"):
        if not isinstance(arg, list) or len(arg) != 2:
            raise ValueError(f"{name} takes two expressions")
        for part in arg:
            _validate_expr(part, depth + 1)
    else:
        raise ValueError(f"unknown expression {name!r}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class RecipeRun:
    """One application of a binary recipe to one infected input."""

    def __init__(self, infected: bytes, anchor_offset: int | None) -> None:
        self.input = infected
        self.match = anchor_offset
        self.work = bytearray(infected)

    def run(self, ops: list[dict[str, Any]]) -> bytes:
        for op in ops:
            getattr(self, "_op_" + op["op"])(op)
        return bytes(self.work)

    def value(self, expr: Any) -> int:
        if _is_int(expr):  # a literal is held to the same range as a computed value
            return self._checked(int(expr))
        ((name, arg),) = expr.items()
        if name == "match":
            if self.match is None:
                raise RepairError("the recipe needs the anchor offset but the anchor did not match")
            return self._checked(self.match + arg)
        if name == "size":
            return self._checked(len(self.input) + arg)
        if name in READS:
            return int.from_bytes(self._read(self.value(arg), READS[name]), "little")
        left, right = (self.value(part) for part in arg)
        return self._checked(left + right if name == "add" else left - right)

    def _checked(self, number: int) -> int:
        if not 0 <= number < MAX_VALUE:
            raise RepairError(f"computed value {number} is out of range")
        return number

    def _read(self, start: int, length: int) -> bytes:
        if start < 0 or length < 0 or start + length > len(self.input):
            raise RepairError(f"read of {length} bytes at {start} is outside the input")
        return self.input[start : start + length]

    def _span(self, start: int, length: int) -> None:
        if start < 0 or length < 0 or start + length > len(self.work):
            raise RepairError(f"write of {length} bytes at {start} is outside the file")

    def _op_copy(self, op: dict[str, Any]) -> None:
        source, target, length = (self.value(op[k]) for k in ("from", "to", "length"))
        self._span(target, length)
        self.work[target : target + length] = self._read(source, length)

    def _op_copy_xor(self, op: dict[str, Any]) -> None:
        source, target, length = (self.value(op[k]) for k in ("from", "to", "length"))
        key = self._read(self.value(op["key_from"]), op["key_length"])
        self._span(target, length)
        data = self._read(source, length)
        repeated = (key * (length // len(key) + 1))[:length]
        mixed = int.from_bytes(data, "little") ^ int.from_bytes(repeated, "little")
        self.work[target : target + length] = mixed.to_bytes(length, "little")

    def _op_fill(self, op: dict[str, Any]) -> None:
        start, length = self.value(op["at"]), self.value(op["length"])
        self._span(start, length)
        self.work[start : start + length] = bytes([op["byte"]]) * length

    def _write(self, op: dict[str, Any], width: int) -> None:
        start, number = self.value(op["at"]), self.value(op["value"])
        if number >= 1 << (8 * width):
            raise RepairError(f"value {number} does not fit in {width} bytes")
        self._span(start, width)
        self.work[start : start + width] = number.to_bytes(width, "little")

    def _op_write_u16(self, op: dict[str, Any]) -> None:
        self._write(op, 2)

    def _op_write_u32(self, op: dict[str, Any]) -> None:
        self._write(op, 4)

    def _op_truncate(self, op: dict[str, Any]) -> None:
        length = self.value(op["length"])
        self._span(0, length)
        del self.work[length:]

    def _op_cut(self, op: dict[str, Any]) -> None:
        start, length = self.value(op["at"]), self.value(op["length"])
        self._span(start, length)
        del self.work[start : start + length]


def apply_binary_recipe(
    infected: bytes, recipe: dict[str, Any], anchor_offset: int | None
) -> bytes:
    """Run the ops of a validated binary recipe; RepairError on any out-of-bounds access."""
    return RecipeRun(infected, anchor_offset).run(recipe["ops"])
