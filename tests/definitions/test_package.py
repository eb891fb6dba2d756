"""Signing, tampering, canonical form, increments byte for byte."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from dis_core.definitions import (
    DefinitionError,
    SigningKey,
    apply_incremental,
    build_full,
    build_incremental,
    full_package,
    load_or_create_signing_key,
    read_package,
)
from dis_core.definitions.model import payload_bytes, sha256
from dis_core.vocabulary.errors import SampleError

from .helpers import PRODUCED, binary_signature, full_set, hash_signature, loaded


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return SigningKey.generate()


def test_full_package_round_trip(key: SigningKey) -> None:
    sigs = [binary_signature(2), binary_signature(1), hash_signature(3, "ab" * 32)]
    package = build_full(4, sigs, certified=True, produced=PRODUCED, key=key, certified_at=PRODUCED)
    got = read_package(package, key.verify_key())
    assert (got.sequence, got.kind, got.base, got.certified) == (4, "full", None, True)
    assert got.produced == PRODUCED and got.certified_at == PRODUCED and got.published is None
    assert [s.id for s in got.signatures] == ["S000001", "S000002", "S000003"]
    assert got.signatures[2] == sigs[2]
    assert got.result_checksum == sha256(payload_bytes(sigs))
    assert full_package(got) == package


def test_build_is_deterministic(key: SigningKey) -> None:
    sigs = [binary_signature(i) for i in range(5)]
    assert full_set(key, 3, sigs) == full_set(key, 3, list(reversed(sigs)))


def test_wrong_key_is_refused(key: SigningKey) -> None:
    package = full_set(key, 1, [binary_signature(1)])
    with pytest.raises(DefinitionError) as caught:
        read_package(package, SigningKey.generate().verify_key())
    assert caught.value.error is SampleError.UNPACKAGE


def _flipped_everywhere(package: bytes, key: SigningKey) -> None:
    # Every byte of a small package, with two different flips each.
    for position in range(len(package)):
        for mask in (0x01, 0xFF):
            damaged = bytearray(package)
            damaged[position] ^= mask
            with pytest.raises(DefinitionError) as caught:
                read_package(bytes(damaged), key.verify_key())
            assert caught.value.error is SampleError.UNPACKAGE, position


def test_any_flipped_byte_in_a_full_package_is_refused(key: SigningKey) -> None:
    package = full_set(key, 2, [binary_signature(1), hash_signature(2, "cd" * 32)])
    _flipped_everywhere(package, key)


def test_any_flipped_byte_in_an_increment_is_refused_or_fails_to_apply(key: SigningKey) -> None:
    base = loaded(key, full_set(key, 1, [binary_signature(1), binary_signature(2)]))
    target = loaded(key, full_set(key, 3, [binary_signature(2), binary_signature(3, 3)]))
    package = build_incremental(base, target)
    for position in range(len(package)):
        damaged = bytearray(package)
        damaged[position] ^= 0x20
        with pytest.raises(DefinitionError) as caught:
            apply_incremental(base, read_package(bytes(damaged), key.verify_key()))
        assert caught.value.error is SampleError.UNPACKAGE, position


def test_truncation_extension_and_garbage_are_refused(key: SigningKey) -> None:
    package = full_set(key, 1, [binary_signature(1)])
    rng = random.Random(4)
    bad = [
        b"",
        package[:-1],
        package + b"\x00",
        package[:20],
        bytes(rng.randrange(256) for _ in range(300)),
    ]
    bad.append(package.replace(b"DISDEF1", b"DISDEF2"))
    for data in bad:
        with pytest.raises(DefinitionError):
            read_package(data, key.verify_key())


def test_signed_but_malformed_content_is_refused(key: SigningKey) -> None:
    # The vendor key signs a manifest whose members are fine but a signature is invalid:
    # validation at build time refuses it, so forge it through the low-level writer.
    from dis_core.definitions import canonical, container
    from dis_core.definitions.package import SIGNED_PREFIX, full_manifest

    bad_sig = binary_signature(1).to_dict() | {"kind": "script"}
    body = canonical.dumps({"signatures": [bad_sig]})
    head = canonical.dumps(
        {
            "format": 1,
            "kind": "full",
            "sequence": 1,
            "certified": False,
            "produced": "2026-11-27T01:00:00.000000Z",
            "published": None,
            "certified_at": None,
        }
    )
    manifest = full_manifest(1, head, body)
    package = container.pack(
        [
            (b"MANI", manifest),
            (b"SIGN", key.sign(SIGNED_PREFIX + manifest)),
            (b"HEAD", head),
            (b"BODY", body),
        ]
    )
    with pytest.raises(DefinitionError, match="kind must be"):
        read_package(package, key.verify_key())


def test_increments_applied_in_order_equal_the_full_set_byte_for_byte(key: SigningKey) -> None:
    generations = [
        [binary_signature(i) for i in range(1, 6)],
        [binary_signature(i) for i in range(2, 9)] + [hash_signature(50, "ef" * 32, 4)],
        [binary_signature(i) for i in range(2, 12) if i != 5]
        + [binary_signature(3, 7, text=b"changed pattern 3")],
    ]
    generations[2] = [s for s in generations[2] if not (s.id == "S000003" and s.added_in == 1)]
    sequences = [1, 4, 7]
    packages = [
        full_set(key, seq, sigs, certified=seq == 7)
        for seq, sigs in zip(sequences, generations, strict=True)
    ]
    sets = [loaded(key, p) for p in packages]
    current = sets[0]
    for step in (1, 2):
        increment = read_package(build_incremental(sets[step - 1], sets[step]), key.verify_key())
        assert increment.kind == "incremental" and increment.base == sequences[step - 1]
        current = apply_incremental(current, increment)
        assert full_package(current) == packages[step]
    skip = read_package(build_incremental(sets[0], sets[2]), key.verify_key())
    assert full_package(apply_incremental(sets[0], skip)) == packages[2]


def test_increment_carries_only_changes(key: SigningKey) -> None:
    base = loaded(key, full_set(key, 1, [binary_signature(i) for i in range(1, 50)]))
    target = loaded(key, full_set(key, 2, [binary_signature(i) for i in range(2, 51)]))
    increment = read_package(build_incremental(base, target), key.verify_key())
    assert increment.removed == ["S000001"] and [s.id for s in increment.signatures] == ["S000050"]


def test_increment_on_the_wrong_base_is_refused(key: SigningKey) -> None:
    one = loaded(key, full_set(key, 1, [binary_signature(1)]))
    two = loaded(key, full_set(key, 2, [binary_signature(1), binary_signature(2, 2)]))
    three = loaded(key, full_set(key, 3, [binary_signature(3, 3)]))
    increment = read_package(build_incremental(two, three), key.verify_key())
    with pytest.raises(DefinitionError, match="for base 2"):
        apply_incremental(one, increment)
    # Same sequence number but other content: the base checksum catches it.
    other_two = loaded(key, full_set(key, 2, [binary_signature(9, 2)]))
    with pytest.raises(DefinitionError):
        apply_incremental(other_two, increment)


def test_forged_increment_content_fails_the_signed_result(key: SigningKey) -> None:
    """Someone rebuilds the increment's own (unsigned) manifest after changing a signature."""
    from dis_core.definitions import canonical, container

    base = loaded(key, full_set(key, 1, [binary_signature(1)]))
    target = loaded(key, full_set(key, 2, [binary_signature(1), binary_signature(2, 2)]))
    members = container.unpack(build_incremental(base, target))
    diff = canonical.loads(members[b"DIFF"], "diff")
    diff["added"][0]["virus_name"] = "Forged.Name"
    members[b"DIFF"] = canonical.dumps(diff)
    own = canonical.loads(members[b"MANI"], "manifest")
    own["members"]["diff"] = {"sha256": sha256(members[b"DIFF"]), "size": len(members[b"DIFF"])}
    members[b"MANI"] = canonical.dumps(own)
    forged = container.pack(list(members.items()))
    increment = read_package(forged, key.verify_key())
    with pytest.raises(DefinitionError, match="signed target"):
        apply_incremental(base, increment)


