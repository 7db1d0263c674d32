"""Group commit for ingest: writer threads commit many requests per transaction.

Every accepted payload must be committed before its sender hears 2xx, and a
commit is the expensive part (an fsync on PostgreSQL, the single write lock
on SQLite). Concurrent requests therefore hand their parsed alerts to the
process's writer threads; a writer drains the queue, stores every waiting
payload in one transaction, commits once, and only then answers them all
(a payload that fails is retried alone, so one bad payload cannot sink the
others). Requests waiting on an event loop are answered with one call into
that loop per commit, not one per request (see ``_settle``).

SQLite gets one writer: it has one write lock. PostgreSQL gets two by
default (``ingest_writers``): a commit there spends most of its time waiting
for the server, and while one writer waits the other stores the requests
that arrived meanwhile, on its own connection. They can touch the same rows
(the same alert sent twice, counters of a shared group); they lock them in
id order and retry a payload alone on a conflict, as separate processes do.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from watchkeeper.alerts import integrations as svc
from watchkeeper.alerts import store
from watchkeeper.alerts.batch import Payload, ingest_many
from watchkeeper.alerts.models import Integration
from watchkeeper.alerts.normalized import NormalizedAlert
from watchkeeper.api.context import AppContext
from watchkeeper.db.engine import UNAVAILABLE, is_conflict

log = logging.getLogger("watchkeeper.ingest.writer")

MAX_JOBS_PER_COMMIT = 64
MAX_ALERTS_PER_COMMIT = 10_000


@dataclass
class IngestJob:
    integration: Integration
    alerts: Sequence[NormalizedAlert]
    raw: str
    template_errors: Sequence[str] = ()
    future: Future[store.IngestResult] = field(default_factory=Future)
    # Set by ``submit_async``: the event loop's future the request awaits
    # (``future`` is then left alone).
    waiter: asyncio.Future[store.IngestResult] | None = None


Outcome = tuple[IngestJob, store.IngestResult | None, Exception | None]


def write_jobs(
    session: Session, jobs: Sequence[IngestJob], ctx: AppContext
) -> list[store.IngestResult]:
    now = ctx.clock.now()
    # The integrations are the gate's cached, detached rows: ingest only reads
    # them (merging each into the session cost more than a single event's insert).
    payloads = [Payload(job.integration, job.alerts, job.raw) for job in jobs]
    # Template errors are recorded below, in the same transaction: only
    # without them may ingest's last statements carry the COMMIT.
    errors = any(job.template_errors for job in jobs)
    results = ingest_many(session, payloads, now, commit=not errors)
    for job in jobs:
        if job.template_errors:
            fresh = session.get(Integration, job.integration.id)
            if fresh is not None:
                svc.record_template_errors(
                    session, integration=fresh, errors=job.template_errors, now=now
                )
    return results


def writer_count(ctx: AppContext) -> int:
    """How many writer threads this process runs (see the module's docstring)."""
    if ctx.db.is_sqlite:
        return 1
    return ctx.settings.ingest_writers or 2


class IngestWriter:
    """The per-process writer threads; ``submit`` writes inline when none runs."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self._queue: queue.Queue[IngestJob | None] = queue.Queue()
        self._threads: list[threading.Thread] = []
        # Between start and stop (asking every request whether the threads
        # are alive cost more than queueing its job).
        self.running = False

    def start(self) -> None:
        self._threads = [
            threading.Thread(target=self._loop, name=f"watchkeeper-ingest-{n}", daemon=True)
            for n in range(writer_count(self.ctx))
        ]
        for thread in self._threads:
            thread.start()
        self.running = True

    def stop(self) -> None:
        self.running = False
        for _thread in self._threads:
            self._queue.put(None)  # one each: a writer stops at the first it takes
        for thread in self._threads:
            thread.join(timeout=30)
        self._threads = []

    def submit(self, job: IngestJob) -> Future[store.IngestResult]:
        """Queue a job for the writer thread (or write it now when there is none)."""
        if not self.running:
            self._commit([job])
        else:
            self._queue.put(job)
        return job.future

    def submit_async(self, job: IngestJob) -> asyncio.Future[store.IngestResult]:
        """Queue a job for the writer threads; the result arrives on the running loop.

        Only while the writers run (``running``). A commit answers all of its
        requests waiting on one loop with a single ``call_soon_threadsafe``:
        a ``concurrent.futures.Future`` per request, chained into the loop
        with ``asyncio.wrap_future``, cost the event loop about a tenth of its
        time per PagerDuty event (a loop wake-up per request, a lock and a
        condition per future).
        """
        job.waiter = asyncio.get_running_loop().create_future()
        self._queue.put(job)
        return job.waiter

    def _loop(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            batch = [job]
            alerts = len(job.alerts)
            while len(batch) < MAX_JOBS_PER_COMMIT and alerts < MAX_ALERTS_PER_COMMIT:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._commit(batch)
                    return
                batch.append(more)
                alerts += len(more.alerts)
            self._commit(batch)

    def _commit(self, batch: list[IngestJob]) -> None:
        try:
            with self.ctx.db.write() as session:
                results = write_jobs(session, batch, self.ctx)
            done: list[Outcome] = [
                (job, result, None) for job, result in zip(batch, results, strict=True)
            ]
        except Exception as exc:
            if isinstance(exc, UNAVAILABLE) and not is_conflict(exc):
                # The database is down or locked up: every payload gets the error (503).
                log.warning("ingest commit failed for %d payloads: %s", len(batch), exc)
                done = [(job, None, exc) for job in batch]
            else:
                # A race with another writer (a unique key, a deadlock) or a payload
                # that trips a bug: retry one by one so only the culprit fails.
                done = [self._write_alone(job) for job in batch]
        _settle(done)

    def _write_alone(self, job: IngestJob) -> Outcome:
        error: Exception = RuntimeError("not written")
        for _attempt in range(3):
            try:
                with self.ctx.db.write() as session:
                    return job, write_jobs(session, [job], self.ctx)[0], None
            except Exception as exc:
                if not is_conflict(exc):
                    if not isinstance(exc, UNAVAILABLE):
                        log.exception("ingest of one payload failed")
                    return job, None, exc
                error = exc
        return job, None, error


def _settle(done: Sequence[Outcome]) -> None:
    """Hand every job its result or error: thread futures here, loop futures on their loop."""
    waiting: dict[asyncio.AbstractEventLoop, list[Outcome]] = {}
    for outcome in done:
        job, result, error = outcome
        if job.waiter is not None:
            waiting.setdefault(job.waiter.get_loop(), []).append(outcome)
        elif error is not None:
            job.future.set_exception(error)
        else:
            job.future.set_result(result)  # type: ignore[arg-type]
    for loop, outcomes in waiting.items():
        try:
            loop.call_soon_threadsafe(_settle_waiters, outcomes)
        except RuntimeError:  # the loop closed: nobody waits for these any more
            log.warning("event loop closed before %d ingest answers", len(outcomes))


def _settle_waiters(outcomes: Sequence[Outcome]) -> None:
    """On the event loop: wake each request with its result (unless it gave up)."""
    for job, result, error in outcomes:
        waiter = job.waiter
        if waiter is None or waiter.done():  # cancelled: the sender went away
            continue
        if error is not None:
            waiter.set_exception(error)
        else:
            waiter.set_result(result)  # type: ignore[arg-type]
