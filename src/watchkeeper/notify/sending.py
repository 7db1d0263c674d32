"""Sending claimed deliveries through the senders, outside any database transaction."""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from watchkeeper.api.context import AppContext
from watchkeeper.notify import dispatch
from watchkeeper.notify.dispatch import Claimed
from watchkeeper.notify.message import Message
from watchkeeper.notify.models import ChatDestination, ContactMethod, Delivery, OutgoingWebhook
from watchkeeper.notify.netguard import AllowList
from watchkeeper.notify.outgoing import send_webhook
from watchkeeper.notify.secrets import SecretBox
from watchkeeper.notify.senders import Outcome, Sender, UpdatingSender, build_senders

log = logging.getLogger("watchkeeper.notify")


@dataclass
class SendJob:
    """Everything needed to send one delivery, read while it was claimed."""

    delivery_id: int
    channel: str
    kind: str
    message: dict[str, Any]
    target: dict[str, str] = field(default_factory=dict)
    hook: dict[str, Any] | None = None
    update_of: str | None = None
    problem: str | None = None


class Notifier:
    """Claims due deliveries and sends them, on a small thread pool when running."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        settings = ctx.settings
        self.allow = AllowList.parse(
            settings.notify_url_allow, deny_private=settings.notify_deny_private
        )
        self.senders: dict[str, Sender] = build_senders(allow=self.allow, clock=ctx.clock)
        self.box = SecretBox(ctx.secret_key)
        self.defaults = settings.notify_defaults
        self.pool: ThreadPoolExecutor | None = None
        # Outcomes wait here for the engine's next pass, which records them all in
        # its one transaction instead of each sender thread taking the write lock.
        self.outcomes: queue.SimpleQueue[tuple[int, Outcome]] = queue.SimpleQueue()
        self.in_flight = 0
        self._lock = threading.Lock()
        self.on_outcome: Callable[[], None] = lambda: None
        self._taken: list[tuple[int, Outcome]] = []

    def start(self) -> None:
        self.pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="watchkeeper-send")

    def stop(self) -> None:
        if self.pool is not None:
            # Sends already running finish (each is bounded by its timeout); the
            # ones still queued are dropped: never sent, their claims go stale and
            # another process, or this one after a restart, sends them.
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None

    def settings_of(self, stored: str) -> dict[str, str]:
        data = json.loads(self.box.decrypt(stored))
        return {str(k): str(v) for k, v in data.items()}

    def seal(self, settings: Mapping[str, str]) -> str:
        return self.box.encrypt(json.dumps(dict(settings)))

    MAX_IN_FLIGHT = 32

    def record_outcomes(self, session: Session, *, now: datetime) -> int:
        """Store every outcome that finished since the last call.

        The caller commits, then calls ``stored`` (or ``unstored`` when the
        transaction failed, which puts the outcomes back for the next try).
        """
        count = 0
        while True:
            try:
                delivery_id, outcome = self.outcomes.get_nowait()
            except queue.Empty:
                return count
            self._taken.append((delivery_id, outcome))
            dispatch.record_outcome(
                session,
                delivery_id=delivery_id,
                sent=outcome.status == "sent",
                retryable=outcome.retryable,
                response=outcome.provider_response,
                provider_message_id=outcome.provider_message_id,
                now=now,
            )
            count += 1

    def stored(self) -> None:
        """The outcomes taken by ``record_outcomes`` are committed."""
        # In flight until its outcome is stored: a process killed before that
        # sends it again, so at most MAX_IN_FLIGHT duplicates per process.
        with self._lock:
            self.in_flight -= len(self._taken)
        self._taken = []

    def unstored(self) -> None:
        """The transaction that stored outcomes failed: keep them for the next pass."""
        for item in self._taken:
            self.outcomes.put(item)
        self._taken = []

    @property
    def full(self) -> bool:
        """True when no more deliveries may be claimed until outcomes are stored."""
        with self._lock:
            return self.in_flight >= self.MAX_IN_FLIGHT

    def claim(self, session: Session, *, now: datetime) -> list[SendJob]:
        """Claim due deliveries, as many as there is room for in flight."""
        with self._lock:
            room = self.MAX_IN_FLIGHT - self.in_flight
        if room <= 0:
            return []
        claimed = dispatch.claim_due(
            session,
            now=now,
            lock=self.ctx.db.is_postgres,
            limit=room,
            stale_after=timedelta(seconds=self.ctx.settings.delivery_claim_timeout_seconds),
        )
        return [self._job(session, row) for row in claimed]

    def dispatch(self, jobs: list[SendJob]) -> None:
        """Send claimed jobs (once their claim is committed): on the pool, else right here."""
        with self._lock:
            self.in_flight += len(jobs)
        for job in jobs:
            if self.pool is not None:
                self.pool.submit(self._send, job)
            else:
                self._send(job)

    def run(self, *, now: datetime) -> int:
        """Record finished outcomes, claim what is due and send it (tools and tests)."""
        with self.ctx.db.write() as session:
            self.record_outcomes(session, now=now)
            jobs = self.claim(session, now=now)
        self.stored()
        self.dispatch(jobs)
        with self.ctx.db.write() as session:
            self.record_outcomes(session, now=now)
        self.stored()
        return len(jobs)

    def _job(self, session: Session, row: Claimed) -> SendJob:
        job = SendJob(row.id, row.channel, row.kind, dict(row.message))
        try:
            if row.contact_method_id is not None:
                method = session.get(ContactMethod, row.contact_method_id)
                if method is None:
                    job.problem = "the contact method was deleted"
                else:
                    job.target = {
                        **self.defaults.get(method.type, {}),
                        **self.settings_of(method.settings_encrypted),
                    }
            elif row.chat_destination_id is not None:
                destination = session.get(ChatDestination, row.chat_destination_id)
                if destination is None:
                    job.problem = "the chat destination was deleted"
                else:
                    job.target = {
                        **self.defaults.get(destination.type, {}),
                        **self.settings_of(destination.settings_encrypted),
                    }
                original = row.message.get("update_of")
                if isinstance(original, int):
                    first = session.get(Delivery, original)
                    job.update_of = first.provider_message_id if first else None
            elif row.webhook_id is not None:
                hook = session.get(OutgoingWebhook, row.webhook_id)
                if hook is None:
                    job.problem = "the outgoing webhook was deleted"
                else:
                    job.hook = {
                        "url": hook.url,
                        "secret": self.box.decrypt(hook.secret_encrypted)
                        if hook.secret_encrypted
                        else None,
                        "headers": hook.headers or {},
                        "body_template": hook.body_template,
                    }
        except Exception as exc:  # undecryptable settings must fail the delivery, not the loop
            job.problem = f"cannot read the target settings: {exc}"
        return job

    def send(self, job: SendJob) -> Outcome:
        if job.problem:
            return Outcome.failed(job.problem, retryable=False)
        if job.hook is not None:
            return send_webhook(job.hook, job.message, allow=self.allow, now=self.ctx.clock.now())
        sender = self.senders.get(job.channel)
        if sender is None:
            return Outcome.failed(f"no sender for {job.channel!r}", retryable=False)
        message = Message.from_dict(job.message)
        if job.update_of and isinstance(sender, UpdatingSender):
            return sender.update(job.target, message, job.update_of)
        return sender.send(job.target, message)

    def _send(self, job: SendJob) -> None:
        try:
            outcome = self.send(job)
        except Exception as exc:  # senders should not raise; never lose the record if one does
            log.exception("sender crashed")
            outcome = Outcome.failed(f"sender crashed: {exc}", retryable=True)
        # If this process dies before the outcome is recorded, the claim goes
        # stale and the delivery is retried: at most one duplicate.
        self.outcomes.put((job.delivery_id, outcome))
        self.on_outcome()
