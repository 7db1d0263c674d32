"""Engines and sessions for SQLite (embedded) and PostgreSQL (production)."""

from __future__ import annotations

import logging
import os
import socket
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.exc import DataError, DisconnectionError, IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from watchkeeper.clock import Clock, SystemClock
from watchkeeper.db import pq
from watchkeeper.db.bulk import Pipeline
from watchkeeper.db.checkpoint import WRITER_AUTOCHECKPOINT_PAGES
from watchkeeper.db.types import json_text, json_value
from watchkeeper.settings import normalize_database_url

log = logging.getLogger("watchkeeper.db")

# Execution option that marks a connection whose transaction will write.
WRITE_OPTION = "watchkeeper_write"
# PostgreSQL channel on which a commit that gave the engine work wakes every
# process's engine (LISTEN/NOTIFY); the payload names the committing process.
WAKE_CHANNEL = "watchkeeper_engine"
# What a write raises when the database cannot be reached (or stays locked),
# and when a concurrent writer took a unique key first: through SQLAlchemy, or
# straight from the driver, which db.bulk and ingest's lookups write through.
UNAVAILABLE: tuple[type[Exception], ...] = (
    OperationalError,
    psycopg.OperationalError,
    sqlite3.OperationalError,
)
CONFLICT: tuple[type[Exception], ...] = (
    IntegrityError,
    psycopg.IntegrityError,
    sqlite3.IntegrityError,
)


def is_conflict(exc: BaseException) -> bool:
    """True when another transaction got in the way and a retry can succeed.

    A unique key taken concurrently, and on PostgreSQL a deadlock or a
    serialization failure (SQLSTATE class 40, which psycopg files under
    OperationalError, as it does a lost connection).
    """
    cause = getattr(exc, "orig", None) or exc
    sqlstate = getattr(cause, "sqlstate", None) if isinstance(cause, psycopg.Error) else None
    return isinstance(exc, CONFLICT) or (sqlstate or "").startswith("40")


# What a write raises when the database refuses a value (too long, out of
# range): not transient, a retry would be refused again.
REFUSED: tuple[type[Exception], ...] = (DataError, psycopg.DataError, sqlite3.DataError)

_WAKE_FLAG = "watchkeeper_wake"
_CLAIM_FLAG = "watchkeeper_claim"
_NOTIFIED_FLAG = "watchkeeper_notified"
# SQLite page cache of a connection that writes, in KiB (the default is
# 2,000). New alerts land at random places of the open-fingerprint index; with
# 2 MB of cache the ingest writer read most of those pages back from the OS on
# every commit. With 64 MiB the Prometheus load of bench/ingest.py took
# 23,600-29,600 new alerts/s instead of 19,900-26,400 (three alternating runs
# each, server CPU 33-42 instead of 37-50 µs per alert). Read-only
# connections keep SQLite's default: a connection's cache only grows with the
# pages it touches, and only writing ones need this.
SQLITE_WRITER_CACHE_KIB = 65_536
_BIG_CACHE = "watchkeeper_big_cache"
_DATABASE = "watchkeeper_database"
# A pooled PostgreSQL connection idle for longer than this is pinged before use.
PING_AFTER_IDLE_SECONDS = 1.0
_CHECKED_IN_AT = "watchkeeper_checked_in_at"


def process_tag() -> str:
    """This process's name in wake notifications (it ignores its own)."""
    return f"{os.getpid()}@{socket.gethostname()}"


def clock_of(session: Session) -> Clock:
    """The clock of the database the session belongs to (for hooks that get no clock)."""
    database: Database | None = session.info.get(_DATABASE)
    return database.clock if database is not None else SystemClock()


def request_wake(session: Session, pipeline: Pipeline | None = None) -> None:
    """Wake the engines once this session's transaction commits.

    In this process the wake is a callback after the commit; on PostgreSQL a
    NOTIFY (delivered by the server only if the transaction commits) also
    reaches the other processes. Called by everything that writes outbox
    events the engine acts on. With ``pipeline``, the NOTIFY travels with the
    pipeline's inserts instead of taking a round trip of its own.
    """
    session.info[_WAKE_FLAG] = True
    database: Database | None = session.info.get(_DATABASE)
    if database is None or not database.is_postgres or session.info.get(_NOTIFIED_FLAG):
        return
    if not database.reads_outbox_here:  # else this process's engine is the reader
        session.info[_NOTIFIED_FLAG] = True
        if pipeline is not None:
            pipeline.execute_postgres("SELECT pg_notify(%s, %s)", (WAKE_CHANNEL, process_tag()))
            return
        session.execute(
            text("SELECT pg_notify(:channel, :tag)"),
            {"channel": WAKE_CHANNEL, "tag": process_tag()},
        )


def request_claim(session: Session) -> None:
    """Deliveries were queued: once this transaction commits, senders should claim them.

    After the commit, not before: a pass woken earlier would find nothing yet
    and the delivery would wait for the next timer check or poll.
    """
    session.info[_CLAIM_FLAG] = True


