"""Keeping a step's claim on its sample alive while the step runs in a worker.

The runner claims a sample for ``backoffice.lease_s`` (simulated seconds) so that a step whose
worker died is taken over once the lease runs out. A step that simply runs longer than its
lease (a fast training clock makes the lease a few real seconds) must not be taken over while
it is still working: that would run the same step twice at once. So while a step runs, a
small thread pushes ``claimed_until`` forward, but only for the claim this very step holds.
A killed worker stops renewing, and its lease expires as designed.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from types import TracebackType

from sqlalchemy import update

from backoffice.services import Services
from backoffice.store.models import Analysis
from dis_core.db import rows_changed, unit_of_work

MIN_RENEW_INTERVAL_S = 0.2


class LeaseKeeper:
    """``with LeaseKeeper(services, cookie, worker_id): runner.run(...)``."""

    def __init__(self, services: Services, cookie: str, worker_id: str) -> None:
        self.services = services
        self.cookie = cookie
        self.worker_id = worker_id
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"lease-{cookie}", daemon=True)

    def __enter__(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _trace: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def interval_s(self) -> float:
        lease = self.services.config.backoffice.lease_s
        real = self.services.clock.real_seconds(lease)
        return max(MIN_RENEW_INTERVAL_S, real / 3)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.renew()
            except Exception:  # a database hiccup: the next round tries again
                continue

    def renew(self) -> bool:
        """Push the lease forward if this step still holds the claim; True if it did."""
        services = self.services
        lease = timedelta(seconds=services.config.backoffice.lease_s)
        until = services.clock.now() + lease
        with unit_of_work(services.store.sessions) as session:
            renewed = session.execute(
                update(Analysis)
                .where(Analysis.cookie == self.cookie, Analysis.claimed_by == self.worker_id)
                .values(claimed_until=until)
            )
            return bool(rows_changed(renewed) == 1)
