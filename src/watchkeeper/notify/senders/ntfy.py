"""ntfy (ntfy.sh or self-hosted): a POST to the topic URL with headers for the extras.

Header values must be ASCII; ntfy decodes RFC 2047 encoded words, so titles
in other scripts are sent as ``=?UTF-8?B?...?=``.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping

import httpx

from watchkeeper.notify.message import Message, is_web_url, one_line, shorten
from watchkeeper.notify.netguard import AllowList, safe_client
from watchkeeper.notify.senders.base import (
    DEFAULT_TIMEOUT,
    InvalidTarget,
    Outcome,
    checked_url,
    exception_outcome,
    http_outcome,
)

# ntfy priorities: 5 urgent (bypasses Do Not Disturb on Android), 1 min.
PRIORITIES = {"critical": "5", "error": "4", "warning": "3", "info": "2"}
TAGS = {"critical": "rotating_light", "error": "red_circle", "warning": "warning", "info": "bell"}


def validate_target(settings: Mapping[str, str], *, allow: AllowList) -> dict[str, str]:
    """Settings: ``url`` (topic URL), optional ``token`` or ``username`` + ``password``."""
    url = checked_url(settings, "url", "The ntfy topic URL", allow)
    if not httpx.URL(url).path.strip("/"):
        raise InvalidTarget("The ntfy topic URL must name a topic, e.g. https://ntfy.sh/my-topic")
    clean = {"url": url}
    for key in ("token", "username", "password"):
        if settings.get(key):
            clean[key] = str(settings[key])
    if "username" in clean and "password" not in clean:
        raise InvalidTarget("The ntfy password (password) is required with a username")
    return clean


def header_value(text: str) -> str:
    """A single-line header value; non-ASCII as an RFC 2047 encoded word."""
    line = one_line(text)
    if line.isascii():
        return line
    return "=?UTF-8?B?" + base64.b64encode(line.encode()).decode("ascii") + "?="


def _action_url(url: str) -> str:
    # Commas and semicolons separate action fields; quote URLs containing them.
    return f'"{url}"' if any(c in url for c in ',;"') else url


def ntfy_headers(message: Message) -> dict[str, str]:
    """Title, Priority, Tags, Click and Actions headers for ``message``."""
    severity = message.severity.lower()
    headers = {
        "Title": header_value(shorten(f"[{message.severity_word}] {message.title}", 250)),
        "Priority": PRIORITIES.get(severity, "3"),
        "Tags": TAGS.get(severity, "bell"),
    }
    actions = []
    if is_web_url(message.group_url):
        headers["Click"] = message.group_url
        actions.append(f"view, Open, {_action_url(message.group_url)}")
    if message.ack_url and is_web_url(message.ack_url) and '"' not in message.ack_url:
        # An http action runs in the background from the phone: one tap acknowledges.
        actions.append(
            f"http, Acknowledge, {_action_url(message.ack_url)}, method=POST, clear=true"
        )
    if actions:
        headers["Actions"] = "; ".join(actions)
    return headers


class NtfySender:
    """Publishes to an ntfy topic."""

    method = "ntfy"

    def __init__(self, *, allow: AllowList | None = None, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.allow = allow or AllowList()
        self.timeout = timeout

    def validate_target(self, settings: Mapping[str, str]) -> dict[str, str]:
        return validate_target(settings, allow=self.allow)

    def send(self, target: Mapping[str, str], message: Message) -> Outcome:
        secrets = [target.get("token"), target.get("password")]
        try:
            settings = self.validate_target(target)
            headers = ntfy_headers(message)
            if "token" in settings:
                headers["Authorization"] = f"Bearer {settings['token']}"
            elif "username" in settings:
                pair = f"{settings['username']}:{settings['password']}".encode()
                headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
            body = message.summary.strip() or message.title
            with safe_client(self.allow, self.timeout) as client:
                response = client.post(settings["url"], content=body.encode(), headers=headers)
            message_id = None
            if response.is_success:
                try:
                    message_id = str(response.json().get("id") or "") or None
                except ValueError:
                    message_id = None
            return http_outcome(response, message_id)
        except Exception as exc:
            return exception_outcome(exc, secrets)
