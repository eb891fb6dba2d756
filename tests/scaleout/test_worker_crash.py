"""A Celery worker killed with SIGKILL in the middle of an analysis step.

The back office runs here (its dispatcher sends steps to Redis); two ``dis worker`` processes
run the steps against PostgreSQL. The test waits until a worker process holds a sample's
claim in a replication or scoring step, kills exactly that process with SIGKILL, and then
requires that the sample still reaches ``infected``, with one final transition, one
signature and one published set for it.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import tomli_w
from sqlalchemy import func, select

from backoffice.link import BackOfficeLink
from backoffice.service import BackOffice
from backoffice.store.models import Analysis, BuildRecord, BuiltSignature, StateChange
from dis_core.config import Config, load_config
from dis_core.migrate import part_url
from dis_core.vocabulary import SampleState
from simworld.generator import generate_samples

MID_ANALYSIS = {
    s.value
    for s in SampleState
    if s.value.startswith("binary") and s.value not in ("binary", "binaryWait")
}
FINAL = {s.value for s in SampleState if s.is_final}


@dataclass
class Worker:
    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # warm shutdown: the running step ends first
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def _settings(tmp_path: Path, pg_base: str, broker: str) -> Path:
    settings = {
        "general": {"data_dir": str(tmp_path / "data")},
        "backoffice": {
            "database_url": part_url(pg_base, "backoffice"),
            "executor": "celery",
            "broker_url": broker,
            "lease_s": 3.0,  # a dead worker's claim is free again after 3 s
            "poll_interval_s": 0.2,
            "goodware_mb": 4,
            "ngram_bucket_bits": 20,
            "binary_engines": 2,
        },
    }
    path = tmp_path / "dis.toml"
    path.write_text(tomli_w.dumps(settings), encoding="utf-8")
    return path


def _start_worker(config_file: Path, name: str, logs: Path) -> Worker:
    log = logs / f"{name}.log"
    with open(log, "wb") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "launcher", "worker", "--concurrency", "1", "--name", name],
            stdout=handle,
            stderr=subprocess.STDOUT,
            env={**_without_dis_settings(os.environ), "DIS_CONFIG": str(config_file)},
            start_new_session=True,
        )
    return Worker(name, process, log)


def _without_dis_settings(environ: os._Environ[str]) -> dict[str, str]:
    """The workers read this test's configuration file only, nothing exported elsewhere."""
    return {k: v for k, v in environ.items() if not (k.startswith("DIS_") and "__" in k)}


@pytest.fixture
def cluster(tmp_path: Path, pg_base: str, broker: str) -> Iterator[tuple[Config, list[Worker]]]:
    config_file = _settings(tmp_path, pg_base, broker)
    config = load_config(config_file, environ={})
    workers = [_start_worker(config_file, f"w{i}", tmp_path) for i in (1, 2)]
    yield config, workers
    for worker in workers:
        worker.stop()


def _claim(office: BackOffice, cookie: str) -> tuple[str | None, str | None]:
    with office.services.store.sessions() as session:
        row = session.execute(
            select(Analysis.state, Analysis.claimed_by).where(Analysis.cookie == cookie)
        ).one()
        return row.state, row.claimed_by


def _kill_mid_step(
    office: BackOffice, cookie: str, deadline: float, whole_worker: bool
) -> tuple[int, str]:
    """SIGKILL the worker process that holds the claim in a replication or scoring step (or,
    ``whole_worker``, its whole worker: main process and pool, as when a machine is lost);
    returns its pid and the state it died in (only once the kill provably hit a running step)."""
    while time.monotonic() < deadline:
        state, holder = _claim(office, cookie)
        if state in FINAL:
            pytest.fail(f"{cookie} finished ({state}) before a worker could be killed mid-step")
        if holder and state in MID_ANALYSIS:
            pid = int(holder.split(":")[1])
            os.kill(pid, signal.SIGSTOP)  # frozen: what the database says now stays true
            time.sleep(0.1)  # a commit already on its way to the server may still land
            if _claim(office, cookie)[1] != holder:  # the step had just finished: not mid-step
                os.kill(pid, signal.SIGCONT)
                continue
            if whole_worker:
                os.killpg(os.getpgid(pid), signal.SIGKILL)  # each worker is its own session
            else:
                os.kill(pid, signal.SIGKILL)
            return pid, str(state)
        time.sleep(0.02)
    pytest.fail("no worker ever held the sample in a replication or scoring step")


@pytest.mark.parametrize("whole_worker", [False, True], ids=["pool-process", "whole-worker"])
def test_sample_completes_exactly_once_after_a_worker_is_killed_mid_step(
    cluster: tuple[Config, list[Worker]], whole_worker: bool
) -> None:
    config, workers = cluster
    office = BackOffice(config)
    office.start()
    link = BackOfficeLink(config, office.services.clock)
    try:
        [sample] = generate_samples(31, ["appender_ep"])
        cookie = "crash-1"
        link.import_sample(cookie, hashlib.sha256(sample.data).hexdigest(), sample.data, {})
        pid, died_in = _kill_mid_step(office, cookie, time.monotonic() + 120, whole_worker)
        final = office.wait_final([cookie], 150)[cookie]
        history, signatures, published, sequence = _record(office, cookie)
    finally:
        link.close()
        office.stop()
    assert final == "infected", _logs(workers)
    assert [h.after for h in history if h.after in FINAL] == ["infected"]
    assert all(a.after == b.before for a, b in zip(history, history[1:], strict=False))
    assert died_in in [h.after for h in history]
    assert signatures == 1 and published == 1 and sequence is not None
    if whole_worker:  # nothing left to log it: the worker is simply gone
        assert sum(w.process.poll() is not None for w in workers) == 1
    else:  # the worker's main process saw its pool process die and gave the step back
        assert _logged(workers, f"pid:{pid} exited with 'signal 9 (SIGKILL)'", within_s=20)


def _record(office: BackOffice, cookie: str) -> tuple[list[StateChange], int, int, int | None]:
    with office.services.store.sessions() as session:
        row = session.scalars(select(Analysis).where(Analysis.cookie == cookie)).one()
        history = [h for h in row.history if h.field == "state"]
        signatures = session.scalar(
            select(func.count()).select_from(BuiltSignature).where(BuiltSignature.cookie == cookie)
        )
        published = session.scalar(
            select(func.count())
            .select_from(BuildRecord)
            .where(BuildRecord.sequence == row.sequence, BuildRecord.outcome == "published")
        )
        session.expunge_all()
        return history, int(signatures or 0), int(published or 0), row.sequence


def _logged(workers: list[Worker], text: str, within_s: float) -> bool:
    """The worker notices a lost pool process on its own schedule; wait for it to say so."""
    deadline = time.monotonic() + within_s
    while text not in _logs(workers):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def _logs(workers: list[Worker]) -> str:
    return "\n".join(w.log.read_text(encoding="utf-8", errors="replace") for w in workers)
