"""The goodware corpus: real programs and documents no generated signature may ever match.

Sources, in this order (all read in place, never copied):
1. the shared real-world corpus (Office test documents), ``../shared/corpus`` from the repo;
2. PE files that ship inside installed Python packages (launchers, DLLs, extension modules);
3. ELF programs under /usr/bin;
4. any folders listed in ``backoffice.goodware_dirs``.
The selection is deterministic and bounded in file count and total bytes, so the n-gram model
and the exact verification look at the same files every time.
"""

from __future__ import annotations

import site
import sys
import sysconfig
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from backoffice.analysis.ngram import NgramModel, fingerprint

PE_SUFFIXES = {".exe", ".dll", ".pyd"}
MAX_FILE_BYTES = 8 * 2**20
ELF_MAGIC = b"\x7fELF"


def shared_corpus_dir() -> Path:
    """``../shared/corpus`` next to the repository, else the machine-wide copy."""
    # backoffice/analysis/goodware.py: parents[2] is the project, its parent the workplace
    beside_repo = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
    return beside_repo if beside_repo.is_dir() else Path("/work/shared/corpus")


def python_package_dirs() -> list[Path]:
    roots = {Path(p) for p in site.getsitepackages()}
    roots.add(Path(sysconfig.get_paths()["stdlib"]))
    roots.add(Path(sys.base_prefix) / "lib")
    return sorted(r for r in roots if r.is_dir())


@dataclass
class CorpusLimits:
    """How much of each source is used (bytes)."""

    documents: int = 16 * 2**20
    python_pe: int = 16 * 2**20
    elf: int = 16 * 2**20
    extra: int = 16 * 2**20


@dataclass
class GoodwareCorpus:
    """A bounded, deterministic list of known-good files, loaded lazily and kept in memory."""

    files: list[Path]
    _cache: dict[Path, bytes] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def discover(
        cls, extra_dirs: list[str] | None = None, limits: CorpusLimits | None = None
    ) -> GoodwareCorpus:
        limits = limits or CorpusLimits()
        chosen: list[Path] = []
        chosen += _take(_walk([shared_corpus_dir()], lambda p: p.suffix != ".md"), limits.documents)
        chosen += _take(
            _walk(python_package_dirs(), lambda p: p.suffix.lower() in PE_SUFFIXES and _is_pe(p)),
            limits.python_pe,
        )
        chosen += _take(_walk([Path("/usr/bin")], _is_elf), limits.elf)
        chosen += _take(_walk([Path(d) for d in extra_dirs or []], lambda p: True), limits.extra)
        return cls(list(dict.fromkeys(chosen)))

    def read(self, path: Path) -> bytes:
        with self._lock:
            if path not in self._cache:
                self._cache[path] = path.read_bytes()
            return self._cache[path]

    def blobs(self) -> Iterator[tuple[Path, bytes]]:
        for path in self.files:
            try:
                yield path, self.read(path)
            except OSError:
                continue  # a file removed since discovery is simply not goodware any more

    def find(self, needle: bytes) -> Path | None:
        """The first goodware file containing ``needle`` as bytes, if any."""
        return next((path for path, data in self.blobs() if needle in data), None)

    def fingerprint(self, bucket_bits: int) -> str:
        items = []
        for path in self.files:
            stat = path.stat()
            items.append((str(path), stat.st_size, int(stat.st_mtime)))
        return fingerprint(items, bucket_bits)

    @property
    def total_bytes(self) -> int:
        return sum(path.stat().st_size for path in self.files)


def _walk(roots: list[Path], keep: Callable[[Path], bool]) -> Iterator[Path]:
    for root in roots:
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*")):
            try:
                if (
                    path.is_file()
                    and not path.is_symlink()
                    and 0 < path.stat().st_size <= MAX_FILE_BYTES
                    and keep(path)
                ):
                    yield path
            except OSError:
                continue


def _take(paths: Iterator[Path], budget: int) -> list[Path]:
    taken: list[Path] = []
    for path in paths:
        size = path.stat().st_size
        if size <= budget:
            taken.append(path)
            budget -= size
    return taken


def _starts_with(path: Path, magic: bytes) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(len(magic)) == magic
    except OSError:
        return False


def _is_pe(path: Path) -> bool:
    return _starts_with(path, b"MZ")


def _is_elf(path: Path) -> bool:
    return _starts_with(path, ELF_MAGIC)


def load_or_build_model(corpus: GoodwareCorpus, cache_dir: Path, bucket_bits: int) -> NgramModel:
    """The corpus's n-gram model from the cache, built and saved the first time."""
    path = cache_dir / f"ngram-{corpus.fingerprint(bucket_bits)}.npz"
    if path.exists():
        try:
            return NgramModel.load(path)
        except (OSError, ValueError, KeyError):
            path.unlink(missing_ok=True)  # a damaged cache is rebuilt
    model = NgramModel.build((data for _, data in corpus.blobs()), bucket_bits)
    model.save(path)
    return model
