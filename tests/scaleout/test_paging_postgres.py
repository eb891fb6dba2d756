"""The sample list's keyset and offset paging give the documented order on PostgreSQL too (its
own NULL order is the opposite of SQLite's; the list states it explicitly)."""

from __future__ import annotations

import random
from pathlib import Path

from sqlalchemy import insert

from dis_core.config import load_config
from dis_core.db import unit_of_work
from dis_core.migrate import part_url
from quarantine_server.database import open_database
from quarantine_server.models import Sample
from quarantine_server.samples import SORT_KEYS
from tests.quarantine_server.test_qs_paging import _expected, _offset_pages, _rows, _walk


def test_paging_follows_the_sort_on_postgresql(pg_base: str, tmp_path: Path) -> None:
    url = part_url(pg_base, "quarantine_server")
    overrides = {"general": {"data_dir": str(tmp_path), "database_url": url}}
    database = open_database(load_config(None, overrides=overrides))
    with unit_of_work(database.sessions) as session:
        session.execute(insert(Sample), _rows(random.Random(5521)))
    try:
        for sort in sorted(SORT_KEYS):
            for order in ("asc", "desc"):
                expected = _expected(database, sort, order)
                assert _walk(database, sort, order, per_page=9) == expected, (sort, order)
                assert _offset_pages(database, sort, order, per_page=9) == expected
    finally:
        database.engine.dispose()
