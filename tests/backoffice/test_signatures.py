"""Signature extraction, the n-gram estimate and repair generation, on their own."""

from __future__ import annotations

import random
import struct

import pytest

from backoffice.analysis import extraction, repairgen
from backoffice.analysis.ngram import NgramModel
from backoffice.analysis.repairgen import NoRepair, Pair, find_expression
from backoffice.services import Goodware
from dis_core.definitions.recipe import apply_binary_recipe


def test_ngram_model_ranks_common_bytes_above_rare_ones(goodware: Goodware) -> None:
    model = goodware.model
    zeros = model.log10_probability(bytes(16))
    rng = random.Random(5)
    rare = model.log10_probability(bytes(rng.randrange(256) for _ in range(16)))
    assert zeros > -6 > rare


def test_ngram_model_round_trips_through_its_cache(tmp_path, goodware: Goodware) -> None:  # type: ignore[no-untyped-def]
    model = NgramModel.build([b"abcdefgh" * 1000, bytes(range(256)) * 40], bucket_bits=12)
    model.save(tmp_path / "m.npz")
    again = NgramModel.load(tmp_path / "m.npz")
    for probe in (b"abcdefgh", b"hgfedcba", bytes(range(10, 30))):
        assert again.log10_probability(probe) == pytest.approx(model.log10_probability(probe))
    assert model.log10_probability(b"abcdefghabcd") > model.log10_probability(b"hgfedcbahgfe")


def _infect(host: bytes, body: bytes, key: bytes) -> bytes:
    """A toy appender: body, then [length][header XOR key], entry field patched."""
    header = bytes(b ^ key[i % len(key)] for i, b in enumerate(host[:64]))
    patched = bytearray(host)
    patched[8:12] = struct.pack("<I", len(host))
    return bytes(patched) + body + key + struct.pack("<I", len(host)) + header


def test_invariant_regions_keep_only_what_every_infection_shares() -> None:
    rng = random.Random(1)
    body = b"VIRUS-BODY-" + bytes(rng.randrange(256) for _ in range(60))
    hosts = [bytes(rng.randrange(256) for _ in range(rng.randrange(300, 900))) for _ in range(4)]
    infected = [_infect(h, body, bytes(rng.randrange(1, 256) for _ in range(8))) for h in hosts]
    regions = extraction.invariant_regions(infected, hosts, infected[-1])
    found = [infected[0][a:b] for a, b in regions]
    assert any(body in part for part in found)
    assert all(part in body for part in found)  # the per-copy key and header never qualify


def test_repair_generation_recovers_xor_kept_headers_and_lengths() -> None:
    rng = random.Random(2)
    body = b"VIRUS-BODY-" + bytes(rng.randrange(256) for _ in range(60))
    pairs = []
    for _ in range(4):
        host = bytes(rng.randrange(256) for _ in range(rng.randrange(300, 900)))
        infected = _infect(host, body, bytes(rng.randrange(1, 256) for _ in range(8)))
        pairs.append(Pair(host, infected, infected.find(body)))
    recipe = repairgen.generate(pairs)
    assert recipe["ops"][0]["op"] == "copy_xor" and recipe["ops"][0]["key_length"] == 8
    for pair in pairs:
        assert apply_binary_recipe(pair.infected, recipe, pair.match) == pair.original


def test_overwritten_hosts_have_no_repair() -> None:
    rng = random.Random(3)
    virus = b"OVERWRITE" + bytes(rng.randrange(256) for _ in range(200))
    pairs = []
    for _ in range(3):
        host = bytes(rng.randrange(256) for _ in range(600))
        infected = virus + host[len(virus) :]
        pairs.append(Pair(host, infected, 0))
    with pytest.raises(NoRepair) as caught:
        repairgen.generate(pairs)
    assert caught.value.destroyed


def test_find_expression_prefers_values_the_file_keeps() -> None:
    rng = random.Random(4)
    pairs, targets = [], []
    for _ in range(3):
        target = rng.randrange(1000, 100000)
        data = (
            bytes(rng.randrange(256) for _ in range(rng.randrange(30, 80)))
            + b"ANCHOR"
            + bytes(10)
            + struct.pack("<I", target)
            + bytes(30)
        )
        pairs.append(Pair(b"", data, data.find(b"ANCHOR")))
        targets.append(target)
    assert find_expression(targets, pairs) == {"u32": {"match": 16}}
    assert find_expression([p.match + 3 for p in pairs], pairs) == {"match": 3}
    assert find_expression([7, 7, 7], pairs) == 7


def test_candidates_prefer_text_a_family_carries(goodware: Goodware) -> None:
    code = bytes([0x10, 1, 0, 0, 0, 0, 0x10, 2, 0, 0, 0x40, 0, 0x30, 1, 1, 2]) * 3
    text = b"\x20\x0f\x0e\x00Sim.Example.A!\x01"
    reference = code + text + code
    ranked = extraction.candidates(reference, [(0, len(reference))], goodware.model, -10.0)
    assert ranked and b"Sim.Exam" in ranked[0].data


def test_static_unpacking_reads_what_an_encrypted_program_hides() -> None:
    from backoffice.analysis.names import virus_name
    from backoffice.analysis.unpacking import unpacked
    from simworld.binaries import infected_host
    from simworld.emulator import find_program

    hidden = find_program(infected_host("polymorphic", 3))
    assert hidden is not None and b"Sim.Poly.A" not in hidden
    assert b"Sim.Poly.A" in (unpacked(hidden) or b"")
    assert virus_name(unpacked(hidden) or b"", "binary", b"") == "Sim.Poly.A"
    plain = find_program(infected_host("appender_ep", 3))
    assert unpacked(plain) == plain
