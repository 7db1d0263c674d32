"""SQLite's WAL is copied back into the database file by the checkpointer thread."""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import insert

from tests.e2e.procs import wait_until
from watchkeeper.alerts.store import OUTBOX
from watchkeeper.db import checkpoint, migrate
from watchkeeper.db.checkpoint import WalCheckpointer
from watchkeeper.db.engine import Database, sqlite_write_lock


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


def wal_restarts(path: Path) -> int:
    """How many times the log has started over: its header's checkpoint sequence number."""
    with open(f"{path}-wal", "rb") as wal:
        return int.from_bytes(wal.read(16)[12:16], "big")


def test_a_log_that_never_pauses_still_starts_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite restarts the log only when a write begins with every frame copied back.

    A writer that is nearly always inside a transaction (an ingest flood) leaves
    no such moment after a passive checkpoint; the checkpointer makes one by
    finishing the log under this process's write lock.
    """
    monkeypatch.setattr(checkpoint, "INTERVAL_SECONDS", 0.05)
    monkeypatch.setattr(checkpoint, "RESTART_PAGES", 20)
    path = tmp_path / "wk.db"
    url = f"sqlite:///{path}"
    migrate.upgrade(url)
    db = Database(url)
    stop = threading.Event()

    def flood() -> None:
        now = datetime(2026, 1, 1, tzinfo=UTC)
        while not stop.is_set():
            with db.write() as session:
                session.execute(insert(OUTBOX), [{"at": now, "topic": "t", "payload": {}}] * 20)
                time.sleep(0.003)  # most of the time inside a transaction

    writer = threading.Thread(target=flood, daemon=True)
    checkpointer = WalCheckpointer(url, write_lock=sqlite_write_lock(db.engine))
    try:
        writer.start()
        wait_until(lambda: Path(f"{path}-wal").exists(), timeout=5, what="a log")
        before = wal_restarts(path)
        checkpointer.start()
        time.sleep(1.5)
        assert wal_restarts(path) - before >= 10
    finally:
        stop.set()
        writer.join(timeout=5)
        checkpointer.stop()
        db.dispose()
