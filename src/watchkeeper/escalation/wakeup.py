"""Which PostgreSQL process reads the outbox, and how it hears about new work.

Several processes may run the engine against one PostgreSQL database. Due
timers, rule walkers and deliveries are shared among them row by row (``FOR
UPDATE SKIP LOCKED``), but the outbox is a single ordered stream: having every
process race for it means each event wakes them all and all but one find the
cursor taken. So one process at a time leads: it holds a session-level
advisory lock on its own connection and reads the outbox; the others only
take their share of due rows.

The leader hears about work from other processes by LISTEN on the channel
every commit with engine work NOTIFYs (``db.engine.request_wake``); work
committed in its own process wakes it directly. Followers try for the lock
once a second, so when a leader stops or dies (PostgreSQL drops its lock with
its connection) another process takes over within about a second. Polling
stays the fallback: a lost connection costs latency, never work.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import psycopg
from psycopg import sql
from sqlalchemy import URL

from watchkeeper.db.engine import WAKE_CHANNEL, process_tag
from watchkeeper.worker import advisory_key

log = logging.getLogger("watchkeeper.engine")
LEADER_LOCK = advisory_key("watchkeeper:outbox-reader")
CHECK_SECONDS = 1.0
RECONNECT_MAX_SECONDS = 30.0


def libpq_url(url: URL) -> str:
    """The SQLAlchemy URL as a plain postgresql:// URI psycopg accepts."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


class OutboxLeadership:
    def __init__(
        self,
        url: URL,
        on_wake: Callable[[], None],
        on_change: Callable[[bool], None] = lambda _leading: None,
    ) -> None:
        self.conninfo = libpq_url(url)
        self.on_wake = on_wake
        self.on_change = on_change
        self._leader = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def is_leader(self) -> bool:
        return self._leader

    @is_leader.setter
    def is_leader(self, leading: bool) -> None:
        if leading != self._leader:
            self._leader = leading
            self.on_change(leading)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="watchkeeper-leader", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _loop(self) -> None:
        own = process_tag()
        delay = 0.5
        while not self._stop.is_set():
            try:
                with psycopg.connect(self.conninfo, autocommit=True, connect_timeout=5) as conn:
                    conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(WAKE_CHANNEL)))
                    delay = 0.5
                    while not self._stop.is_set():
                        if not self.is_leader:
                            self._try_to_lead(conn)
                        # Returns after a second at most, to try again or notice stop().
                        for note in conn.notifies(timeout=CHECK_SECONDS):
                            if self.is_leader and note.payload != own:
                                self.on_wake()
            except psycopg.Error as exc:
                if self.is_leader:
                    log.warning("stopped reading the outbox: lost the database connection")
                self.is_leader = False
                log.warning("engine leadership connection failed (%s); retrying", exc)
                self._stop.wait(delay)
                delay = min(delay * 2, RECONNECT_MAX_SECONDS)
        self.is_leader = False

    def _try_to_lead(self, conn: psycopg.Connection[tuple[object, ...]]) -> None:
        row = conn.execute("SELECT pg_try_advisory_lock(%s)", (LEADER_LOCK,)).fetchone()
        if row is not None and row[0]:
            self.is_leader = True
            log.info("this process now reads the outbox (engine leader)")
            # Whatever was committed while nobody led is waiting: read it now.
            self.on_wake()
