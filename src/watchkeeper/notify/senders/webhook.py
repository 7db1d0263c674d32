"""Generic outgoing webhook: the message as JSON in an event envelope, HMAC-signed.

Receivers verify ``X-Watchkeeper-Signature`` with
``watchkeeper.notify.signature.verify_signature`` (or the recipe in
docs/notifications.md) and deduplicate retries by ``X-Watchkeeper-Delivery``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from watchkeeper.clock import Clock, SystemClock
from watchkeeper.notify.message import Message
from watchkeeper.notify.netguard import AllowList, safe_client
from watchkeeper.notify.senders.base import (
    DEFAULT_TIMEOUT,
    InvalidTarget,
    Outcome,
    checked_url,
    exception_outcome,
    http_outcome,
)
from watchkeeper.notify.signature import SIGNATURE_HEADER, signature_header

ENVELOPE_VERSION = 1
MIN_SECRET_LENGTH = 16


def validate_target(settings: Mapping[str, str], *, allow: AllowList) -> dict[str, str]:
    """Settings: ``url`` and ``secret`` (the signing key, at least 16 characters)."""
    url = checked_url(settings, "url", "The webhook URL", allow)
    secret = str(settings.get("secret") or "")
    if len(secret) < MIN_SECRET_LENGTH:
        raise InvalidTarget(
            f"The signing secret (secret) must be at least {MIN_SECRET_LENGTH} characters"
        )
    return {"url": url, "secret": secret}


def envelope(message: Message, sent_at: datetime) -> dict[str, Any]:
    """The JSON document posted: event metadata around the message itself."""
    return {
        "version": ENVELOPE_VERSION,
        "event": f"notification.{message.kind}",
        "delivery_id": message.idempotency_key,
        "sent_at": sent_at.isoformat(),
        "message": {
            "title": message.title,
            "severity": message.severity,
            "summary": message.summary,
            "kind": message.kind,
            "labels": dict(message.labels),
            "links": [{"title": t, "url": u} for t, u in message.links],
            "group_url": message.group_url,
            "ack_url": message.ack_url,
        },
    }


class WebhookSender:
    """POSTs signed JSON to any HTTP endpoint."""

    method = "webhook"

    def __init__(
        self,
        *,
        allow: AllowList | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        clock: Clock | None = None,
    ) -> None:
        self.allow = allow or AllowList()
        self.timeout = timeout
        self.clock = clock or SystemClock()

    def validate_target(self, settings: Mapping[str, str]) -> dict[str, str]:
        return validate_target(settings, allow=self.allow)

    def send(self, target: Mapping[str, str], message: Message) -> Outcome:
        try:
            settings = self.validate_target(target)
            now = self.clock.now()
            body = json.dumps(envelope(message, now), ensure_ascii=False).encode()
            timestamp = int(now.timestamp())
            headers = {
                "Content-Type": "application/json",
                SIGNATURE_HEADER: signature_header(body, settings["secret"], timestamp),
                "X-Watchkeeper-Event": f"notification.{message.kind}",
                "X-Watchkeeper-Delivery": message.idempotency_key,
            }
            with safe_client(self.allow, self.timeout) as client:
                response = client.post(settings["url"], content=body, headers=headers)
            return http_outcome(response)
        except Exception as exc:
            return exception_outcome(exc, [target.get("secret")])
