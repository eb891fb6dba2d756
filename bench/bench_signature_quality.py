"""Signature quality beside a yarGen-style generator (yarobot): detection of held-back variants
and false positives on real goodware, per family, from the same training samples.

    .venv/bin/python bench/bench_signature_quality.py [--held-back 6] [--record]
    .venv/bin/python bench/bench_signature_quality.py --quick

Training: one sample per virus family of the generator (infecting, overwriter, worm, trojan,
macro families), built with seed 11. The same files go to both generators:

- the back office (``backoffice.service.BackOffice``, in-process, real stages: classify,
  replicate on goats, invariant regions, n-gram scoring, exact goodware check, repair, build,
  unit test, publish); its signatures are the newest published definition set;
- yarobot 0.5.3 (PyPI; the yarGen approach: extract strings, score them against a goodware
  string database, write YARA rules), installed into a separate venv (``--peer-venv``, created
  on first use; not a project dependency), default options, its goodware database built with
  ``python -m yarobot.database create -R`` from copies of exactly the files the back office's
  goodware corpus holds.

Held back: ``--held-back`` variants per family built with other seeds (other hosts, other
keys, PE32 and PE32+), never shown to either generator. False positives: files of real
goodware matched by a family's rules, counted on (a) the back office's own goodware corpus
(the training goodware of both tools) and (b) goodware neither tool saw: every other file of
/work/shared/corpus, PE files in Python packages and ELF programs under /usr/bin up to
``--unseen-mb``.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yara
from common import emit, prepare_goodware, stop_on_sigterm, table

from simworld.generator import INFECTING, THREATS, Sample, build_sample
from simworld.macros import MACRO_FAMILIES

FAMILIES = (*INFECTING, "overwriter", *THREATS, *MACRO_FAMILIES)
TRAIN_SEED = 11
HELD_SEED = 500
PEER_PACKAGES = ["yarobot==0.5.3", "stringzz==0.4.3"]  # 0.4.5 changed an API yarobot 0.5.3 uses
MAX_FILE = 8 * 2**20


@dataclass
class Family:
    name: str
    training: Sample
    held_back: list[Sample]
    ours_made: str = "-"  # the back office's final state for the training sample
    ours_rules: set[str] = field(default_factory=set)
    peer_rules: set[str] = field(default_factory=set)
    ours_detected: int = 0
    peer_detected: int = 0
    ours_fp: dict[str, set[str]] = field(default_factory=dict)
    peer_fp: dict[str, set[str]] = field(default_factory=dict)


def families(names: Iterable[str], held: int) -> list[Family]:
    chosen = []
    for name in names:
        training = build_sample(name, TRAIN_SEED, 0)
        others = [build_sample(name, HELD_SEED + k, k % 2) for k in range(held)]
        chosen.append(Family(name, training, others))
    return chosen


# --- the back office -------------------------------------------------------------------------
def back_office_rules(
    fams: list[Family], root: Path, goodware_mb: int | None
) -> tuple[Callable[[bytes], set[str]], list[Path], float]:
    """Train the real back office; returns a scan function (signature ids), its goodware files, seconds."""
    from backoffice.link import BackOfficeLink
    from backoffice.service import BackOffice
    from dis_core.clock import ScaledClock
    from dis_core.config import load_config
    from dis_core.definitions import Scanner

    overrides: dict[str, dict[str, object]] = {
        "general": {"data_dir": str(root / "office")},
        "backoffice": {"workers": 2, "poll_interval_s": 0.05},
    }
    if goodware_mb is not None:
        overrides["backoffice"]["goodware_mb"] = goodware_mb
    config = load_config(environ={}, overrides=overrides)
    prepare_goodware(config, root / "office" / "backoffice" / "ngram")
    office = BackOffice(config, ScaledClock())
    office.start()
    try:
        started = time.perf_counter()
        link = BackOfficeLink(office.config, office.services.clock)
        cookies = {f"train-{f.name}": f for f in fams}
        for cookie, fam in cookies.items():
            data = fam.training.data
            link.import_sample(cookie, hashlib.sha256(data).hexdigest(), data, {})
        states = office.wait_final(list(cookies), 900)
        seconds = time.perf_counter() - started
        for cookie, fam in cookies.items():
            fam.ours_made = str(states.get(cookie))
        newest = office.services.newest_set()
        goodware = list(office.services.goodware.corpus.files)
    finally:
        office.stop()
    assert newest is not None, "the back office published nothing"
    scanner = Scanner(newest, config.definition_policy.engine)
    baseline = {s.id for s in newest.signatures if s.added_in <= 1}
    return (
        (lambda data: {d.signature_id for d in scanner.scan_bytes(data)} - baseline),
        goodware,
        seconds,
    )


# --- the peer --------------------------------------------------------------------------------
def ensure_peer(venv: Path) -> Path:
    """The peer's own venv with yarobot (created with pip the first time)."""
    tool = venv / "bin" / "yarobot"
    if not tool.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", *PEER_PACKAGES], check=True)
    return tool


