"""Background work that runs beside the HTTP server: periodic tasks in threads.

Every task runs inside one write transaction. On PostgreSQL, a transaction-
scoped advisory lock per task lets any number of processes run the same
workers while only one of them does a given task at a time; on SQLite one
process owns the database anyway.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from watchkeeper.api.context import AppContext

log = logging.getLogger("watchkeeper.worker")

Task = Callable[[Session, datetime], object]


def advisory_key(name: str) -> int:
    """A stable signed 64-bit key for pg_try_advisory_xact_lock."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


@dataclass
class PeriodicTask:
    name: str
    interval_seconds: float
    run: Task
    # For tasks that work in batches: when a run returns a Backlog (it did a full
    # batch and more is waiting), the next run comes after this many seconds
    # instead of the interval. Each batch is its own short transaction, so
    # ingest waits for the database lock (SQLite) no longer than one batch.
    backlog_seconds: float | None = None


class Backlog(int):
    """A batch task's count of what it did, when a full batch left more to do."""


def run_task_once(ctx: AppContext, task: PeriodicTask) -> bool:
    """Run one task in its own transaction; False when another process holds it."""
    return _run(ctx, task) is not _HELD


_HELD = object()


def _run(ctx: AppContext, task: PeriodicTask) -> object:
    with ctx.db.write() as session:
        if ctx.db.is_postgres:
            got = session.execute(
                text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": advisory_key(task.name)}
            ).scalar()
            if not got:
                return _HELD
        return task.run(session, ctx.clock.now())


class PeriodicWorker:
    """Runs tasks on their intervals in one daemon thread until stopped."""

    def __init__(self, ctx: AppContext, tasks: list[PeriodicTask]) -> None:
        self.ctx = ctx
        self.tasks = tasks
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="watchkeeper-periodic", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout=10)

    def wake(self) -> None:
        self._wake.set()

    def _loop(self) -> None:
        import time

        due = {task.name: 0.0 for task in self.tasks}
        while not self._stop.is_set():
            now = time.monotonic()
            for task in self.tasks:
                if self._stop.is_set():
                    return
                if now < due[task.name]:
                    continue
                interval = task.interval_seconds
                try:
                    if isinstance(_run(self.ctx, task), Backlog) and task.backlog_seconds:
                        interval = task.backlog_seconds
                except Exception:
                    log.exception("periodic task %s failed", task.name)
                due[task.name] = time.monotonic() + interval
            wait = max(0.05, min(due.values()) - time.monotonic())
            self._wake.wait(timeout=wait)
            self._wake.clear()
