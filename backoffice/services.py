"""Everything a stage may use, opened once per process: configuration, clock, database,
folders, the goodware corpus and its n-gram model, the signing key and the repository."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path

from backoffice.analysis.goodware import CorpusLimits, GoodwareCorpus, load_or_build_model
from backoffice.analysis.ngram import NgramModel
from backoffice.store.database import BackOfficeStore
from backoffice.store.workspace import Workspace
from dis_core.clock import Clock, clock_for
from dis_core.config import Config
from dis_core.definitions import (
    DefinitionError,
    DefinitionRepository,
    DefinitionSet,
    Scanner,
    SigningKey,
    build_baseline,
    load_or_create_signing_key,
)
from dis_core.definitions.vba import extract_vba, normalize_vba
from dis_core.stepping import StepGate


@dataclass
class Goodware:
    """The corpus, its n-gram model, and the normalized VBA of its documents."""

    corpus: GoodwareCorpus
    model: NgramModel
    vba_texts: list[str]

    @classmethod
    def prepare(cls, corpus: GoodwareCorpus, cache_dir: Path, bucket_bits: int) -> Goodware:
        model = load_or_build_model(corpus, cache_dir, bucket_bits)
        cached = cache_dir / f"vba-{corpus.fingerprint(bucket_bits)}.json"
        try:
            texts: list[str] = json.loads(cached.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            texts = [
                normalize_vba(src)
                for _, data in corpus.blobs()
                for _, src in extract_vba(data) or []
            ]
            cached.write_text(json.dumps(texts), encoding="utf-8")
        return cls(corpus, model, texts)


@dataclass
class Services:
    config: Config
    clock: Clock
    store: BackOfficeStore
    key: SigningKey
    repository: DefinitionRepository
    gate: StepGate
    _goodware: Goodware | None = None
    _goodware_lock: threading.Lock = field(default_factory=threading.Lock)
    _scanner: Scanner | None = None
    _scanner_lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def open(
        cls, config: Config, clock: Clock | None = None, goodware: Goodware | None = None
    ) -> Services:
        store = BackOfficeStore.open(config)
        key = load_or_create_signing_key(store.keys_dir)
        repository = DefinitionRepository(store.published_dir, key.verify_key())
        gate = StepGate(Path(config.general.data_dir), enabled=config.clock.step_mode)
        return cls(config, clock or clock_for(config), store, key, repository, gate, goodware)

    @property
    def goodware(self) -> Goodware:
        """Built (or loaded from its cache) the first time a stage needs it."""
        with self._goodware_lock:
            if self._goodware is None:
                budget = self.config.backoffice.goodware_mb * 2**20
                limits = CorpusLimits(budget, budget, budget, budget)
                corpus = GoodwareCorpus.discover(self.config.backoffice.goodware_dirs, limits)
                configured = self.config.backoffice.cache_dir
                # the model depends only on the corpus, so installations may share one cache
                cache = self.config.path(configured) if configured else self.store.root / "ngram"
                self._goodware = Goodware.prepare(
                    corpus, cache, self.config.backoffice.ngram_bucket_bits
                )
            return self._goodware

    def ensure_baseline(self) -> None:
        """Publish the baseline set (sequence 1) into an empty repository."""
        if self.repository.newest_sequence() is None and self.repository.status(1) is None:
            self.repository.publish(build_baseline(self.key, self.clock.now()))

    def newest_set(self) -> DefinitionSet | None:
        try:
            return self.repository.load("newest")
        except DefinitionError:
            return None

    def current_scanner(self) -> Scanner | None:
        """A scanner of the newest published set (rebuilt when a newer one appears)."""
        newest = self.newest_set()
        if newest is None:
            return None
        with self._scanner_lock:
            if self._scanner is None or self._scanner.definitions.sequence != newest.sequence:
                self._scanner = Scanner(newest, self.config.definition_policy.engine)
            return self._scanner

    def workspace(self, cookie: str) -> Workspace:
        return Workspace(self.store.root / "work" / _safe(cookie))

    def archive(self, cookie: str) -> Path:
        return self.store.archive_dir / _safe(cookie)

    def close(self) -> None:
        self.store.close()


def _safe(cookie: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in cookie)[:80]
