"""A tiny evaluator of binary repair recipes (definitions contract), for checking known.py."""

from __future__ import annotations

import re
from typing import Any

import yara


class RecipeError(Exception):
    pass


def anchor_offset(rule: str, anchor: str, data: bytes) -> int:
    matches = yara.compile(source=rule).match(data=data)
    for match in matches:
        for string in match.strings:
            if string.identifier == anchor:
                return min(instance.offset for instance in string.instances)
    raise RecipeError("anchor not found")


def _value(expr: Any, data: bytes, m: int) -> int:
    if isinstance(expr, int):
        return expr
    ((key, arg),) = expr.items()
    if key == "match":
        return m + int(arg)
    if key == "size":
        return len(data) + int(arg)
    if key in ("u8", "u16", "u32", "u64"):
        at = _value(arg, data, m)
        width = int(re.sub(r"\D", "", key)) // 8
        if not 0 <= at <= len(data) - width:
            raise RecipeError("read out of bounds")
        return int.from_bytes(data[at : at + width], "little")
    if key == "add":
        return _value(arg[0], data, m) + _value(arg[1], data, m)
    if key == "sub":
        return _value(arg[0], data, m) - _value(arg[1], data, m)
    raise RecipeError(f"unknown expression {key}")


def apply(recipe: dict[str, Any], rule: str, data: bytes) -> bytes:
    m = anchor_offset(rule, recipe["anchor"], data)
    work = bytearray(data)
    for op in recipe["ops"]:

        def v(name: str, op: dict[str, Any] = op) -> int:
            return _value(op[name], data, m)

        kind = op["op"]
        if kind in ("copy", "copy_xor"):
            source, target, length = v("from"), v("to"), v("length")
            chunk = data[source : source + length]
            if len(chunk) != length or target + length > len(work):
                raise RecipeError("copy out of bounds")
            if kind == "copy_xor":
                key = data[v("key_from") : v("key_from") + op["key_length"]]
                chunk = bytes(b ^ key[i % len(key)] for i, b in enumerate(chunk))
            work[target : target + length] = chunk
        elif kind == "fill":
            work[v("at") : v("at") + v("length")] = bytes([op["byte"]]) * v("length")
        elif kind in ("write_u16", "write_u32"):
            width = 2 if kind == "write_u16" else 4
            work[v("at") : v("at") + width] = v("value").to_bytes(width, "little")
        elif kind == "truncate":
            del work[v("length") :]
        elif kind == "cut":
            del work[v("at") : v("at") + v("length")]
        else:
            raise RecipeError(f"unknown op {kind}")
    return bytes(work)
