"""What every sender shares: the ``Sender`` protocol, ``Outcome`` and error classification.

Senders never raise for a provider problem; they return an ``Outcome`` that
says whether trying again could help. The engine decides when to retry.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

import httpx

from watchkeeper.errors import Invalid
from watchkeeper.notify.message import Message
from watchkeeper.notify.netguard import AllowList, UnresolvableHost, UnsafeUrl, check_url

log = logging.getLogger("watchkeeper.notify")

MAX_PROVIDER_RESPONSE_BYTES = 2048
DEFAULT_TIMEOUT = 10.0
# Statuses where the same request may well succeed later.
RETRYABLE_STATUSES = frozenset({408, 425, 429})
E164 = re.compile(r"^\+[1-9]\d{6,14}$")


class InvalidTarget(Invalid):
    """A contact method's settings cannot work (bad address, refused URL...)."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result of one delivery attempt, as the delivery log records it."""

    status: Literal["sent", "failed"]
    retryable: bool
    provider_response: str
    provider_message_id: str | None = None

    @classmethod
    def sent(cls, response: str, message_id: str | None = None) -> Outcome:
        return cls("sent", False, truncate(response), message_id)

    @classmethod
    def failed(cls, response: str, *, retryable: bool) -> Outcome:
        return cls("failed", retryable, truncate(response), None)


@runtime_checkable
class Sender(Protocol):
    """Delivers a ``Message`` to one contact method."""

    method: str

    def validate_target(self, settings: Mapping[str, str]) -> dict[str, str]:
        """The normalized settings, or ``InvalidTarget`` saying what is wrong."""
        ...

    def send(self, target: Mapping[str, str], message: Message) -> Outcome:
        """Deliver ``message``; never raises for provider or network errors."""
        ...


@runtime_checkable
class UpdatingSender(Sender, Protocol):
    """A chat sender that can rewrite a message it sent (on acknowledge or resolve)."""

    def update(
        self, target: Mapping[str, str], message: Message, provider_message_id: str
    ) -> Outcome:
        """Replace the content of the message ``provider_message_id`` with ``message``."""
        ...


def truncate(text: str, limit: int = MAX_PROVIDER_RESPONSE_BYTES) -> str:
    """``text`` cut to ``limit`` UTF-8 bytes without splitting a character."""
    data = text.encode("utf-8", "replace")
    if len(data) <= limit:
        return text
    return data[:limit].decode("utf-8", "ignore")


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with every non-trivial secret replaced, so logs never hold tokens."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[redacted]")
    return text


def is_retryable_status(status: int) -> bool:
    """5xx and a few 4xx (timeout, too early, rate limited) may succeed later."""
    return status >= 500 or status in RETRYABLE_STATUSES


def http_outcome(response: httpx.Response, message_id: str | None = None) -> Outcome:
    """Classify an HTTP response: 2xx sent, 5xx/429 retryable, other 4xx final."""
    text = f"HTTP {response.status_code} {response.text}".strip()
    if response.is_success:
        return Outcome.sent(text, message_id)
    return Outcome.failed(text, retryable=is_retryable_status(response.status_code))


def exception_outcome(exc: BaseException, secrets: Iterable[str | None] = ()) -> Outcome:
    """Classify an exception raised while talking to a provider."""
    detail = redact(f"{type(exc).__name__}: {exc}", secrets)
    if isinstance(exc, UnresolvableHost):
        return Outcome.failed(exc.message, retryable=True)
    if isinstance(exc, UnsafeUrl):
        return Outcome.failed(f"refused by the outgoing-URL policy: {exc.message}", retryable=False)
    if isinstance(exc, InvalidTarget):
        return Outcome.failed(f"invalid contact method settings: {exc.message}", retryable=False)
    if isinstance(exc, httpx.TooManyRedirects):
        return Outcome.failed(detail, retryable=False)
    if isinstance(exc, httpx.TransportError | OSError | TimeoutError):
        return Outcome.failed(detail, retryable=True)
    # Anything else is a bug on our side or a library surprise: log it loudly,
    # and do not retry blindly.
    log.error("unexpected error while sending a notification: %s", detail)
    return Outcome.failed(detail, retryable=False)


def json_or_text(text: str) -> str:
    """A compact JSON re-serialization of a response body (or the body as is)."""
    try:
        return json.dumps(json.loads(text), separators=(",", ":"), ensure_ascii=False)
    except ValueError:
        return text


def required(settings: Mapping[str, str], key: str, what: str) -> str:
    """The stripped value of a required setting."""
    value = str(settings.get(key) or "").strip()
    if not value:
        raise InvalidTarget(f"{what} ({key}) is required")
    return value


def checked_url(settings: Mapping[str, str], key: str, what: str, allow: AllowList) -> str:
    """A required URL setting that the outgoing-URL policy accepts (no DNS lookup)."""
    url = required(settings, key, what)
    try:
        check_url(url, allow, resolve=False)
    except UnsafeUrl as exc:
        raise InvalidTarget(f"{what} is refused: {exc.message}") from None
    return url


def phone_number(settings: Mapping[str, str], key: str, what: str) -> str:
    """A required phone number in E.164 form (``+`` and 7-15 digits); spaces are tolerated."""
    raw = required(settings, key, what)
    number = re.sub(r"[\s().-]", "", raw)
    if not E164.match(number):
        raise InvalidTarget(
            f"{what} must be in international E.164 form such as +14155550123, not {raw!r}"
        )
    return number