def take_claim_request(session: Session) -> bool:
    """True when this transaction queued deliveries; the request is taken (the
    engine claims them in the same pass, so its own commit wakes nobody)."""
    return bool(session.info.pop(_CLAIM_FLAG, False))


# Each SQLite engine's write lock (see _configure_sqlite), for the checkpointer.
_SQLITE_WRITE_LOCKS: weakref.WeakKeyDictionary[Engine, threading.Lock] = weakref.WeakKeyDictionary()


def sqlite_write_lock(engine: Engine) -> threading.Lock | None:
    """The lock this process's writers hold from BEGIN IMMEDIATE to COMMIT (SQLite only)."""
    return _SQLITE_WRITE_LOCKS.get(engine)


def _configure_sqlite(engine: Engine) -> None:
    # SQLite has one writer at a time. Waiting for its lock inside SQLite means
    # its busy handler sleeping in growing steps (up to 100 ms) while a busy
    # thread can take the lock again and again; waiting on a Python lock wakes
    # the next writer the moment the previous one is done.
    write_lock = threading.Lock()
    _SQLITE_WRITE_LOCKS[engine] = write_lock

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
        cursor.execute(f"PRAGMA wal_autocheckpoint={WRITER_AUTOCHECKPOINT_PAGES}")
        cursor.close()

    # The DBAPI connection holding write_lock, from its BEGIN IMMEDIATE until
    # its COMMIT or ROLLBACK has returned. Releasing earlier (at SQLAlchemy's
    # "commit" event, which fires before the DBAPI commit) sent the next
    # writer's BEGIN into SQLite's busy handler, which sleeps 1, 2, 5, 10 ms…
    # while the commit finishes: 2-4 ms lost per ingest commit under load.
    holder: list[Any] = [None]

    def _release(connection: Any) -> None:
        # SQLAlchemy hands do_commit and do_rollback the pool's proxy of the
        # connection, and the checkin event the driver's connection itself.
        dbapi_connection = getattr(connection, "dbapi_connection", connection)
        if holder[0] is not None and holder[0] is dbapi_connection:
            holder[0] = None
            write_lock.release()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A deferred transaction that reads and then writes fails at once with
        # SQLITE_BUSY when another writer committed in between; the busy timeout
        # cannot help there. Writers therefore take the lock at BEGIN, where the
        # busy handler waits for it, and readers stay lock-free under WAL.
        if conn.get_execution_options().get(WRITE_OPTION):
            dbapi_connection = conn.connection.dbapi_connection
            if not conn.info.get(_BIG_CACHE):  # once per connection, kept across checkouts
                dbapi_connection.execute(f"PRAGMA cache_size = -{SQLITE_WRITER_CACHE_KIB}")
                conn.info[_BIG_CACHE] = True
            write_lock.acquire()
            holder[0] = dbapi_connection
            try:  # straight to the driver: SQLAlchemy's execute costs more than BEGIN
                dbapi_connection.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                _release(dbapi_connection)
                # As SQLAlchemy would raise it: callers answer 503 for OperationalError.
                raise OperationalError("BEGIN IMMEDIATE", (), exc) from exc
            except BaseException:
                _release(dbapi_connection)
                raise
        else:
            conn.exec_driver_sql("BEGIN")

    dialect = engine.dialect
    do_commit, do_rollback = dialect.do_commit, dialect.do_rollback

    def _commit_then_release(dbapi_connection: Any) -> None:
        try:
            do_commit(dbapi_connection)
        finally:
            _release(dbapi_connection)

    def _rollback_then_release(dbapi_connection: Any) -> None:
        try:
            do_rollback(dbapi_connection)
        finally:
            _release(dbapi_connection)

    dialect.do_commit = _commit_then_release  # type: ignore[method-assign]
    dialect.do_rollback = _rollback_then_release  # type: ignore[method-assign]

    @event.listens_for(engine, "checkin")
    def _on_checkin(dbapi_connection: Any, _record: Any) -> None:
        _release(dbapi_connection)  # a connection returned mid-transaction


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
            json_serializer=json_text,
            json_deserializer=json_value,
            pool_size=8,
            max_overflow=16,
        )
        _configure_sqlite(engine)
        return engine
    engine = create_engine(
        url,
        echo=echo,
        pool_size=10,
        max_overflow=20,
        pool_timeout=10,
        json_serializer=json_text,
        json_deserializer=json_value,
        # psycopg prepares a statement after 5 runs and PostgreSQL may then keep
        # a generic plan costed while the tables were empty (a sequential scan),
        # which turns indexed lookups into full scans as tables grow.
        connect_args={"prepare_threshold": None},
    )
    _ping_idle_connections(engine)
    _prepared_statements(engine)
    return engine


