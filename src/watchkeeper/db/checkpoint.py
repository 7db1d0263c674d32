"""SQLite WAL checkpoints in a thread of their own, off the ingest writer's path.

In WAL mode SQLite copies committed pages back into the database file (a
checkpoint, with an fsync) from inside whichever commit pushes the log past
``wal_autocheckpoint`` pages. Under ingest load that commit is the writer's,
and every 4 MB one batch of senders waits for the disk. This thread runs a
PASSIVE checkpoint (it never blocks readers or the writer) twice a second
instead, with the GIL released while SQLite works. The writer connections
keep a large automatic checkpoint as a safety net for when the server is not
running (CLI commands, tests without the app).

SQLite starts the log over from its beginning only when a write transaction
begins with every frame already copied back. Under a flood of new alerts
(some 40,000 pages a second) the thread's pass always finishes while the
ingest writer is inside its next transaction, which then appends more; the
log would grow until a writer's commit passed ``wal_autocheckpoint`` pages
and checkpointed inside COMMIT (30-100 ms with its two fsyncs, which is what
let the log start over). So once the log holds RESTART_PAGES, the thread
copies the rest while holding this process's write lock (the one writers
take before BEGIN IMMEDIATE, ``db.engine.sqlite_write_lock``): what was
appended during its own pass, 1,500-3,500 pages under that flood, 30-50 ms
during which writers wait. The next write starts the log over.
"""

from __future__ import annotations

import logging
import sqlite3
import threading

from sqlalchemy import make_url

log = logging.getLogger("watchkeeper.db")

# Pages (4 KiB) after which a writer checkpoints by itself, about 256 MiB: a
# safety net for when the thread does not run. At 16,000 pages, before the
# thread finished the log under the write lock, the ingest writer did so 2-3
# times a second under bench/ingest.py's Prometheus load.
WRITER_AUTOCHECKPOINT_PAGES = 64_000
INTERVAL_SECONDS = 0.5
# Log pages (4 KiB; 64 MiB) from which a pass finishes the log under the write
# lock. Under bench/ingest.py's Prometheus flood the log file peaked at
# 120-150 MB with it (270 MB when only writers' checkpoints restarted it).
RESTART_PAGES = 16_000


class WalCheckpointer:
    """Checkpoints one SQLite database file every INTERVAL_SECONDS until stopped."""

    def __init__(self, url: str, *, write_lock: threading.Lock | None = None) -> None:
        self.path = make_url(url).database or ""
        # This process's writers' lock (db.engine.sqlite_write_lock): held to
        # finish a long log (see the module's docstring). Without it a log that
        # never pauses only starts over when a writer checkpoints it.
        self.write_lock = write_lock
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
                    # (busy, pages in the log, pages copied back)
                    logged = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1]
                    if self.write_lock is not None and logged >= RESTART_PAGES:
                        with self.write_lock:
                            connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error as exc:
                    log.warning("WAL checkpoint failed: %s", exc)
        finally:
            connection.close()
