"""Engines and sessions for SQLite (embedded) and PostgreSQL (production)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.orm import Session, sessionmaker

from watchkeeper.settings import normalize_database_url

# Execution option that marks a connection whose transaction will write.
WRITE_OPTION = "watchkeeper_write"


def _configure_sqlite(engine: Engine) -> None:
    # SQLite has one writer at a time. Waiting for its lock inside SQLite means
    # its busy handler sleeping in growing steps (up to 100 ms) while a busy
    # thread can take the lock again and again; waiting on a Python lock wakes
    # the next writer the moment the previous one is done.
    write_lock = threading.Lock()

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below issue BEGIN itself; pysqlite's own
        # implicit transactions start too late to take the write lock up front.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A deferred transaction that reads and then writes fails at once with
        # SQLITE_BUSY when another writer committed in between; the busy timeout
        # cannot help there. Writers therefore take the lock at BEGIN, where the
        # busy handler waits for it, and readers stay lock-free under WAL.
        if conn.get_execution_options().get(WRITE_OPTION):
            write_lock.acquire()
            conn.info["watchkeeper_locked"] = True
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            except BaseException:
                _release(conn)
                raise
        else:
            conn.exec_driver_sql("BEGIN")

    def _release(conn: Any) -> None:
        if conn.info.pop("watchkeeper_locked", False):
            write_lock.release()

    @event.listens_for(engine, "commit")
    def _on_commit(conn: Any) -> None:
        # Fired just before the DBAPI commit; the next writer's BEGIN IMMEDIATE
        # then waits at most for that commit, in SQLite's busy handler.
        _release(conn)

    @event.listens_for(engine, "rollback")
    def _on_rollback(conn: Any) -> None:
        _release(conn)

    @event.listens_for(engine, "checkin")
    def _on_checkin(dbapi_connection: Any, record: Any) -> None:
        if record.info.pop("watchkeeper_locked", False):
            write_lock.release()


def _ensure_sqlite_dir(url: str) -> None:
    path = make_url(url).database
    if path and path != ":memory:" and not path.startswith("file:"):
        Path(path).parent.mkdir(parents=True, exist_ok=True)


def create_db_engine(url: str, *, echo: bool = False) -> Engine:
    """Create an engine with the settings each database needs."""
    url = normalize_database_url(url)
    if url.startswith("sqlite"):
        _ensure_sqlite_dir(url)
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=8,
            max_overflow=16,
        )
        _configure_sqlite(engine)
        return engine
    return create_engine(
        url,
        echo=echo,
        pool_size=10,
        max_overflow=20,
        pool_pre_ping=True,
        pool_timeout=10,
        # psycopg prepares a statement after 5 runs and PostgreSQL may then keep
        # a generic plan costed while the tables were empty (a sequential scan),
        # which turns indexed lookups into full scans as tables grow.
        connect_args={"prepare_threshold": None},
    )


class Database:
    """The engine plus session factories for reading and for writing."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = normalize_database_url(url)
        self.engine = create_db_engine(self.url, echo=echo)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self.is_postgres = self.engine.dialect.name == "postgresql"
        self._read = sessionmaker(bind=self.engine, expire_on_commit=False)
        self._write = sessionmaker(
            bind=self.engine.execution_options(**{WRITE_OPTION: True}),
            expire_on_commit=False,
        )

    def session(self, *, write: bool) -> Session:
        """A new session; ``write=True`` takes SQLite's write lock when it begins."""
        return self._write() if write else self._read()

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction that commits on success and rolls back on error."""
        with self._write() as session, session.begin():
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only session."""
        with self._read() as session:
            yield session

    def ping(self) -> bool:
        """True when the database answers a trivial query."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    def dispose(self) -> None:
        self.engine.dispose()
