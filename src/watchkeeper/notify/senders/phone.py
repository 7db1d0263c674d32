"""SMS and voice calls through Twilio, with the official ``twilio`` client.

Twilio's client does its HTTP through a pluggable ``HttpClient``; ours sends
through httpx and the outgoing-URL guard, and can rewrite the API host
(``api_base_url``) for a regional proxy, a Twilio-compatible provider, or a
local test server.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.http import HttpClient
from twilio.http.response import Response as TwilioResponse
from twilio.rest import Client
from twilio.twiml.voice_response import VoiceResponse

from watchkeeper.notify.message import Message, one_line, render_sms, shorten
from watchkeeper.notify.netguard import AllowList, safe_client
from watchkeeper.notify.senders.base import (
    DEFAULT_TIMEOUT,
    InvalidTarget,
    Outcome,
    exception_outcome,
    is_retryable_status,
    phone_number,
    required,
)

_log = logging.getLogger("twilio.http_client")
_ACCOUNT_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")
_MESSAGING_SERVICE = re.compile(r"^MG[0-9a-fA-F]{32}$")


def validate_target(settings: Mapping[str, str]) -> dict[str, str]:
    """Settings: ``to``, ``from`` (E.164 number, or ``MG…`` service for SMS),
    ``account_sid`` and ``auth_token``."""
    account_sid = required(settings, "account_sid", "The Twilio account SID")
    if not _ACCOUNT_SID.match(account_sid):
        raise InvalidTarget("The Twilio account SID must be AC followed by 32 hex digits")
    sender = required(settings, "from", "The sending number")
    if not _MESSAGING_SERVICE.match(sender):
        sender = phone_number(settings, "from", "The sending number")
    return {
        "to": phone_number(settings, "to", "The phone number"),
        "from": sender,
        "account_sid": account_sid,
        "auth_token": required(settings, "auth_token", "The Twilio auth token"),
    }


class GuardedTwilioHttp(HttpClient):  # type: ignore[misc]  # twilio ships no type hints
    """Twilio's HTTP client interface, implemented with httpx through the outgoing-URL guard."""

    def __init__(self, *, allow: AllowList, timeout: float, api_base_url: str | None) -> None:
        super().__init__(logger=_log, is_async=False, timeout=timeout)
        self._allow = allow
        self._base = urlsplit(api_base_url) if api_base_url else None

    def request(
        self,
        method: str,
        url: str,
        params: dict[str, Any] | None = None,
        data: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> TwilioResponse:
        if self._base is not None:
            parts = urlsplit(url)
            prefix = self._base.path.rstrip("/")
            url = urlunsplit(
                (self._base.scheme, self._base.netloc, prefix + parts.path, parts.query, "")
            )
        json_body = (headers or {}).get("Content-Type") == "application/json"
        with safe_client(self._allow, timeout or self.timeout) as client:
            response = client.request(
                method,
                url,
                params=params,
                data=None if json_body else data,
                json=data if json_body else None,
                headers=headers,
                auth=auth,
                follow_redirects=allow_redirects,
            )
        return TwilioResponse(response.status_code, response.text, response.headers)


def voice_twiml(message: Message) -> str:
    """TwiML that reads the alert twice; the second time for a just-woken listener."""
    spoken = shorten(f"{message.severity_word.lower()} alert: {one_line(message.title)}", 300)
    response = VoiceResponse()
    response.say(f"This is Watchkeeper. {spoken}.")
    response.pause(length=1)
    response.say(f"Again: {spoken}. Details are in Watchkeeper.")
    return str(response)


class _TwilioSender:
    method = ""

    def __init__(
        self,
        *,
        allow: AllowList | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        api_base_url: str | None = None,
    ) -> None:
        self.allow = allow or AllowList()
        self.timeout = timeout
        self.api_base_url = api_base_url

    def validate_target(self, settings: Mapping[str, str]) -> dict[str, str]:
        return validate_target(settings)

    def _client(self, settings: Mapping[str, str]) -> Any:
        http = GuardedTwilioHttp(
            allow=self.allow, timeout=self.timeout, api_base_url=self.api_base_url
        )
        # environment={} keeps TWILIO_* variables from overriding the settings.
        return Client(
            settings["account_sid"], settings["auth_token"], http_client=http, environment={}
        )

    def send(self, target: Mapping[str, str], message: Message) -> Outcome:
        try:
            settings = self.validate_target(target)
            sid, status = self._create(self._client(settings), settings, message)
            return Outcome.sent(f"{self.method} {sid} {status}", sid)
        except (TwilioRestException, TwilioServiceException) as exc:
            text = f"HTTP {exc.status} {exc}"
            return Outcome.failed(text, retryable=is_retryable_status(int(exc.status)))
        except Exception as exc:
            return exception_outcome(exc, [target.get("auth_token")])

    def _create(
        self, client: Any, settings: Mapping[str, str], message: Message
    ) -> tuple[str, str]:
        raise NotImplementedError


class SmsSender(_TwilioSender):
    """Text messages: the short SMS rendering, ack link included when it fits."""

    method = "sms"

    def _create(
        self, client: Any, settings: Mapping[str, str], message: Message
    ) -> tuple[str, str]:
        sender = settings["from"]
        origin = {"messaging_service_sid": sender} if sender.startswith("MG") else {"from_": sender}
        created = client.messages.create(to=settings["to"], body=render_sms(message), **origin)
        return str(created.sid), str(created.status)


class VoiceSender(_TwilioSender):
    """Phone calls that read the alert title aloud."""

    method = "voice"

    def validate_target(self, settings: Mapping[str, str]) -> dict[str, str]:
        clean = validate_target(settings)
        if clean["from"].startswith("MG"):
            raise InvalidTarget(
                "Voice calls need a phone number as 'from', not a messaging service"
            )
        return clean

    def _create(
        self, client: Any, settings: Mapping[str, str], message: Message
    ) -> tuple[str, str]:
        call = client.calls.create(
            to=settings["to"], from_=settings["from"], twiml=voice_twiml(message)
        )
        return str(call.sid), str(call.status)
