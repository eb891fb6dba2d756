"""Builders shared by the definitions tests: keys, signatures and a small PE-like host."""

from __future__ import annotations

import struct
from datetime import UTC, datetime
from typing import Any

from dis_core.definitions import Signature, SigningKey, build_full, read_package

PRODUCED = datetime(2026, 11, 27, 1, 0, 0, tzinfo=UTC)
MARKER = b"SIMVIRUS-BODY-7f3a91c2"


def binary_signature(
    number: int,
    added_in: int = 1,
    *,
    repair: dict[str, Any] | None = None,
    text: bytes | None = None,
) -> Signature:
    body = text if text is not None else f"pattern-{number:06d}-zq".encode()
    hexes = " ".join(f"{b:02X}" for b in body)
    rule = f"rule sig_S{number:06d}\n{{\n  strings:\n    $a = {{ {hexes} }}\n  condition:\n    $a\n}}\n"
    return Signature(
        id=f"S{number:06d}", virus_name=f"Sim.Test.{number}", kind="binary", rule=rule, repair=repair,
        added_in=added_in, family="test", category="virus",
    )  # fmt: skip


def hash_signature(number: int, digest: str, added_in: int = 1) -> Signature:
    rule = f'import "hash"\nrule sig_S{number:06d}\n{{\n  condition:\n    hash.sha256(0, filesize) == "{digest}"\n}}\n'
    return Signature(
        f"S{number:06d}", f"Sim.Hash.{number}", "hash", rule, None, added_in, family="hash"
    )


def macro_signature(number: int, text: str, added_in: int = 1) -> Signature:
    rule = f'rule sig_S{number:06d}\n{{\n  strings:\n    $a = "{text}"\n  condition:\n    $a\n}}\n'
    recipe = {"version": 1, "op": "remove_modules"}
    return Signature(
        f"S{number:06d}", f"Sim.Macro.{number}", "macro", rule, recipe, added_in, family="macro"
    )


def full_set(
    key: SigningKey, sequence: int, signatures: list[Signature], certified: bool = False
) -> bytes:
    return build_full(sequence, signatures, certified=certified, produced=PRODUCED, key=key)


def loaded(key: SigningKey, package: bytes):  # noqa: ANN201 - a DefinitionSet
    return read_package(package, key.verify_key())


# A simulated "appender with entry-point patch": the host is a tiny PE-like buffer whose
# entry point (u32 at 0x28) the virus replaced; the original entry point is stored at the
# virus body + 24; the virus body is appended at the end of the file.
HOST = b"MZ" + bytes(0x26) + struct.pack("<I", 0x1000) + bytes(0x40) + b"host code and data" * 20
VIRUS_BODY = MARKER + b"\x00\x00" + b"dec" + b"xyz"  # 24 bytes before the saved entry point


def infect(host: bytes) -> bytes:
    infected = bytearray(host)
    virus_at = len(host)
    infected[0x28:0x2C] = struct.pack("<I", 0x5000 + virus_at)
    return bytes(infected) + VIRUS_BODY[:24] + host[0x28:0x2C] + b"tail-of-virus"


APPENDER_RECIPE: dict[str, Any] = {
    "version": 1,
    "anchor": "$a",
    "ops": [
        {"op": "copy", "from": {"match": 24}, "to": 0x28, "length": 4},
        {"op": "truncate", "length": {"match": 0}},
    ],
}
