"""The definition builder's lock on PostgreSQL: one holder among many processes or machines.

Each contender below has its own engine (its own connections), which is all that separates
two machines as far as PostgreSQL is concerned.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from backoffice.pipeline.pools import BuilderLock
from backoffice.store.models import Base
from dis_core.db import make_engine, session_factory
from dis_core.migrate import ensure_schema, part_url

CONTENDERS = 8
ROUNDS = 5


def test_exactly_one_contender_holds_the_builder_lock(pg_base: str) -> None:
    url = part_url(pg_base, "backoffice")
    engines = [make_engine(url) for _ in range(CONTENDERS)]
    ensure_schema(engines[0], Base.metadata, "backoffice")
    locks = [BuilderLock(session_factory(e)) for e in engines]
    now = datetime(2026, 3, 2, tzinfo=UTC)
    for round_ in range(ROUNDS):
        start = threading.Barrier(CONTENDERS)

        def contend(index: int, round_: int = round_, start: threading.Barrier = start) -> bool:
            start.wait()
            return locks[index].acquire(f"sample-{round_}-{index}", now)

        with ThreadPoolExecutor(CONTENDERS) as pool:
            won = list(pool.map(contend, range(CONTENDERS)))
        assert won.count(True) == 1, won
        winner = f"sample-{round_}-{won.index(True)}"
        assert locks[0].holder() == winner
        assert locks[1].acquire(winner, now)  # the holder's repeated step keeps it
        locks[2].release("someone-else")  # only the holder can give it back
        assert locks[3].holder() == winner
        locks[4].release(winner)
        assert locks[5].holder() is None
    for engine in engines:
        engine.dispose()