def test_invalid_signatures_are_refused_at_build(key: SigningKey) -> None:
    good = binary_signature(1)
    bad_cases = [
        [good, good],
        [
            good,
            binary_signature(2).__class__(**(binary_signature(2).to_dict() | {"rule": good.rule})),
        ],
        [binary_signature(1, added_in=5)],
        [good.__class__(**(good.to_dict() | {"rule": 'include "/etc/passwd"\n' + good.rule}))],
        [
            good.__class__(
                **(good.to_dict() | {"repair": {"version": 1, "ops": [{"op": "explode"}]}})
            )
        ],
        [good.__class__(**(good.to_dict() | {"category": "nasty"}))],
    ]
    for signatures in bad_cases:
        with pytest.raises(ValueError):
            build_full(2, signatures, certified=False, produced=PRODUCED, key=key)


def test_naive_and_aware_times_are_the_same_instant(key: SigningKey) -> None:
    naive = (
        full_set(key, 1, [])
        if False
        else build_full(1, [], certified=False, produced=datetime(2026, 11, 27, 1), key=key)
    )
    aware = build_full(
        1, [], certified=False, produced=datetime(2026, 11, 27, 1, tzinfo=UTC), key=key
    )
    assert naive == aware


def test_key_files(tmp_path) -> None:  # noqa: ANN001
    key = load_or_create_signing_key(tmp_path / "keys")
    assert (tmp_path / "keys" / "signing.key").stat().st_mode & 0o777 == 0o600
    again = load_or_create_signing_key(tmp_path / "keys")
    assert again.public_key_bytes == key.public_key_bytes
    from dis_core.definitions import VerifyKey

    public = VerifyKey.load(tmp_path / "keys" / "signing.pub")
    assert public.public_key_bytes == key.public_key_bytes
    package = full_set(key, 1, [binary_signature(1)])
    assert read_package(package, public).sequence == 1


def test_payload_cache_notices_a_changed_signature_list(key: SigningKey) -> None:
    definitions = loaded(key, full_set(key, 2, [binary_signature(1), binary_signature(2)]))
    before = definitions.payload()
    definitions.signatures = [binary_signature(1), binary_signature(3)]
    assert (
        definitions.payload() == payload_bytes([binary_signature(1), binary_signature(3)]) != before
    )
    definitions.signatures.append(binary_signature(4))
    assert b"S000004" in definitions.payload()
