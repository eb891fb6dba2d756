"""What ``dis worker`` runs: a Celery worker that executes the back office's stage steps."""

from __future__ import annotations

import socket

from backoffice.pipeline.distributed.app import QUEUE, configure
from backoffice.pipeline.distributed.tasks import preload_goodware
from dis_core.config import Config


def worker_argv(concurrency: int, pool: str, name: str | None, loglevel: str) -> list[str]:
    """Command line for ``Celery.worker_main``; one task at a time per process (prefetch 1)."""
    node = name or f"dis-worker-{socket.gethostname()}-%p"
    return [
        "worker",
        f"--concurrency={concurrency}",
        f"--pool={pool}",
        f"--hostname={node}@%h",
        f"--queues={QUEUE}",
        f"--loglevel={loglevel}",
        "--without-gossip",  # workers need not know each other; less broker chatter
        "--without-mingle",
    ]


def run_worker(
    config: Config,
    *,
    concurrency: int = 1,
    pool: str = "prefork",
    name: str | None = None,
    loglevel: str = "INFO",
) -> None:
    """Blocks until the worker is told to stop (SIGTERM: finish the running steps, then exit)."""
    app = configure(config)
    preload_goodware(config)
    app.worker_main(worker_argv(concurrency, pool, name, loglevel))
