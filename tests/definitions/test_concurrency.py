"""Several processes reserving numbers, several threads scanning with one Scanner."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from dis_core.definitions import DefinitionRepository, Scanner, SigningKey

from .helpers import HOST, MARKER, binary_signature, full_set, infect, loaded


def _reserve(root: str, public: bytes, count: int, out: multiprocessing.Queue) -> None:
    from dis_core.definitions import VerifyKey

    repo = DefinitionRepository(Path(root), VerifyKey.from_bytes(public))
    out.put([repo.next_sequence() for _ in range(count)])


def test_processes_never_get_the_same_number(tmp_path: Path) -> None:
    key = SigningKey.generate()
    context = multiprocessing.get_context("spawn")
    queue: multiprocessing.Queue = context.Queue()
    workers = [
        context.Process(target=_reserve, args=(str(tmp_path), key.public_key_bytes, 15, queue))
        for _ in range(3)
    ]
    for worker in workers:
        worker.start()
    numbers = [n for _ in workers for n in queue.get(timeout=60)]
    for worker in workers:
        worker.join(timeout=60)
    assert sorted(numbers) == list(range(1, 46))


@pytest.mark.parametrize("engine", ["yara", "yara-x"])
def test_one_scanner_many_threads(engine: str) -> None:
    key = SigningKey.generate()
    scanner = Scanner(
        loaded(
            key,
            full_set(
                key,
                1,
                [binary_signature(1, text=MARKER)] + [binary_signature(n) for n in range(2, 30)],
            ),
        ),
        engine,
    )
    samples = [infect(HOST), HOST] * 40
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(
            pool.map(lambda data: [d.signature_id for d in scanner.scan_bytes(data)], samples)
        )
    assert results == [["S000001"], []] * 40
