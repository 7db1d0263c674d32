"""SQLite's WAL is copied back into the database file by the checkpointer thread."""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert

from tests.e2e.procs import wait_until
from watchkeeper.alerts.store import OUTBOX
from watchkeeper.db import migrate
from watchkeeper.db.checkpoint import WalCheckpointer
from watchkeeper.db.engine import Database


def rows_in_main_file(path: Path) -> int:
    """Outbox rows in the database file itself, ignoring the WAL."""
    with sqlite3.connect(f"file:{path}?immutable=1", uri=True) as connection:
        return int(connection.execute("SELECT count(*) FROM outbox").fetchone()[0])


def write_rows(db: Database, count: int) -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    with db.write() as session:
        session.execute(
            insert(OUTBOX), [{"at": now, "topic": "t", "payload": {}} for _ in range(count)]
        )


def test_checkpointer_moves_commits_into_the_database_file(tmp_path: Path) -> None:
    path = tmp_path / "wk.db"
    url = f"sqlite:///{path}"
    migrate.upgrade(url)
    db = Database(url)
    try:
        write_rows(db, 500)
        time.sleep(0.7)
        # Without the thread the commits stay in the WAL (below the writer's own threshold).
        assert rows_in_main_file(path) == 0
        checkpointer = WalCheckpointer(url)
        checkpointer.start()
        try:
            wait_until(lambda: rows_in_main_file(path) == 500, timeout=5, what="checkpoint")
            write_rows(db, 100)
            wait_until(lambda: rows_in_main_file(path) == 600, timeout=5, what="checkpoint")
        finally:
            checkpointer.stop()
    finally:
        db.dispose()
