"""Build, read and apply signed definition packages (full and incremental).

A full package is MAGIC + MANI (manifest: sha256 and size of HEAD and BODY) + SIGN (Ed25519
over the manifest) + HEAD (the envelope) + BODY (the canonical signature list). An
incremental package carries the diff plus the target full set's manifest, signature and
envelope: applying it must rebuild a BODY whose checksum the vendor signed, so a host ends up
with the vendor's full package byte for byte without holding the signing key.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dis_core.definitions import canonical, container
from dis_core.definitions.errors import unpackage
from dis_core.definitions.keys import SigningKey, VerifyKey
from dis_core.definitions.model import (
    DefinitionSet,
    Signature,
    check_sequence,
    check_signatures,
    payload_bytes,
    sha256,
    signature_from_dict,
    signatures_from_list,
)

SIGNED_PREFIX = b"DISDEF1 manifest\n"
HEAD_FIELDS = frozenset(
    {"format", "kind", "sequence", "certified", "produced", "published", "certified_at"}
)
DIFF_FIELDS = frozenset({"format", "base", "base_checksum", "sequence", "removed", "added"})


def _member(data: bytes) -> dict[str, Any]:
    return {"sha256": sha256(data), "size": len(data)}


def full_manifest(sequence: int, head: bytes, body: bytes) -> bytes:
    return canonical.dumps(
        {
            "format": 1,
            "kind": "full",
            "sequence": sequence,
            "members": {"head": _member(head), "body": _member(body)},
        }
    )


def full_package(definitions: DefinitionSet) -> bytes:
    """The signed full package of a full set that carries its vendor signature."""
    if definitions.kind != "full" or not definitions.signature:
        raise ValueError("only a signed full set has a full package")
    head = canonical.dumps(definitions.header())
    body = definitions.payload()
    manifest = full_manifest(definitions.sequence, head, body)
    members = [
        (b"MANI", manifest),
        (b"SIGN", definitions.signature),
        (b"HEAD", head),
        (b"BODY", body),
    ]
    return container.pack(members)


def build_full(
    sequence: int,
    signatures: list[Signature],
    *,
    certified: bool,
    produced: datetime,
    key: SigningKey,
    published: datetime | None = None,
    certified_at: datetime | None = None,
) -> bytes:
    """Signed package of a full set; ValueError when a signature or field is malformed."""
    check_sequence(sequence, "sequence")
    check_signatures(signatures, sequence)
    definitions = DefinitionSet(
        sequence=sequence, kind="full", base=None, certified=bool(certified), produced=produced,
        published=published, certified_at=certified_at, signatures=sorted(signatures, key=lambda s: s.id),
        removed=[], result_checksum="",
    )  # fmt: skip
    head = canonical.dumps(definitions.header())
    definitions.signature = key.sign(
        SIGNED_PREFIX + full_manifest(sequence, head, definitions.payload())
    )
    return full_package(definitions)


def _changed(base: DefinitionSet, target: DefinitionSet) -> tuple[list[str], list[Signature]]:
    old = base.by_id()
    new = target.by_id()
    removed = sorted(i for i, sig in old.items() if new.get(i) != sig)
    added = sorted((sig for i, sig in new.items() if old.get(i) != sig), key=lambda s: s.id)
    return removed, added


def build_incremental(
    base: DefinitionSet, target: DefinitionSet, key: SigningKey | None = None
) -> bytes:
    """Package turning full set ``base`` into full set ``target``.

    With ``key`` the target manifest is signed here; without it ``target.signature`` (the
    vendor signature read from its published package) is used, so a read-only server
    (the gateway) can make increments between any two published sets.
    """
    if base.kind != "full" or target.kind != "full" or base.sequence >= target.sequence:
        raise ValueError("an increment goes from an older full set to a newer full set")
    head = canonical.dumps(target.header())
    manifest = full_manifest(target.sequence, head, target.payload())
    signature = key.sign(SIGNED_PREFIX + manifest) if key else target.signature
    if not signature:
        raise ValueError("target set carries no vendor signature and no key was given")
    removed, added = _changed(base, target)
    diff = canonical.dumps({
        "format": 1, "base": base.sequence, "base_checksum": sha256(base.payload()),
        "sequence": target.sequence, "removed": removed, "added": [s.to_dict() for s in added],
    })  # fmt: skip
    members = [(b"TMAN", manifest), (b"TSIG", signature), (b"THED", head), (b"DIFF", diff)]
    own = canonical.dumps({
        "format": 1, "kind": "incremental", "sequence": target.sequence, "base": base.sequence,
        "members": {tag.decode().lower(): _member(data) for tag, data in members},
    })  # fmt: skip
    return container.pack([(b"MANI", own), *members])


def read_package(data: bytes, verify_key: VerifyKey) -> DefinitionSet:
    """Verify and parse a package; DefinitionError(unpackage) on any damage or wrong key."""
    members = container.unpack(data)
    if container.is_full(members):
        return _read_full(members, verify_key)
    return _read_incremental(members, verify_key)


def _verified_manifest(manifest: bytes, signature: bytes, verify_key: VerifyKey) -> dict[str, Any]:
    if len(signature) != 64 or not verify_key.verify(signature, SIGNED_PREFIX + manifest):
        raise unpackage("signature does not verify (tampered package or wrong key)")
    value = canonical.loads(manifest, "manifest")
    expected = {"format", "kind", "sequence", "members"}
    if (
        not isinstance(value, dict)
        or set(value) != expected
        or value["kind"] != "full"
        or value["format"] != 1
    ):
        raise unpackage("manifest has an unexpected shape")
    return value


def _check_members(manifest: dict[str, Any], members: dict[str, bytes]) -> None:
    listed = manifest.get("members")
    if not isinstance(listed, dict) or set(listed) != set(members):
        raise unpackage("manifest does not list exactly the package members")
    for name, data in members.items():
        if listed[name] != _member(data):
            raise unpackage(f"checksum of member {name} does not match the manifest")


def check_full_package(data: bytes, verify_key: VerifyKey) -> None:
    """Cheap authenticity check of a full package (signature and member checksums only)."""
    members = container.unpack(data)
    if not container.is_full(members):
        raise unpackage("not a full package")
    manifest = _verified_manifest(members[b"MANI"], members[b"SIGN"], verify_key)
    _check_members(manifest, {"head": members[b"HEAD"], "body": members[b"BODY"]})


def _read_full(members: dict[bytes, bytes], verify_key: VerifyKey) -> DefinitionSet:
    manifest = _verified_manifest(members[b"MANI"], members[b"SIGN"], verify_key)
    _check_members(manifest, {"head": members[b"HEAD"], "body": members[b"BODY"]})
    definitions = _parse_head(members[b"HEAD"], manifest["sequence"])
    body = canonical.loads(members[b"BODY"], "signature list")
    if not isinstance(body, dict) or set(body) != {"signatures"}:
        raise unpackage("signature list has an unexpected shape")
    definitions.signatures = signatures_from_list(body["signatures"], definitions.sequence)
    definitions.remember_payload(members[b"BODY"])
    definitions.result_checksum = sha256(members[b"BODY"])
    definitions.signature = members[b"SIGN"]
    return definitions


def _parse_head(head: bytes, sequence: Any) -> DefinitionSet:
    value = canonical.loads(head, "envelope")
    if (
        not isinstance(value, dict)
        or set(value) != HEAD_FIELDS
        or value["format"] != 1
        or value["kind"] != "full"
    ):
        raise unpackage("envelope has an unexpected shape")
    if value["sequence"] != sequence or not isinstance(value["certified"], bool):
        raise unpackage("envelope does not agree with the manifest")
    try:
        check_sequence(sequence, "sequence")
    except ValueError as exc:
        raise unpackage(str(exc)) from None
    produced = canonical.parse_time(value["produced"], "produced")
    if produced is None:
        raise unpackage("envelope lacks the production time")
    return DefinitionSet(
        sequence=sequence, kind="full", base=None, certified=value["certified"], produced=produced,
        published=canonical.parse_time(value["published"], "published"),
        certified_at=canonical.parse_time(value["certified_at"], "certified_at"),
        signatures=[], removed=[], result_checksum="",
    )  # fmt: skip


def _read_incremental(members: dict[bytes, bytes], verify_key: VerifyKey) -> DefinitionSet:
    own = canonical.loads(members[b"MANI"], "manifest")
    if not isinstance(own, dict) or set(own) != {"format", "kind", "sequence", "base", "members"}:
        raise unpackage("incremental manifest has an unexpected shape")
    if own["format"] != 1 or own["kind"] != "incremental":
        raise unpackage("incremental manifest has an unexpected format or kind")
    named = {tag.decode().lower(): data for tag, data in members.items() if tag != b"MANI"}
    _check_members(own, named)
    target = _verified_manifest(members[b"TMAN"], members[b"TSIG"], verify_key)
    _check_target_head(target, members[b"THED"])
    definitions = _parse_head(members[b"THED"], target["sequence"])
    _apply_diff_fields(definitions, members[b"DIFF"], own)
    definitions.result_checksum = target["members"]["body"]["sha256"]
    definitions.signature = members[b"TSIG"]
    return definitions


def _check_target_head(target: dict[str, Any], head: bytes) -> None:
    """The target BODY is not carried (the host rebuilds it); its head must match exactly."""
    listed = target.get("members")
    if (
        not isinstance(listed, dict)
        or set(listed) != {"head", "body"}
        or listed["head"] != _member(head)
    ):
        raise unpackage("target envelope does not match the signed target manifest")
    body = listed["body"]
    if (
        not isinstance(body, dict)
        or set(body) != {"sha256", "size"}
        or not isinstance(body["sha256"], str)
    ):
        raise unpackage("signed target manifest is malformed")


def _apply_diff_fields(definitions: DefinitionSet, diff_bytes: bytes, own: dict[str, Any]) -> None:
    diff = canonical.loads(diff_bytes, "diff")
    if not isinstance(diff, dict) or set(diff) != DIFF_FIELDS or diff["format"] != 1:
        raise unpackage("diff has an unexpected shape")
    if (
        diff["sequence"] != definitions.sequence
        or own["sequence"] != definitions.sequence
        or own["base"] != diff["base"]
    ):
        raise unpackage("diff does not agree with the manifests")
    base = diff["base"]
    if not isinstance(base, int) or isinstance(base, bool) or not 1 <= base < definitions.sequence:
        raise unpackage("base sequence is not below the target sequence")
    removed = diff["removed"]
    if (
        not isinstance(removed, list)
        or not all(isinstance(i, str) for i in removed)
        or removed != sorted(set(removed))
    ):
        raise unpackage("removed list is malformed")
    added = [signature_from_dict(item, definitions.sequence) for item in _list(diff["added"])]
    if [s.id for s in added] != sorted({s.id for s in added}):
        raise unpackage("added signatures are not in canonical order")
    if not isinstance(diff["base_checksum"], str) or len(diff["base_checksum"]) != 64:
        raise unpackage("base checksum is malformed")
    definitions.kind, definitions.base, definitions.base_checksum = (
        "incremental",
        base,
        diff["base_checksum"],
    )
    definitions.removed, definitions.signatures = removed, added


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise unpackage("expected a list")
    return value


def apply_incremental(base: DefinitionSet, incr: DefinitionSet) -> DefinitionSet:
    """The full set ``incr`` produces from ``base``; DefinitionError(unpackage) when the base
    is not the one the increment was made for or the result is not the signed target set."""
    if base.kind != "full" or incr.kind != "incremental":
        raise unpackage("apply needs a full base set and an incremental set")
    if incr.base != base.sequence or incr.base_checksum != base.result_checksum:
        raise unpackage(
            f"increment is for base {incr.base}, not for the installed set {base.sequence}"
        )
    current = base.by_id()
    for signature_id in incr.removed:
        if current.pop(signature_id, None) is None:
            raise unpackage(f"increment removes {signature_id}, which the base set lacks")
    for sig in incr.signatures:
        if sig.id in current:
            raise unpackage(f"increment adds {sig.id}, which the base set already has")
        current[sig.id] = sig
    signatures = sorted(current.values(), key=lambda s: s.id)
    payload = payload_bytes(signatures)
    if sha256(payload) != incr.result_checksum:
        raise unpackage("the applied increment does not produce the signed target set")
    result = DefinitionSet(
        sequence=incr.sequence, kind="full", base=None, certified=incr.certified, produced=incr.produced,
        published=incr.published, certified_at=incr.certified_at, signatures=signatures, removed=[],
        result_checksum=incr.result_checksum, signature=incr.signature,
    )  # fmt: skip
    result.remember_payload(payload)
    return result
