"""Slack through ``slack_sdk``'s WebClient: ``chat.postMessage`` and ``chat.update``.

A user ID as the channel makes the bot post in its direct-message channel with
that person. Slack answers with the real channel (``D…`` for a DM), which
``chat.update`` needs, so the provider message id is ``"<channel>:<ts>"``.
slack_sdk talks through urllib, not httpx, so the outgoing-URL guard does not
apply; ``base_url`` is operator configuration, never a user's input.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from watchkeeper.notify.cards import render_slack_blocks, slack_fallback_text
from watchkeeper.notify.message import Message
from watchkeeper.notify.senders.base import (
    DEFAULT_TIMEOUT,
    InvalidTarget,
    Outcome,
    exception_outcome,
    is_retryable_status,
    required,
)

_ID = re.compile(r"^[CDGUW][A-Z0-9]{6,20}$")
# Slack "ok": false errors that are about Slack's state, not our request.
RETRYABLE_ERRORS = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)


def validate_target(settings: Mapping[str, str]) -> dict[str, str]:
    """Settings: ``token`` (bot token ``xoxb-…``) and ``channel`` (or ``user``) ID."""
    token = required(settings, "token", "The Slack bot token")
    if not token.startswith("xox"):
        raise InvalidTarget("The Slack bot token must start with xoxb- (or xoxp-)")
    channel = str(settings.get("channel") or settings.get("user") or "").strip()
    if not _ID.match(channel):
        raise InvalidTarget(
            "The Slack channel must be an ID such as C0123ABCDEF (channel) or "
            f"U0123ABCDEF (direct message to a user), not {channel!r}"
        )
    return {"token": token, "channel": channel}


def _api_error_outcome(exc: SlackApiError) -> Outcome:
    status = int(exc.response.status_code)
    data = exc.response.data
    error = data.get("error", "") if isinstance(data, dict) else ""
    retryable = is_retryable_status(status) or error in RETRYABLE_ERRORS
    return Outcome.failed(f"HTTP {status} {_dump(data)}", retryable=retryable)


def _dump(data: Any) -> str:
    if isinstance(data, bytes):
        return data.decode("utf-8", "replace")
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


class SlackSender:
    """Posts Block Kit messages as the Watchkeeper Slack app."""

    method = "slack"

    def __init__(
        self, *, timeout: float = DEFAULT_TIMEOUT, base_url: str = WebClient.BASE_URL
    ) -> None:
        self.timeout = timeout
        self.base_url = base_url.rstrip("/") + "/"

    def validate_target(self, settings: Mapping[str, str]) -> dict[str, str]:
        return validate_target(settings)

    def _client(self, token: str) -> WebClient:
        # No built-in retries: the engine retries and records every attempt.
        return WebClient(
            token=token,
            base_url=self.base_url,
            timeout=max(1, math.ceil(self.timeout)),
            retry_handlers=[],
        )

    def send(self, target: Mapping[str, str], message: Message) -> Outcome:
        try:
            settings = self.validate_target(target)
            response = self._client(settings["token"]).chat_postMessage(
                channel=settings["channel"],
                text=slack_fallback_text(message),
                blocks=render_slack_blocks(message),
                unfurl_links=False,
                unfurl_media=False,
            )
            message_id = f"{response.get('channel') or settings['channel']}:{response.get('ts')}"
            return Outcome.sent(_dump(response.data), message_id)
        except SlackApiError as exc:
            return _api_error_outcome(exc)
        except Exception as exc:
            return exception_outcome(exc, [target.get("token")])

    def update(
        self, target: Mapping[str, str], message: Message, provider_message_id: str
    ) -> Outcome:
        try:
            settings = self.validate_target(target)
            channel, _, ts = provider_message_id.rpartition(":")
            response = self._client(settings["token"]).chat_update(
                channel=channel or settings["channel"],
                ts=ts,
                text=slack_fallback_text(message),
                blocks=render_slack_blocks(message),
            )
            return Outcome.sent(_dump(response.data), provider_message_id)
        except SlackApiError as exc:
            return _api_error_outcome(exc)
        except Exception as exc:
            return exception_outcome(exc, [target.get("token")])
