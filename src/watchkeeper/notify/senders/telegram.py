"""Telegram through the Bot API (``sendMessage``, ``editMessageText``) over httpx.

We call the HTTP API directly rather than python-telegram-bot: two JSON
endpoints do not justify an asyncio framework in a synchronous sender, and
httpx lets every request pass the outgoing-URL guard. ``api_url`` points at a
self-hosted Bot API server or, in tests, a local one.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from watchkeeper.notify.message import Message, is_web_url, render_telegram_html
from watchkeeper.notify.netguard import AllowList, safe_client
from watchkeeper.notify.senders.base import (
    DEFAULT_TIMEOUT,
    InvalidTarget,
    Outcome,
    exception_outcome,
    http_outcome,
    required,
)

DEFAULT_API_URL = "https://api.telegram.org"
_TOKEN = re.compile(r"^\d{3,}:[A-Za-z0-9_-]{30,}$")
_CHAT = re.compile(r"^(-?\d{1,20}|@[A-Za-z][A-Za-z0-9_]{4,31})$")


def validate_target(settings: Mapping[str, str]) -> dict[str, str]:
    """Settings: ``bot_token`` (from @BotFather) and ``chat_id`` (number or @channel)."""
    token = required(settings, "bot_token", "The bot token")
    if not _TOKEN.match(token):
        raise InvalidTarget("The bot token must look like 123456789:AAH... (from @BotFather)")
    chat = required(settings, "chat_id", "The chat ID")
    if not _CHAT.match(chat):
        raise InvalidTarget("The chat ID must be a number such as -1001234567890 or @channelname")
    return {"bot_token": token, "chat_id": chat}


def _button_url(url: str | None) -> bool:
    # Telegram rejects the *whole message* when a button URL is not a public
    # https address (localhost, bare IPs), so such links stay in the text only.
    if not url or not is_web_url(url) or not url.startswith("https://"):
        return False
    host = urlsplit(url).hostname or ""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return "." in host
    return False


def message_payload(chat_id: str, message: Message) -> dict[str, Any]:
    """The JSON body of ``sendMessage`` (and, with ``message_id``, ``editMessageText``)."""
    payload: dict[str, Any] = {
        "chat_id": int(chat_id) if chat_id.lstrip("-").isdigit() else chat_id,
        "text": render_telegram_html(message),
        "parse_mode": "HTML",
        "link_preview_options": {"is_disabled": True},
    }
    buttons = []
    if _button_url(message.ack_url):
        buttons.append({"text": "Acknowledge", "url": message.ack_url})
    if _button_url(message.group_url):
        buttons.append({"text": "Open", "url": message.group_url})
    if buttons:
        payload["reply_markup"] = {"inline_keyboard": [buttons]}
    return payload


def _message_id(body: str) -> str | None:
    try:
        result = json.loads(body).get("result")
    except (ValueError, AttributeError):
        return None
    if isinstance(result, dict) and "message_id" in result:
        return str(result["message_id"])
    return None


class TelegramSender:
    """Sends and edits messages as a Telegram bot."""

    method = "telegram"

    def __init__(
        self,
        *,
        allow: AllowList | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        api_url: str = DEFAULT_API_URL,
    ) -> None:
        self.allow = allow or AllowList()
        self.timeout = timeout
        self.api_url = api_url.rstrip("/")

    def validate_target(self, settings: Mapping[str, str]) -> dict[str, str]:
        return validate_target(settings)

    def send(self, target: Mapping[str, str], message: Message) -> Outcome:
        return self._call(target, "sendMessage", message, None)

    def update(
        self, target: Mapping[str, str], message: Message, provider_message_id: str
    ) -> Outcome:
        return self._call(target, "editMessageText", message, provider_message_id)

    def _call(
        self, target: Mapping[str, str], api_method: str, message: Message, message_id: str | None
    ) -> Outcome:
        token = target.get("bot_token")
        try:
            settings = self.validate_target(target)
            payload = message_payload(settings["chat_id"], message)
            if message_id is not None:
                payload["message_id"] = int(message_id)
            # The token is part of the path; never let it reach a log or outcome.
            url = f"{self.api_url}/bot{settings['bot_token']}/{api_method}"
            with safe_client(self.allow, self.timeout) as client:
                response = client.post(url, json=payload)
            if message_id is not None and "message is not modified" in response.text:
                return Outcome.sent(response.text, message_id)
            new_id = message_id
            if response.is_success:
                new_id = _message_id(response.text) or new_id
            return http_outcome(response, new_id)
        except Exception as exc:
            return exception_outcome(exc, [token])
