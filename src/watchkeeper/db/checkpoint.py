"""SQLite WAL checkpoints in a thread of their own, off the ingest writer's path.

In WAL mode SQLite copies committed pages back into the database file (a
checkpoint, with an fsync) from inside whichever commit pushes the log past
``wal_autocheckpoint`` pages. Under ingest load that commit is the writer's,
and every 4 MB one batch of senders waits for the disk. This thread runs a
PASSIVE checkpoint (it never blocks readers or the writer) twice a second
instead, with the GIL released while SQLite works. The writer connections
keep a large automatic checkpoint as a safety net for when the server is not
running (CLI commands, tests without the app).

The log still needs the writer now and then. SQLite starts it over from the
beginning only when a write transaction begins with every frame copied back,
and under a flood of new alerts (some 40,000 pages a second) the thread never
finishes before the next commit appends more. So the log grows until a
writer's commit passes ``wal_autocheckpoint`` pages and checkpoints itself:
that commit copies what the thread has not yet copied and waits for two
fsyncs, 30-100 ms, and lets the log start over. How often that happens is set
by the threshold (see WRITER_AUTOCHECKPOINT_PAGES).
"""

from __future__ import annotations

import logging
import sqlite3
import threading

from sqlalchemy import make_url

log = logging.getLogger("watchkeeper.db")

# Pages (4 KiB) after which a writer checkpoints by itself: about 256 MiB,
# which a flood of new alerts fills in about 1.5 s. At 16,000 pages the
# ingest writer checkpointed 2-3 times a second under bench/ingest.py's
# Prometheus load; at 64,000, new alerts/s went from 32,900-36,900 to
# 36,000-39,700 (five alternating pairs, each in favour). The price is disk:
# under any stream of commits that outpaces the thread (PagerDuty events at
# 3,400/s did too) the log file grows to this size, and keeps it until the
# last connection closes, when SQLite deletes it.
WRITER_AUTOCHECKPOINT_PAGES = 64_000
INTERVAL_SECONDS = 0.5


class WalCheckpointer:
    """Checkpoints one SQLite database file every INTERVAL_SECONDS until stopped."""

    def __init__(self, url: str) -> None:
        self.path = make_url(url).database or ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if not self.path or self.path == ":memory:" or self.path.startswith("file:"):
            return
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._loop, name="watchkeeper-checkpoint", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join(timeout=10)
            self._thread = None

    def _loop(self) -> None:
        connection = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
        try:
            while not self._stop.wait(INTERVAL_SECONDS):
                try:
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error as exc:
                    log.warning("WAL checkpoint failed: %s", exc)
        finally:
            connection.close()