def peer_rules(
    fams: list[Family], goodware: list[Path], root: Path, venv: Path
) -> tuple[Callable[[bytes], set[str]], float, float]:
    """yarobot's rules from the same training files and goodware; returns scan function and times."""
    tool = ensure_peer(venv)
    work = root / "peer"
    good, train = work / "goodware", work / "training"
    for folder in (good, train):
        folder.mkdir(parents=True)
    for index, path in enumerate(goodware):
        shutil.copyfile(path, good / f"{index:05d}-{path.name}")
    for fam in fams:  # yarobot reads only some file name endings; .exe and .tmp are among them
        suffix = ".exe" if fam.training.data[:2] == b"MZ" else ".tmp"
        (train / f"{fam.name}{suffix}").write_bytes(fam.training.data)
    python = str(venv / "bin" / "python")
    started = time.perf_counter()
    said = _peer_run(
        [python, "-m", "yarobot.database", "create", "-R", "-fs", "10", str(good)], work
    )
    db_s = time.perf_counter() - started
    print("  " + next((line for line in said.splitlines() if "database with" in line), said[-200:]))
    started = time.perf_counter()
    _peer_run([str(tool), str(train), "-g", str(work / "dbs"), "-o", str(work / "rules.yar")], work)
    gen_s = time.perf_counter() - started
    rules = yara.compile(filepath=str(work / "rules.yar"))
    return (lambda data: {m.rule for m in rules.match(data=data)}), db_s, gen_s


def _peer_run(command: list[str], cwd: Path) -> str:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:3])} failed: {done.stderr[-800:]}")
    return done.stdout


# --- goodware to test against ----------------------------------------------------------------
def unseen_goodware(training: list[Path], budget_mb: int) -> list[Path]:
    """Real goodware neither generator saw: the rest of the shared corpus, Python-package PEs,
    /usr/bin ELF programs (in that order, up to the budget)."""
    from backoffice.analysis.goodware import python_package_dirs, shared_corpus_dir

    seen = {p.resolve() for p in training}
    found: list[Path] = []
    budget = budget_mb * 2**20
    sources: list[tuple[list[Path], Callable[[bytes], bool]]] = [
        ([shared_corpus_dir()], lambda head: True),
        (python_package_dirs(), lambda head: head[:2] == b"MZ"),
        ([Path("/usr/bin")], lambda head: head[:4] == b"\x7fELF"),
    ]
    for roots, wanted in sources:
        for path in _files(roots):
            size = path.stat().st_size
            if path.resolve() in seen or size > budget or not wanted(_head(path)):
                continue
            found.append(path)
            budget -= size
    return found


def _files(roots: list[Path]) -> Iterable[Path]:
    for root in roots:
        for folder, _, names in sorted(os.walk(root)):
            for name in sorted(names):
                path = Path(folder) / name
                if path.is_file() and not path.is_symlink() and 0 < path.stat().st_size <= MAX_FILE:
                    yield path


def _head(path: Path) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(4)


# --- scoring ---------------------------------------------------------------------------------
def score(
    fams: list[Family],
    ours: Callable[[bytes], set[str]],
    peer: Callable[[bytes], set[str]],
    goodware: dict[str, list[Path]],
) -> None:
    for fam in fams:
        fam.ours_rules = ours(fam.training.data)
        fam.peer_rules = peer(fam.training.data)
        fam.ours_detected = sum(bool(ours(s.data) & fam.ours_rules) for s in fam.held_back)
        fam.peer_detected = sum(bool(peer(s.data) & fam.peer_rules) for s in fam.held_back)
    for label, paths in goodware.items():
        for path in paths:
            data = path.read_bytes()
            hits_ours, hits_peer = ours(data), peer(data)
            for fam in fams:
                if hits_ours & fam.ours_rules:
                    fam.ours_fp.setdefault(label, set()).add(path.name)
                if hits_peer & fam.peer_rules:
                    fam.peer_fp.setdefault(label, set()).add(path.name)


