"""The fixture generator behind ``dis fixtures generate``: samples of every family + manifest.json.

The manifest records, for QA and tests only, each file's family and the outcome the whole
system is expected to reach. No analysis code may read it.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dis_core.formats.documents import write_document
from dis_core.vocabulary.parts import Part
from simworld import binaries, datafiles
from simworld.macros import MACRO_FAMILIES

GENERATOR = "dis fixtures generate"

INFECTING = (
    "appender_ep",
    "prepender",
    "section_adder",
    "cavity",
    "polymorphic",
    "date_trigger",
    "size_trigger",
    "resident",
)
THREATS = ("worm", "trojan")
NON_VIRAL = (
    "clean_simvm",
    "clean_pe",
    "data",
    "encrypted",
    "eicar",
    "fp_bait",
    "corrupted",
    "known",
)
FAMILIES: tuple[str, ...] = (*INFECTING, "overwriter", *THREATS, *MACRO_FAMILIES, *NON_VIRAL)
KNOWN_FAMILIES = ("known_oldie", "known_jolt")


class GeneratorError(ValueError):
    """Bad generator input (unknown family, bad variant count)."""


@dataclass
class Sample:
    file: str  # relative path inside the output folder
    data: bytes
    family: str
    kind: str  # binary | macro | data | archive | document | test
    expected: dict[str, Any]


def _expected(
    state: str | None,
    status: str,
    virus_family: str | None,
    repairable: bool,
    settled_by: Part = Part.BACKOFFICE,
) -> dict[str, Any]:
    return {
        "state": state,
        "status": status,
        "virus_family": virus_family,
        "repairable": repairable,
        "settled_by": settled_by.value,
        "protocol_error": None,
    }


def _binary_sample(family: str, index: int, data: bytes, expected: dict[str, Any]) -> Sample:
    """A program sample under binary/, named after its family and index."""
    return Sample(f"binary/{family}-{index:04d}.exe", data, family, "binary", expected)


def _sample_seed(seed: int, family: str, variant: int) -> int:
    digest = hashlib.sha256(f"{seed}:{family}:{variant}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


def _bits(variant: int) -> int:
    """Programs that are their own PE: even variants PE32, odd variants PE32+."""
    return 64 if variant % 2 else 32


def _infecting(family: str, seed: int, variant: int, index: int) -> Sample:
    data = binaries.infected_host(family, seed, variant)
    return _binary_sample(family, index, data, _expected("infected", "installed", family, True))


def _overwriter(family: str, seed: int, variant: int, index: int) -> Sample:
    data = binaries.infected_host(family, seed, variant)
    return _binary_sample(family, index, data, _expected("norepair", "installed", family, False))


def _threat(family: str, seed: int, variant: int, index: int) -> Sample:
    data = binaries.program_sample(family, seed, _bits(variant))
    return _binary_sample(
        family, index, data, _expected("unsubmittable", "installed", family, False)
    )


# odd variants of these families come as OLE (Word 97-2003 / Excel 97-2003) documents
OLE_VARIANT_KINDS = {"macro_autoopen": "doc", "macro_excel": "xls"}


def _macro(family: str, seed: int, variant: int, index: int) -> Sample:
    kind, module, source = MACRO_FAMILIES[family]
    if variant % 2 == 1 and family in OLE_VARIANT_KINDS:
        kind = OLE_VARIANT_KINDS[family]
    rng = random.Random(seed)
    body = " ".join(
        rng.choice(["invoice", "agenda", "minutes", "draft", "plan", "figures"]) for _ in range(20)
    )
    data = write_document(kind, [(module, source)], body_text=body, seed=seed)
    return Sample(
        f"documents/{family}-{index:04d}.{kind}",
        data,
        family,
        "macro",
        _expected("infected", "installed", family, True),
    )


def _clean_simvm(family: str, seed: int, variant: int, index: int) -> Sample:
    data = binaries.program_sample("clean_simvm", seed, _bits(variant))
    return _binary_sample(family, index, data, _expected("uninfected", "unneeded", None, False))


def _fp_bait(family: str, seed: int, variant: int, index: int) -> Sample:
    data = binaries.program_sample("fp_bait", seed, _bits(variant))
    return _binary_sample(family, index, data, _expected("misfired", "installed", None, False))


def _corrupted(family: str, seed: int, variant: int, index: int) -> Sample:
    data = binaries.damaged(binaries.infected_host("appender_ep", seed, variant), seed)
    return _binary_sample(family, index, data, _expected("uninfected", "unneeded", None, False))


def _known(family: str, seed: int, variant: int, index: int) -> Sample:
    name = KNOWN_FAMILIES[variant % len(KNOWN_FAMILIES)]
    data = binaries.infected_host(name, seed, variant)
    return _binary_sample(
        family, index, data, _expected(None, "installed", name, True, Part.QUARANTINE_SERVER)
    )


def _data(family: str, seed: int, variant: int, index: int) -> Sample:
    if variant % 2 == 0:
        return Sample(
            f"data/{family}-{index:04d}.png",
            datafiles.png_image(seed),
            family,
            "data",
            _expected("uninfectable", "unneeded", None, False),
        )
    return Sample(
        f"data/{family}-{index:04d}.wav",
        datafiles.wav_sound(seed),
        family,
        "data",
        _expected("uninfectable", "unneeded", None, False),
    )


def _encrypted(family: str, seed: int, variant: int, index: int) -> Sample:
    expected = _expected("encrypted", "unneeded", None, False)
    rng = random.Random(seed)
    if variant % 2 == 0:
        inner = binaries.infected_host(
            "appender_ep", seed, variant
        )  # what hides inside does not matter
        data = datafiles.encrypted_zip([("setup.exe", inner)], datafiles.ARCHIVE_PASSWORD, seed)
        return Sample(f"archives/{family}-{index:04d}.zip", data, family, "archive", expected)
    words = " ".join("".join(rng.choice("abcdefghijklmnop") for _ in range(6)) for _ in range(2500))
    plain = write_document("docm", [], body_text=words, seed=seed)
    return Sample(
        f"documents/{family}-{index:04d}.docx",
        datafiles.encrypted_document(plain, datafiles.ARCHIVE_PASSWORD, seed),
        family,
        "document",
        expected,
    )


def _eicar(family: str, seed: int, variant: int, index: int) -> Sample:
    return Sample(
        f"data/{family}-{index:04d}.com",
        datafiles.eicar_file(),
        family,
        "test",
        _expected("delete", "installed", "eicar", False, Part.GATEWAY),
    )


def _clean_pe(family: str, seed: int, variant: int, index: int) -> Sample:
    found = python_package_pe_files()
    if not found:
        raise GeneratorError("no PE files found in the installed pip/setuptools packages")
    path = found[(seed + variant) % len(found)]
    return Sample(
        f"clean/{family}-{index:04d}-{path.name}",
        path.read_bytes(),
        family,
        "binary",
        _expected("nodetect", "unneeded", None, False),
    )


def python_package_pe_files() -> list[Path]:
    """Real Windows programs shipped inside installed Python packages (pip, setuptools)."""
    import importlib.util

    found: list[Path] = []
    for package in ("pip", "setuptools"):
        spec = importlib.util.find_spec(package)
        if spec and spec.origin:
            found.extend(
                p for p in Path(spec.origin).parent.rglob("*.exe") if p.read_bytes()[:2] == b"MZ"
            )
    return sorted(found)


BUILDERS: dict[str, Callable[[str, int, int, int], Sample]] = {
    **dict.fromkeys(INFECTING, _infecting),
    "overwriter": _overwriter,
    **dict.fromkeys(THREATS, _threat),
    **dict.fromkeys(MACRO_FAMILIES, _macro),
    "clean_simvm": _clean_simvm,
    "clean_pe": _clean_pe,
    "data": _data,
    "encrypted": _encrypted,
    "eicar": _eicar,
    "fp_bait": _fp_bait,
    "corrupted": _corrupted,
    "known": _known,
}


def generate_samples(
    seed: int, families: list[str] | None = None, variants: int = 1
) -> list[Sample]:
    """Every requested family ``variants`` times, in a fixed order; pure function of the inputs."""
    chosen = list(families) if families else list(FAMILIES)
    unknown = [f for f in chosen if f not in BUILDERS]
    if unknown:
        raise GeneratorError(
            f"unknown families: {', '.join(unknown)}; known: {', '.join(FAMILIES)}"
        )
    if variants < 1:
        raise GeneratorError("variants must be at least 1")
    return [build_sample(family, seed, variant) for family in chosen for variant in range(variants)]


def build_sample(family: str, seed: int, variant: int) -> Sample:
    """Variant ``variant`` (0-based) of ``family`` for the corpus seed ``seed``."""
    return BUILDERS[family](family, _sample_seed(seed, family, variant), variant, variant + 1)


def manifest(seed: int, samples: list[Sample]) -> dict[str, Any]:
    entries = [
        {
            "file": s.file,
            "sha256": hashlib.sha256(s.data).hexdigest(),
            "family": s.family,
            "kind": s.kind,
            "expected": s.expected,
        }
        for s in samples
    ]
    return {"seed": seed, "generator": GENERATOR, "samples": entries}


def write_corpus(
    out: Path, seed: int, families: list[str] | None = None, variants: int = 1
) -> dict[str, Any]:
    """Write the samples and manifest.json under ``out``; returns the manifest."""
    samples = generate_samples(seed, families, variants)
    for sample in samples:
        target = out / sample.file
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(sample.data)
    document = manifest(seed, samples)
    (out / "manifest.json").write_text(json.dumps(document, indent=2) + "\n")
    return document
