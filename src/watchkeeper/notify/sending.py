"""Sending claimed deliveries through the senders, outside any database transaction."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from watchkeeper.api.context import AppContext
from watchkeeper.notify import dispatch
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

    def start(self) -> None:
        self.pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="watchkeeper-send")

    def stop(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=False)
            self.pool = None

    def settings_of(self, stored: str) -> dict[str, str]:
        data = json.loads(self.box.decrypt(stored))
        return {str(k): str(v) for k, v in data.items()}

    def seal(self, settings: Mapping[str, str]) -> str:
        return self.box.encrypt(json.dumps(dict(settings)))

    def run(self, *, now: datetime) -> int:
        """Claim what is due and send it (in the pool when started, else inline)."""
        with self.ctx.db.write() as session:
            claimed = dispatch.claim_due(session, now=now, lock=self.ctx.db.is_postgres)
            jobs = [self._job(session, row) for row in claimed]
        for job in jobs:
            if self.pool is not None:
                self.pool.submit(self._send_and_record, job)
            else:
                self._send_and_record(job)
        return len(jobs)

    def _job(self, session: Session, row: Delivery) -> SendJob:
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

    def _send_and_record(self, job: SendJob) -> None:
        try:
            outcome = self.send(job)
        except Exception as exc:  # senders should not raise; never lose the record if one does
            log.exception("sender crashed")
            outcome = Outcome.failed(f"sender crashed: {exc}", retryable=True)
        try:
            with self.ctx.db.write() as session:
                dispatch.record_outcome(
                    session,
                    delivery_id=job.delivery_id,
                    sent=outcome.status == "sent",
                    retryable=outcome.retryable,
                    response=outcome.provider_response,
                    provider_message_id=outcome.provider_message_id,
                    now=self.ctx.clock.now(),
                )
        except Exception:
            # The claim goes stale and the delivery is retried: at most one duplicate.
            log.exception("could not record the outcome of delivery %s", job.delivery_id)