def _prepared_statements(engine: Engine) -> None:
    """PostgreSQL: prepared statements run their generic plan, not one planned per run.

    Only the statements run under ``bulk.prepared()`` are prepared: plain
    inserts and lookups written to probe an index per key, whose generic plan
    is the plan whatever the values (tests/alerts/test_lookup_plans.py). By
    default PostgreSQL plans each run anew while that plan's estimate beats
    the generic one's, and for ``unnest(%s::text[])`` it always did (it knows
    the array's length at bind, not in the generic plan): binding the two
    ingest lookups cost 80-95 µs each per commit against 15-50 µs to run them.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("SET plan_cache_mode = force_generic_plan")
        dbapi_connection.commit()
        # Bulk inserts of a few rows are one statement text per row count
        # (bulk.VALUES_MAX_PARAMETERS): keep them all prepared, not just 100.
        dbapi_connection.prepared_max = 500

    # psycopg deallocates every prepared statement of a connection when it
    # rolls back, those db/pq.py prepared included: they are prepared again.
    def _forget(conn: Any) -> None:
        if conn.closed or conn.invalidated:
            return  # its driver connection is gone, and what it prepared with it
        pq.forget(conn.connection.driver_connection)

    @event.listens_for(engine, "rollback")
    def _on_rollback(conn: Any) -> None:
        _forget(conn)

    @event.listens_for(engine, "rollback_savepoint")
    def _on_rollback_savepoint(conn: Any, _name: Any, _context: Any) -> None:
        _forget(conn)

    @event.listens_for(engine, "reset")
    def _on_reset(dbapi_connection: Any, _record: Any, _state: Any) -> None:
        if dbapi_connection.pgconn.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            pq.forget(dbapi_connection)  # the pool is about to roll it back


def _ping_idle_connections(engine: Engine) -> None:
    """Ping a pooled connection before use, but only after it sat idle for a while.

    SQLAlchemy's ``pool_pre_ping`` pings on every checkout: one more round trip
    for every transaction, which was a tenth of a PagerDuty event's commit.
    A connection handed back a moment ago is as alive as a ping would show; one
    that sat idle may have been cut (a PostgreSQL restart, a proxy's timeout),
    and raising DisconnectionError makes the pool replace it and try again.
    """
    dialect = engine.dialect

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info[_CHECKED_IN_AT] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        checked_in = record.info.get(_CHECKED_IN_AT)
        if checked_in is None or time.monotonic() - checked_in < PING_AFTER_IDLE_SECONDS:
            return  # brand new, or back from use a moment ago
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise DisconnectionError(f"pooled connection is gone: {exc}") from exc


class Database:
    """The engine plus session factories for reading and for writing."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = normalize_database_url(url)
        self.engine = create_db_engine(self.url, echo=echo)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self.is_postgres = self.engine.dialect.name == "postgresql"
        self._read = sessionmaker(bind=self.engine, expire_on_commit=False, info={_DATABASE: self})
        self._write = sessionmaker(
            bind=self.engine.execution_options(**{WRITE_OPTION: True}),
            expire_on_commit=False,
            info={_DATABASE: self},
        )
        # What flush hooks stamp their rows with (create_app sets the app's clock).
        self.clock: Clock = SystemClock()
        # True while this process's engine reads the outbox (the PostgreSQL
        # leader): its commits then wake it directly and NOTIFY nobody.
        self.reads_outbox_here = False
        # Called after every commit that asked for a wake (see request_wake).
        self.wake_listeners: list[Callable[[], None]] = []
        # Called after every commit that queued deliveries (see request_claim).
        self.claim_listeners: list[Callable[[], None]] = []
        for factory in (self._read, self._write):
            event.listen(factory, "after_transaction_create", self._after_begin)
            event.listen(factory, "after_commit", self._after_commit)
            event.listen(factory, "after_soft_rollback", self._after_soft_rollback)

    @staticmethod
    def _after_begin(session: Session, transaction: Any) -> None:
        # A new outermost transaction starts clean (an earlier one may have rolled back).
        if transaction.parent is None:
            session.info.pop(_NOTIFIED_FLAG, None)
            session.info.pop(_WAKE_FLAG, None)
            session.info.pop(_CLAIM_FLAG, None)

    def _after_commit(self, session: Session) -> None:
        if session.in_nested_transaction():
            return  # a savepoint released: nothing is visible to others yet
        session.info.pop(_NOTIFIED_FLAG, None)
        listeners = list(self.wake_listeners) if session.info.pop(_WAKE_FLAG, False) else []
        if session.info.pop(_CLAIM_FLAG, False):
            listeners += self.claim_listeners
        for listener in listeners:
            try:
                listener()
            except Exception:
                log.exception("wake listener failed")

    @staticmethod
    def _after_soft_rollback(session: Session, previous: Any) -> None:
        # A savepoint rolled back takes its NOTIFY with it: notify again next time.
        # (The in-process wake may then be a spare one, which costs one idle pass.)
        if previous.nested:
            session.info.pop(_NOTIFIED_FLAG, None)

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
