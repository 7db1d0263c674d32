"""The engine: turns outbox events and due timers into escalations and deliveries.

All of its state lives in the database (escalations, user notification
walkers, deliveries), so a restart loses nothing: whatever fell due while the
process was down runs on the first pass. It wakes as soon as an ingest or an
action commits (an in-process signal), and otherwise polls once a second. On
PostgreSQL any number of processes run it side by side: the outbox cursor row
is locked by one consumer at a time and due rows are claimed with
``FOR UPDATE SKIP LOCKED``, so no step runs twice.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta

from itsdangerous import BadSignature, URLSafeTimedSerializer
from prometheus_client import Counter, Gauge

from watchkeeper.alerts.store import IngestResult
from watchkeeper.api.context import AppContext
from watchkeeper.escalation import consumer, runner
from watchkeeper.notify import dispatch
from watchkeeper.notify.sending import Notifier

log = logging.getLogger("watchkeeper.engine")
ACK_LINK_MAX_AGE = 24 * 3600
ACK_CHECK_EVERY = timedelta(seconds=1)
COALESCE_SECONDS = 0.01


class AckLinks:
    """Signed, expiring one-click acknowledge links."""

    def __init__(self, secret_key: str, base_url: str) -> None:
        self.serializer = URLSafeTimedSerializer(secret_key, salt="watchkeeper-ack")
        self.base_url = base_url

    def url(self, group_id: int, user_id: int) -> str:
        return f"{self.base_url}/ack/{self.serializer.dumps([group_id, user_id])}"

    def read(self, token: str) -> tuple[int, int] | None:
        try:
            group_id, user_id = self.serializer.loads(token, max_age=ACK_LINK_MAX_AGE)
        except (BadSignature, ValueError, TypeError):
            return None
        return int(group_id), int(user_id)


class Engine:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self.notifier = Notifier(ctx)
        self.notifier.on_outcome = self.wake
        self.links = AckLinks(ctx.secret_key, ctx.settings.base_url)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_ack_check: datetime | None = None
        self._after_pass = False
        self.passes = Counter(
            "watchkeeper_engine_passes", "Engine passes that found work", registry=ctx.registry
        )
        self.lag = Gauge(
            "watchkeeper_engine_last_pass_seconds",
            "Duration of the last engine pass",
            registry=ctx.registry,
        )

    # -- lifecycle -----------------------------------------------------------

    def start(self) -> None:
        self.notifier.start()
        self._thread = threading.Thread(target=self._loop, name="watchkeeper-engine", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self.notifier.stop()

    def wake(self, *_: object) -> None:
        self._wake.set()

    def wake_for(self, result: IngestResult) -> None:
        """Wake for ingests that change what the engine does (not mere repeats)."""
        if result.created_group_ids or result.resolved_group_ids or result.acknowledged_group_ids:
            self._wake.set()

    def _loop(self) -> None:
        poll = self.ctx.settings.engine_poll_seconds
        while not self._stop.is_set():
            # New work that arrived while the last pass ran means a burst: let
            # more commits coalesce for a few milliseconds (far fewer passes, each
            # of which takes the write lock). From idle, a new group runs at once.
            if self._wake.is_set() and self._after_pass:
                time.sleep(COALESCE_SECONDS)
            self._wake.clear()
            try:
                busy = self.run_once(self.ctx.clock.now())
            except Exception:
                log.exception("engine pass failed")
                busy = False
            self._after_pass = busy
            if not busy:
                self._wake.wait(timeout=poll)

    # -- one pass ------------------------------------------------------------

    def run_once(self, now: datetime) -> bool:
        """Do everything that is due at ``now``; True when anything happened."""
        started = time.perf_counter()
        db = self.ctx.db
        lock = db.is_postgres
        base = self.ctx.settings.base_url
        ack = self.links.url
        # One transaction per pass: on SQLite every write transaction queues for
        # the single write lock, and a pass rarely takes more than a few ms.
        with db.write() as session:
            recorded = self.notifier.record_outcomes(session, now=now)
            events = consumer.consume(session, now=now, lock=lock, base_url=base, ack_url_for=ack)
            steps = runner.run_due(session, now=now, lock=lock, base_url=base, ack_url_for=ack)
            # Acknowledgement timeouts are minutes long; once a second is plenty.
            if self._last_ack_check is None or now - self._last_ack_check >= ACK_CHECK_EVERY:
                self._last_ack_check = now
                steps += runner.expire_acknowledgements(
                    session, now=now, base_url=base, ack_url_for=ack
                )
            session.flush()
            walkers = dispatch.run_due_user_notifications(
                session, now=now, base_url=base, ack_url_for=ack, lock=lock
            )
            session.flush()
            jobs = self.notifier.claim(session, now=now)
        self.notifier.dispatch(jobs)
        busy = bool(recorded or events or steps or walkers or jobs)
        if busy:
            self.passes.inc()
            self.lag.set(time.perf_counter() - started)
        return busy

    def drain(self, now: datetime, *, passes: int = 10) -> None:
        """Run passes until nothing is left (tests and tools use this)."""
        for _ in range(passes):
            if not self.run_once(now):
                return
