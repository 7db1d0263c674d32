"""A SQLite database another process keeps locked: a clear 503 for senders, never a 500."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError

from watchkeeper.alerts.models import Integration
from watchkeeper.app import create_app
from watchkeeper.clock import FixedClock
from watchkeeper.db.engine import WRITE_OPTION, Database
from watchkeeper.settings import Settings

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.fixture
def sqlite_file(db_url: str) -> Path:
    if not db_url.startswith("sqlite"):
        pytest.skip("the write lock held by another process is SQLite's")
    return Path(db_url.removeprefix("sqlite:///"))


def _short_busy_timeout(database: Database) -> None:
    # Registered after Database's own "connect" listener, so it wins: wait
    # 50 ms for the lock instead of 30 s.
    @event.listens_for(database.engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA busy_timeout=50")


def test_a_write_lock_held_elsewhere_is_an_operational_error_and_a_503(
    sqlite_file: Path, tmp_path: Path
) -> None:
    url = f"sqlite:///{sqlite_file}"
    database = Database(url)
    _short_busy_timeout(database)
    clock = FixedClock(T0)
    with database.write() as session:
        session.add(Integration(name="am", kind="alertmanager", token="tok", created_at=T0))
    other = sqlite3.connect(sqlite_file, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(OperationalError), database.write() as session:
            session.execute(text("SELECT 1"))
        settings = Settings(data_dir=tmp_path / "data", database_url=url, secret_key="k" * 20)
        app = create_app(settings, db=database, clock=clock, background=False)
        with TestClient(app) as client:
            response = client.post("/ingest/tok", json={"version": "4", "alerts": []})
        assert response.status_code == 503, response.text
        assert "retry later" in response.json()["error"]["message"]
        assert response.headers["retry-after"] == "5"
    finally:
        other.execute("ROLLBACK")
        other.close()
        database.dispose()


def test_the_write_lock_is_released_when_the_commit_returns(sqlite_file: Path) -> None:
    """Not only when the connection goes back to the pool.

    A connection that stays checked out after its write transaction committed
    (a connection kept for many transactions) must not keep other writers out.
    SQLAlchemy passes the pool's proxy of the connection to the dialect's
    commit and the driver's connection to the checkin event; the lock was
    released only on checkin.
    """
    database = Database(f"sqlite:///{sqlite_file}")
    try:
        kept = database.engine.execution_options(**{WRITE_OPTION: True}).connect()
        with kept.begin():
            kept.execute(text("CREATE TABLE t (x INTEGER)"))
        outcome: list[str] = []

        def other_writer() -> None:
            with database.write() as session:
                session.execute(text("INSERT INTO t VALUES (1)"))
            outcome.append("committed")

        thread = threading.Thread(target=other_writer, daemon=True)
        thread.start()
        thread.join(timeout=10)
        assert outcome == ["committed"], "another writer waited for a committed transaction"
        with kept.begin():  # and the kept connection can write again
            kept.execute(text("INSERT INTO t VALUES (2)"))
        kept.close()
        with database.read() as session:
            assert session.execute(text("SELECT count(*) FROM t")).scalar() == 2
    finally:
        database.dispose()
