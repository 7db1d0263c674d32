"""Microsoft Teams through a Workflows webhook ("When a Teams webhook request is received").

The old Office 365 connector webhooks are retired; Workflows webhooks take an
Adaptive Card wrapped in a message and answer 202 Accepted.
"""

from __future__ import annotations

from collections.abc import Mapping

from watchkeeper.notify.cards import render_teams_card
from watchkeeper.notify.message import Message
from watchkeeper.notify.netguard import AllowList, safe_client
from watchkeeper.notify.senders.base import (
    DEFAULT_TIMEOUT,
    Outcome,
    checked_url,
    exception_outcome,
    http_outcome,
)


def validate_target(settings: Mapping[str, str], *, allow: AllowList) -> dict[str, str]:
    """Settings: ``url``, the workflow's HTTP POST URL."""
    return {"url": checked_url(settings, "url", "The Teams workflow URL", allow)}


class TeamsSender:
    """Posts an Adaptive Card to a Teams channel or chat."""

    method = "teams"

    def __init__(self, *, allow: AllowList | None = None, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.allow = allow or AllowList()
        self.timeout = timeout

    def validate_target(self, settings: Mapping[str, str]) -> dict[str, str]:
        return validate_target(settings, allow=self.allow)

    def send(self, target: Mapping[str, str], message: Message) -> Outcome:
        # The workflow URL embeds its signature (sig=...), so it is a secret too.
        url = target.get("url")
        try:
            settings = self.validate_target(target)
            with safe_client(self.allow, self.timeout) as client:
                response = client.post(settings["url"], json=render_teams_card(message))
            return http_outcome(response)
        except Exception as exc:
            return exception_outcome(exc, [url])
