"""Keyset paging of the sample list: following ``next`` visits every row once, in the order of
the sort, for every sort key and direction, empty values included; a vanished cursor is 404."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert

from dis_core.config import load_config
from dis_core.db import unit_of_work
from dis_core.vocabulary import SampleState, SampleStatus
from quarantine_server.database import Database, open_database
from quarantine_server.models import Sample
from quarantine_server.samples import SORT_KEYS, SampleNotFound, SampleQuery, list_samples

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
ROWS = 83  # not a multiple of any page size used below


def _rows(rng: random.Random) -> list[dict[str, object]]:
    """Rows with repeated sort values and empty ones, so ties and NULL runs cross pages."""
    rows = []
    for number in range(1, ROWS + 1):
        received = NOW - timedelta(minutes=rng.randrange(20))
        infected = rng.random() < 0.6
        rows.append(
            {
                "sample_checksum": f"{rng.getrandbits(256):064x}",
                "endpoint_sample_id": f"item-{number}",
                "computer": f"ws{rng.randrange(4)}",
                "user": f"user{rng.randrange(3)}",
                "file_name": f"f{rng.randrange(6)}.exe",
                "size": 10,
                "stored_name": f"{number:012d}.q",
                "stored_bytes": 10,
                "status": rng.choice([None, *SampleStatus]),
                "state": rng.choice([None, *SampleState]),
                "status_changed_at": received,
                "priority": rng.randrange(3),
                "received_at": received,
                "date_analyzed": received if rng.random() < 0.5 else None,
                "virus_name": f"W32/V.{rng.randrange(3)}" if infected else None,
                "definitions_needed": rng.randrange(2, 5) if infected else None,
            }
        )
    return rows


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Database:
    data: Path = tmp_path_factory.mktemp("paging")
    opened = open_database(load_config(None, overrides={"general": {"data_dir": str(data)}}))
    with unit_of_work(opened.sessions) as session:
        session.execute(insert(Sample), _rows(random.Random(90417)))
    return opened


def _walk(database: Database, sort: str, order: str, per_page: int) -> list[int]:
    seen: list[int] = []
    after = None
    while True:
        query = SampleQuery(sort=sort, order=order, per_page=per_page, after=after)
        with unit_of_work(database.sessions) as session:
            page = list_samples(session, query, NOW)
        seen += [row["id"] for row in page["items"]]
        after = page["next"]
        if after is None:
            return seen


def _offset_pages(database: Database, sort: str, order: str, per_page: int) -> list[int]:
    seen: list[int] = []
    for number in range(1, ROWS // per_page + 2):
        query = SampleQuery(sort=sort, order=order, per_page=per_page, page=number)
        with unit_of_work(database.sessions) as session:
            seen += [row["id"] for row in list_samples(session, query, NOW)["items"]]
    return seen


def _expected(database: Database, sort: str, order: str) -> list[int]:
    """The order stated in the docs: empty values smallest, then the id breaks ties."""
    column = SORT_KEYS[sort]
    with unit_of_work(database.sessions) as session:
        pairs = [(getattr(s, column.key), s.id) for s in session.query(Sample)]
    key = [((v is not None), v if v is not None else 0, i) for v, i in pairs]
    ordered = sorted(key, key=lambda k: k, reverse=order == "desc")
    return [i for _, _, i in ordered]


@pytest.mark.parametrize("order", ["asc", "desc"])
@pytest.mark.parametrize("sort", sorted(SORT_KEYS))
def test_following_next_visits_every_row_once_in_sort_order(
    database: Database, sort: str, order: str
) -> None:
    expected = _expected(database, sort, order)
    assert _walk(database, sort, order, per_page=7) == expected
    assert _offset_pages(database, sort, order, per_page=7) == expected


def test_a_cursor_whose_sample_is_gone_is_not_found(database: Database) -> None:
    with unit_of_work(database.sessions) as session, pytest.raises(SampleNotFound):
        list_samples(session, SampleQuery(after=10**6), NOW)


def test_lookup_by_sha256_finds_exactly_that_file(database: Database) -> None:
    with unit_of_work(database.sessions) as session:
        wanted = session.get(Sample, 5)
        assert wanted is not None
        query = SampleQuery(sha256=wanted.sample_checksum.upper())
        page = list_samples(session, query, NOW)
    assert [row["id"] for row in page["items"]] == [5]


def test_an_existing_embedded_database_gets_the_new_indexes(tmp_path: Path) -> None:
    config = load_config(None, overrides={"general": {"data_dir": str(tmp_path)}})
    opened = open_database(config)
    with opened.engine.begin() as connection:
        connection.exec_driver_sql("DROP INDEX ix_samples_virus_name_id")
    opened.engine.dispose()
    again = open_database(config)
    with again.engine.connect() as connection:
        names = {row[1] for row in connection.exec_driver_sql("PRAGMA index_list('samples')")}
    again.engine.dispose()
    assert "ix_samples_virus_name_id" in names


def test_a_walk_neither_repeats_nor_skips_when_rows_come_and_go(tmp_path: Path) -> None:
    config = load_config(None, overrides={"general": {"data_dir": str(tmp_path)}})
    database = open_database(config)
    rng = random.Random(313)
    with unit_of_work(database.sessions) as session:
        session.execute(insert(Sample), _rows(rng))
    before = _expected(database, "age", "desc")
    query = SampleQuery(per_page=10)
    with unit_of_work(database.sessions) as session:
        first = list_samples(session, query, NOW)
        newer = _rows(rng)[:5]
        for number, row in enumerate(newer):  # newer than all: they sort ahead of the cursor
            row.update(endpoint_sample_id=f"new-{number}", stored_name=f"new-{number}.q")
            row.update(received_at=NOW + timedelta(minutes=1))
        session.execute(insert(Sample), newer)
        gone = session.get(Sample, before[40])
        session.delete(gone)
    seen = [row["id"] for row in first["items"]]
    after = first["next"]
    while after is not None:
        with unit_of_work(database.sessions) as session:
            page = list_samples(session, SampleQuery(per_page=10, after=after), NOW)
        seen += [row["id"] for row in page["items"]]
        after = page["next"]
    database.engine.dispose()
    assert seen == [i for i in before if i != before[40]]