def report(
    fams: list[Family], goodware: dict[str, list[Path]], timings: dict[str, float], held: int
) -> str:
    labels = list(goodware)
    rows = []
    for fam in fams:
        rows.append([
            fam.name, fam.ours_made, f"{fam.ours_detected}/{held}" if fam.ours_rules else "no rule",
            f"{fam.peer_detected}/{held}" if fam.peer_rules else "no rule",
            *[f"{len(fam.ours_fp.get(label, ()))} / {len(fam.peer_fp.get(label, ()))}" for label in labels],
        ])  # fmt: skip
    total_ours = sum(f.ours_detected for f in fams)
    total_peer = sum(f.peer_detected for f in fams)
    rows.append([
        "all families", "", f"{total_ours}/{held * len(fams)}", f"{total_peer}/{held * len(fams)}",
        *[f"{_fp_files(fams, label, 'ours')} / {_fp_files(fams, label, 'peer')}" for label in labels],
    ])  # fmt: skip
    header = ["family", "back office end state", "held-back detected: DIS", "held-back detected: yarobot",
              *[f"FP files, {label} ({len(goodware[label])} files, {_mb(goodware[label])} MB): DIS / yarobot" for label in labels]]  # fmt: skip
    examples = sorted({n for f in fams for s in f.peer_fp.values() for n in s})[:6]
    return (
        f"One training sample per family (seed {TRAIN_SEED}) given to both generators; {held} "
        f"held-back variants per family (other seeds, PE32 and PE32+ alternating). DIS: the real "
        f"back office ({timings['ours']:.0f} s for all families, 2 workers). Peer: yarobot 0.5.3 "
        f"with stringzz 0.4.3 in its own venv, default options; its goodware database from copies "
        f"of the back office's goodware corpus files ({timings['peer_db']:.0f} s), rule generation "
        f"{timings['peer_gen']:.0f} s. A held-back sample counts as detected when a rule made from "
        f"its family's training sample matches it; a goodware file counts once per family whose "
        f"rules match it.\n\n"
        + table(header, rows)
        + (
            f"\n\nGoodware files yarobot's rules matched include: {', '.join(examples)}."
            if examples
            else ""
        )
    )


def _fp_files(fams: list[Family], label: str, who: str) -> int:
    found: set[str] = set()
    for fam in fams:
        found |= (fam.ours_fp if who == "ours" else fam.peer_fp).get(label, set())
    return len(found)


def _mb(paths: list[Path]) -> str:
    return f"{sum(p.stat().st_size for p in paths) / 2**20:.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", default=",".join(FAMILIES))
    parser.add_argument("--held-back", type=int, default=6)
    parser.add_argument(
        "--goodware-mb", type=int, default=None, help="Back-office goodware per source."
    )
    parser.add_argument("--unseen-mb", type=int, default=300, help="Goodware neither tool saw, MB.")
    parser.add_argument("--peer-venv", type=Path, default=Path("/tmp/peer-venv"))
    parser.add_argument(
        "--quick", action="store_true", help="2 families, 2 held back, small goodware."
    )
    parser.add_argument(
        "--record", action="store_true", help="Write the result into docs/benchmarks.md."
    )
    args = parser.parse_args()
    stop_on_sigterm()
    if args.quick:
        args.families, args.held_back, args.goodware_mb, args.unseen_mb = (
            "appender_ep,worm",
            2,
            2,
            20,
        )
    fams = families(args.families.split(","), args.held_back)
    with tempfile.TemporaryDirectory(prefix="bench-quality-") as folder:
        root = Path(folder)
        ours, training_goodware, ours_s = back_office_rules(fams, root, args.goodware_mb)
        print(
            f"back office: {', '.join(f'{f.name} {f.ours_made}' for f in fams)} ({ours_s:.0f} s)",
            flush=True,
        )
        peer, db_s, gen_s = peer_rules(fams, training_goodware, root, args.peer_venv)
        print(f"yarobot: database {db_s:.0f} s, rules {gen_s:.0f} s", flush=True)
        goodware = {
            "training goodware": training_goodware,
            "unseen goodware": unseen_goodware(training_goodware, args.unseen_mb),
        }
        score(fams, ours, peer, goodware)
    body = report(
        fams, goodware, {"ours": ours_s, "peer_db": db_s, "peer_gen": gen_s}, args.held_back
    )
    emit(
        "signature_quality",
        "Signature quality beside yarobot (yarGen-style)",
        body,
        save=args.record and not args.quick,
    )


if __name__ == "__main__":
    main()
