"""SQLite connections that write keep a bigger page cache than read-only ones."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from watchkeeper.db.engine import SQLITE_WRITER_CACHE_KIB, Database


def test_a_connection_that_writes_keeps_a_bigger_page_cache(db: Database) -> None:
    if not db.is_sqlite:
        pytest.skip("SQLite's page cache; PostgreSQL has shared buffers")
    with db.read() as session:
        before = session.execute(text("PRAGMA cache_size")).scalar()
    assert before != -SQLITE_WRITER_CACHE_KIB  # SQLite's default for readers
    with db.write() as session:
        assert session.execute(text("PRAGMA cache_size")).scalar() == -SQLITE_WRITER_CACHE_KIB
    with db.write() as session:  # kept, not set again, across checkouts
        assert session.execute(text("PRAGMA cache_size")).scalar() == -SQLITE_WRITER_CACHE_KIB
