"""Many endpoints forwarding many samples at once to one Quarantine Server, and the audit that
every acknowledged sample is in the database and the quarantine folder exactly once.

Used by test_load.py (CI form) and bench/soak_load.py (the long form)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import requests

from .helpers import sha256, unique_content
from .loop import RunningLoop, database_rows, vault_contents

ATTEMPTS = 40  # 20 s of retries: a restarting server is back well within that


@dataclass
class LoadResult:
    acknowledged: dict[tuple[str, str], str] = field(
        default_factory=dict
    )  # (computer, id) -> checksum
    resends: int = 0
    refused: list[str] = field(default_factory=list)
    seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def rate(self) -> float:
        return len(self.acknowledged) / self.seconds if self.seconds else 0.0


def _endpoint(
    loop: RunningLoop,
    computer: str,
    samples: int,
    result: LoadResult,
    resend_every: int,
    pace_s: float,
) -> None:
    with loop.http() as http:
        for number in range(samples):
            sample_id = f"{computer}-{number:05d}"
            content = unique_content(sample_id, 400 + number % 7 * 300)
            _send(loop, http, computer, sample_id, content, result)
            if resend_every and number % resend_every == 0:
                # an endpoint that did not see the reply sends the same sample again
                _send(loop, http, computer, sample_id, content, result, resend=True)
            time.sleep(pace_s)


def _send(
    loop: RunningLoop,
    http: requests.Session,
    computer: str,
    sample_id: str,
    content: bytes,
    result: LoadResult,
    resend: bool = False,
) -> None:
    for attempt in range(ATTEMPTS):
        try:
            reply = loop.forward(http, content, sample_id, computer)
        except Exception as exc:  # a connection that broke: the endpoint retries like the real one
            if attempt == ATTEMPTS - 1:
                with result.lock:
                    result.refused.append(f"{sample_id}: {exc}")
            time.sleep(0.5)
            continue
        if reply.status_code >= 500 and attempt < ATTEMPTS - 1:  # a server on its way down or up
            time.sleep(0.5)
            continue
        with result.lock:
            if reply.status_code in (200, 201):
                result.acknowledged[(computer, sample_id)] = sha256(content)
                result.resends += int(resend)
            else:
                result.refused.append(f"{sample_id}: {reply.status_code} {reply.text[:120]}")
        return


def run_load(
    loop: RunningLoop, endpoints: int, samples: int, *, resend_every: int = 10, pace_s: float = 0.0
) -> LoadResult:
    result = LoadResult()
    threads = [
        threading.Thread(
            target=_endpoint, args=(loop, f"LOAD-PC{i:03d}", samples, result, resend_every, pace_s)
        )
        for i in range(endpoints)
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.seconds = time.monotonic() - started
    return result


@dataclass
class Audit:
    rows: int
    vault_files: int
    duplicates: list[tuple[str, str]]
    missing: list[tuple[str, str]]
    unexpected: list[tuple[str, str]]
    checksum_mismatches: list[str]
    orphan_files: list[str]

    @property
    def clean(self) -> bool:
        return not (
            self.duplicates
            or self.missing
            or self.unexpected
            or self.checksum_mismatches
            or self.orphan_files
        )


def audit(loop: RunningLoop, result: LoadResult) -> Audit:
    """Compare what the endpoints were told with what the server holds, row by row and byte by byte."""
    rows = [row for row in database_rows(loop) if row[1].startswith("LOAD-PC")]
    stored = vault_contents(loop)
    keys = Counter((computer, sample_id) for sample_id, computer, _c, _s in rows)
    mismatches = [
        f"{sample_id}: row {checksum[:8]} vault {stored.get(name, 'absent')[:8]} sent {result.acknowledged.get((computer, sample_id), '?')[:8]}"
        for sample_id, computer, checksum, name in rows
        if not (checksum == stored.get(name) == result.acknowledged.get((computer, sample_id)))
    ]
    referenced = {name for *_rest, name in database_rows(loop)}
    return Audit(
        rows=len(rows),
        vault_files=len(stored),
        duplicates=[key for key, count in keys.items() if count > 1],
        missing=sorted(set(result.acknowledged) - set(keys)),
        unexpected=sorted(set(keys) - set(result.acknowledged)),
        checksum_mismatches=mismatches,
        orphan_files=sorted(set(stored) - referenced),
    )
