"""Channel senders and the registry that maps a contact method type to its sender."""

from __future__ import annotations

from watchkeeper.clock import Clock
from watchkeeper.notify.netguard import AllowList
from watchkeeper.notify.senders.apprise_url import AppriseSender
from watchkeeper.notify.senders.base import (
    DEFAULT_TIMEOUT,
    InvalidTarget,
    Outcome,
    Sender,
    UpdatingSender,
)
from watchkeeper.notify.senders.ntfy import NtfySender
from watchkeeper.notify.senders.phone import SmsSender, VoiceSender
from watchkeeper.notify.senders.slack import SlackSender
from watchkeeper.notify.senders.smtp import EmailSender
from watchkeeper.notify.senders.teams import TeamsSender
from watchkeeper.notify.senders.telegram import TelegramSender
from watchkeeper.notify.senders.webhook import WebhookSender

__all__ = [
    "SENDERS",
    "InvalidTarget",
    "Outcome",
    "Sender",
    "UpdatingSender",
    "build_senders",
]


def build_senders(
    *,
    allow: AllowList | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    clock: Clock | None = None,
) -> dict[str, Sender]:
    """One sender per contact method type, sharing the outgoing-URL allow-list from settings."""
    allow = allow or AllowList()
    return {
        "email": EmailSender(allow=allow, timeout=timeout, clock=clock),
        "slack": SlackSender(timeout=timeout),
        "teams": TeamsSender(allow=allow, timeout=timeout),
        "telegram": TelegramSender(allow=allow, timeout=timeout),
        "ntfy": NtfySender(allow=allow, timeout=timeout),
        "webhook": WebhookSender(allow=allow, timeout=timeout, clock=clock),
        "sms": SmsSender(allow=allow, timeout=timeout),
        "voice": VoiceSender(allow=allow, timeout=timeout),
        "apprise": AppriseSender(allow=allow, timeout=timeout),
    }


# Defaults (empty allow-list, system clock); the engine builds its own from settings.
SENDERS: dict[str, Sender] = build_senders()
