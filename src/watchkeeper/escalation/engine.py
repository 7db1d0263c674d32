"""The engine: turns outbox events and due timers into escalations and deliveries.

All of its state lives in the database (escalations, user notification
walkers, deliveries), so a restart loses nothing: whatever fell due while the
process was down runs on the first pass. It wakes as soon as a commit gives it
work (a callback in this process, LISTEN/NOTIFY from the others on
PostgreSQL), and otherwise polls once a second. On PostgreSQL any number of
processes run it side by side: one of them at a time reads the outbox (see
``wakeup.OutboxLeadership``; the cursor row is locked too), and all of them
claim due timers, walkers and deliveries with ``FOR UPDATE SKIP LOCKED``, so
no step runs twice.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from datetime import datetime, timedelta

from itsdangerous import BadSignature, URLSafeTimedSerializer
from prometheus_client import Counter, Gauge
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from watchkeeper.api.context import AppContext
from watchkeeper.db.engine import take_claim_request
from watchkeeper.escalation import consumer, runner
from watchkeeper.escalation.models import Escalation
from watchkeeper.escalation.routing_config import RoutingConfig
from watchkeeper.escalation.wakeup import OutboxLeadership
from watchkeeper.notify import dispatch
from watchkeeper.notify.models import Delivery, UserNotification
from watchkeeper.notify.sending import Notifier

log = logging.getLogger("watchkeeper.engine")
ACK_LINK_MAX_AGE = 24 * 3600
ACK_CHECK_EVERY = timedelta(seconds=1)
# Passes that find work start at most this often (see pass_interval)...
MIN_PASS_INTERVAL = 0.015
# ...or this often after a pass that found this much (a stream of new groups:
# a pass's fixed cost, a handful of statements, is then shared by more)...
BUSY_PASS_INTERVAL = 0.03
BUSY_PASS_ITEMS = 8
# ...and at least twice a pass's own length apart, up to this: the engine
# spends at most half its time in passes while work streams in.
# Longer gaps cost paging latency more than they save ingest CPU: at 0.1 s
# for both, PagerDuty events/s on PostgreSQL rose by a sixth, but at 50 new
# groups/s webhook -> page went from p50 19.7 / p99 44 ms to 32.8 / 125 ms on
# SQLite (57 / 96 to 90 / 143 ms on PostgreSQL) and 10,000 timers due at once
# ran p99 1.04 s late instead of 0.23 s (bench/escalation.py).
MAX_PASS_INTERVAL = 0.05
# Shortest idle sleep before a timer that is already due (held by another process).
MIN_SLEEP_SECONDS = 0.05
# Due escalation steps and rule walkers are looked for at most this often.
TIMER_CHECK_SECONDS = 0.1
# Longest an outcome waits to be stored when nothing else wakes the engine.
OUTCOME_DELAY = 0.2


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
        self.notifier.on_outcome = self._outcome_arrived
        self.links = AckLinks(ctx.secret_key, ctx.settings.base_url)
        # Guards _woken, _claim_asked and _outcome_at; the loop waits on it between passes.
        self._cond = threading.Condition()
        self._woken = False
        # A wake for anything but new outbox events: the next pass claims deliveries.
        self._claim_asked = False
        self._outcome_at: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.leadership = (
            OutboxLeadership(ctx.db.engine.url, self._wake_for_events, self._leading)
            if ctx.db.is_postgres
            else None
        )
        self._last_ack_check: datetime | None = None
        # Routes and webhooks, kept between passes while the outbox says they hold.
        self.known = RoutingConfig()
        # Monotonic time of the last look for due timers and walkers, and
        # whether the next pass must go event by event (the last one failed).
        self._last_timer_check = -1.0
        self._careful = False
        self._timers_skipped = False
        self._next_due: datetime | None = None
        self._last_done = 0
        self._last_start = 0.0
        self._last_length = 0.0
        self.passes = Counter(
            "watchkeeper_engine_passes", "Engine passes that found work", registry=ctx.registry
        )
        Gauge(
            "watchkeeper_engine_reads_outbox",
            "1 when this process's engine is the one reading the outbox (PostgreSQL: the leader)",
            registry=ctx.registry,
        ).set_function(lambda: float(self.running and self.reads_outbox))
        self.lag = Gauge(
            "watchkeeper_engine_last_pass_seconds",
            "Duration of the last engine pass",
            registry=ctx.registry,
        )

    # -- lifecycle -----------------------------------------------------------

    def start(self) -> None:
        self.notifier.start()
        self.ctx.db.wake_listeners.append(self.wake_for_outbox)
        self.ctx.db.claim_listeners.append(self.wake)
        if self.leadership is not None:
            self.leadership.start()
        self._thread = threading.Thread(target=self._loop, name="watchkeeper-engine", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.wake()
        if self._thread is not None:
            self._thread.join(timeout=30)
        if self.leadership is not None:
            self.leadership.stop()
        if self.wake_for_outbox in self.ctx.db.wake_listeners:
            self.ctx.db.wake_listeners.remove(self.wake_for_outbox)
        if self.wake in self.ctx.db.claim_listeners:
            self.ctx.db.claim_listeners.remove(self.wake)
        self.notifier.stop()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _leading(self, leading: bool) -> None:
        self.ctx.db.reads_outbox_here = leading

    def wake(self, *_: object) -> None:
        """Run a full pass now (for example: the API queued a delivery)."""
        with self._cond:
            self._woken = True
            self._claim_asked = True
            self._cond.notify()

    def _wake_for_events(self, *_: object) -> None:
        """New outbox events, here or (PostgreSQL NOTIFY) in another process."""
        with self._cond:
            self._woken = True
            self._cond.notify()

    def _outcome_arrived(self) -> None:
        # A send finished. Its outcome only needs storing, which is no reason to
        # run a pass at once: the next pass stores it, at the latest OUTCOME_DELAY
        # from now, so a stream of pages does not double the number of passes.
        # Unless the notifier is full: then storing outcomes is what frees it.
        if self.notifier.full:
            self.wake()
            return
        with self._cond:
            if self._outcome_at is None:
                self._outcome_at = time.monotonic()
                self._cond.notify()

    @property
    def reads_outbox(self) -> bool:
        """True unless another PostgreSQL process leads the outbox reading.

        An engine that takes no part in leadership (not started: tests, tools)
        reads when asked to; the cursor row lock still keeps it exclusive.
        """
        lead = self.leadership
        return lead is None or not lead.running or lead.is_leader

    def wake_for_outbox(self) -> None:
        """A commit in this process wrote outbox events the engine acts on."""
        if self.reads_outbox:
            self._wake_for_events()

    def _loop(self) -> None:
        poll = self.ctx.settings.engine_poll_seconds
        while not self._stop.is_set():
            # Under a stream of commits, passes that did work start at most every
            # MIN_PASS_INTERVAL (BUSY_PASS_INTERVAL after a full pass), or twice
            # their own length (up to MAX_PASS_INTERVAL) when they are long: each
            # pass takes the write lock (SQLite) and the GIL, and back-to-back
            # passes of a few new groups each would starve ingest, while fewer,
            # fuller passes cost less per group. A pass of ordinary length (a
            # page's) rarely waits here, and a pass after an idle one runs at once.
            if self._last_done:
                interval = pass_interval(self._last_done, self._last_length)
                gap = self._last_start + interval - time.monotonic()
                if gap > 0:
                    time.sleep(gap)
            self._last_start = time.monotonic()
            with self._cond:
                self._woken = False
                self._outcome_at = None
            try:
                busy = self.run_once(self.ctx.clock.now())
            except Exception:
                log.exception("engine pass failed")
                busy = False
            self._last_length = time.monotonic() - self._last_start
            if not busy:
                self._idle(poll)

    def _idle(self, poll: float) -> None:
        """Wait for a wake, stored outcomes or a timer to come due, or the next poll."""
        deadline = time.monotonic() + poll
        if self._next_due is not None:
            ahead = (self._next_due - self.ctx.clock.now()).total_seconds()
            # Never less than a moment: a due row another process holds must not spin us.
            deadline = min(deadline, time.monotonic() + max(ahead, MIN_SLEEP_SECONDS))
            self._next_due = None
        with self._cond:
            while not self._woken and not self._stop.is_set():
                until = deadline
                if self._outcome_at is not None:
                    until = min(until, self._outcome_at + OUTCOME_DELAY)
                if self._timers_skipped:
                    until = min(until, self._last_timer_check + TIMER_CHECK_SECONDS)
                remaining = until - time.monotonic()
                if remaining <= 0:
                    return
                self._cond.wait(remaining)

    # -- one pass ------------------------------------------------------------

    def run_once(self, now: datetime, *, timers: bool | None = None) -> bool:
        """Do everything that is due at ``now``; True when anything happened.

        ``timers`` says whether to look for due escalation steps and rule
        walkers; by default at most every TIMER_CHECK_SECONDS, since a pass
        woken for a new group starts its escalation and first sends anyway.
        """
        started = time.perf_counter()
        db = self.ctx.db
        lock = db.is_postgres
        base = self.ctx.settings.base_url
        ack = self.links.url
        # The same clock as _idle, which waits for the next timer check.
        checked_at = time.monotonic()
        if timers is None:
            timers = checked_at - self._last_timer_check >= TIMER_CHECK_SECONDS
        careful = self._careful
        with self._cond:
            claim_asked, self._claim_asked = self._claim_asked, False
        steps = walkers = 0
        # One transaction per pass: on SQLite every write transaction queues for
        # the single write lock, and a pass rarely takes more than a few ms.
        marks = [started]
        try:
            with db.write() as session:
                recorded = self.notifier.record_outcomes(session, now=now)
                marks.append(time.perf_counter())
                events = (
                    consumer.consume(
                        session,
                        now=now,
                        lock=lock,
                        base_url=base,
                        ack_url_for=ack,
                        careful=careful,
                        known=self.known,
                    )
                    if self.reads_outbox
                    else 0
                )
                marks.append(time.perf_counter())
                if timers:
                    steps = runner.run_due(
                        session, now=now, lock=lock, base_url=base, ack_url_for=ack
                    )
                marks.append(time.perf_counter())
                # Acknowledgement timeouts are minutes long; once a second is plenty.
                if self._last_ack_check is None or now - self._last_ack_check >= ACK_CHECK_EVERY:
                    self._last_ack_check = now
                    steps += runner.expire_acknowledgements(
                        session, now=now, base_url=base, ack_url_for=ack
                    )
                session.flush()
                if timers:
                    walkers = dispatch.run_due_user_notifications(
                        session, now=now, base_url=base, ack_url_for=ack, lock=lock
                    )
                session.flush()
                marks.append(time.perf_counter())
                # Due deliveries are this pass's own, or retries and the API's
                # (their commit wakes the engine, asking for a claim); otherwise
                # the next timer check claims them. Passes for a stream of new
                # groups skip the query.
                claim = take_claim_request(session) or timers or recorded or claim_asked
                jobs = self.notifier.claim(session, now=now) if claim else []
                marks.append(time.perf_counter())
                if timers and not (recorded or events or steps or walkers or jobs):
                    # Idle: sleep until the next timer instead of a whole poll.
                    self._next_due = _next_due(session)
        except Exception:
            # Outcomes taken from the queue were not stored: put them back.
            self.notifier.unstored()
            if careful:
                raise
            log.warning("engine pass failed; the next one goes event by event", exc_info=True)
            self._careful = True
            return True
        self._careful = False
        self.notifier.stored()
        if timers:
            self._last_timer_check = checked_at
        self._timers_skipped = not timers
        marks.append(time.perf_counter())
        self.notifier.dispatch(jobs)
        self._last_done = recorded + events + steps + walkers + len(jobs)
        busy = self._last_done > 0
        if busy:
            self.passes.inc()
            self.lag.set(time.perf_counter() - started)
            if log.isEnabledFor(logging.DEBUG):
                ms = [f"{(b - a) * 1000:.1f}" for a, b in itertools.pairwise(marks)]
                log.debug(
                    "engine pass: %d outcomes, %d events, %d steps, %d walkers, %d sends; "
                    "ms outcomes/events/steps/walkers/claim/commit %s",
                    recorded,
                    events,
                    steps,
                    walkers,
                    len(jobs),
                    "/".join(ms),
                )
        return busy

    def drain(self, now: datetime, *, passes: int = 10) -> None:
        """Run passes until nothing is left (tests and tools use this)."""
        for _ in range(passes):
            if not self.run_once(now, timers=True):
                return


def pass_interval(last_done: int, last_length: float) -> float:
    """Seconds from the start of a pass that did ``last_done`` things to the next one's."""
    least = BUSY_PASS_INTERVAL if last_done >= BUSY_PASS_ITEMS else MIN_PASS_INTERVAL
    return min(MAX_PASS_INTERVAL, max(least, 2 * last_length))


def _next_due(session: Session) -> datetime | None:
    """The earliest wake time of any escalation, rule walker or delivery retry."""
    times = session.execute(
        select(
            select(func.min(Escalation.wake_at))
            .where(Escalation.status == "active")
            .scalar_subquery(),
            select(func.min(UserNotification.wake_at))
            .where(UserNotification.status == "active")
            .scalar_subquery(),
            select(func.min(Delivery.next_attempt_at))
            .where(dispatch.PENDING_DELIVERY)
            .scalar_subquery(),
        )
    ).one()
    due = [t for t in times if t is not None]
    return min(due) if due else None
