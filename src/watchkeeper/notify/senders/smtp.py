"""Email over SMTP: a multipart plain-text + HTML message via ``smtplib``.

SMTP reply codes are the reverse of HTTP's intuition: 4yz is a *transient*
failure (greylisting, mailbox busy) worth retrying, 5yz is permanent.
"""

from __future__ import annotations

import hashlib
import re
import smtplib
import ssl
from collections.abc import Mapping
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from watchkeeper.clock import Clock, SystemClock
from watchkeeper.notify.message import Message, render_email_html, render_text, subject_line
from watchkeeper.notify.netguard import AllowList, UnsafeUrl, check_host
from watchkeeper.notify.senders.base import (
    DEFAULT_TIMEOUT,
    InvalidTarget,
    Outcome,
    exception_outcome,
    required,
)

SECURITY_MODES = ("starttls", "ssl", "none")
DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}
_ADDRESS = re.compile(
    r"^[^@\s<>()\[\],;:\"]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+$"
)


def _address(value: str, what: str, *, allow_name: bool) -> str:
    name, addr = parseaddr(value)
    if not _ADDRESS.match(addr) or (name and not allow_name):
        raise InvalidTarget(f"{what} is not a valid email address: {value!r}")
    return value.strip() if allow_name else addr


def validate_target(settings: Mapping[str, str], *, allow: AllowList) -> dict[str, str]:
    """Settings: ``to``, ``from``, ``host``, ``port``, ``security``, ``username``, ``password``."""
    security = (settings.get("security") or "starttls").strip().lower()
    if security not in SECURITY_MODES:
        raise InvalidTarget(f"security must be one of {', '.join(SECURITY_MODES)}")
    host = required(settings, "host", "The SMTP server")
    try:
        check_host(host, allow, resolve=False)
    except UnsafeUrl as exc:
        raise InvalidTarget(f"The SMTP server is refused: {exc.message}") from None
    port_text = str(settings.get("port") or DEFAULT_PORTS[security]).strip()
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise InvalidTarget(f"port must be a number from 1 to 65535, not {port_text!r}")
    clean = {
        "to": _address(required(settings, "to", "The recipient"), "to", allow_name=False),
        "from": _address(required(settings, "from", "The sender"), "from", allow_name=True),
        "host": host,
        "port": port_text,
        "security": security,
    }
    username = (settings.get("username") or "").strip()
    if username:
        clean["username"] = username
        clean["password"] = required(settings, "password", "The SMTP password")
    return clean


def build_email(target: Mapping[str, str], message: Message, clock: Clock) -> EmailMessage:
    """The MIME message: text first, HTML alternative, stable Message-ID per idempotency key."""
    email = EmailMessage()
    email["Subject"] = subject_line(message)
    email["From"] = target["from"]
    email["To"] = target["to"]
    email["Date"] = format_datetime(clock.now())
    # Retries of the same delivery carry the same Message-ID, so mail systems
    # that deduplicate by it show the page once.
    digest = hashlib.sha256(message.idempotency_key.encode()).hexdigest()[:32]
    domain = Address(addr_spec=parseaddr(target["from"])[1]).domain or "watchkeeper.invalid"
    email["Message-ID"] = f"<{digest}@{domain}>"
    # RFC 3834: stops out-of-office robots from replying to pages.
    email["Auto-Submitted"] = "auto-generated"
    email["X-Watchkeeper-Kind"] = message.kind
    email.set_content(render_text(message))
    email.add_alternative(render_email_html(message), subtype="html")
    return email


def _smtp_outcome(code: int, reply: bytes | str) -> Outcome:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    return Outcome.failed(f"SMTP {code} {text}", retryable=400 <= code < 500)


class EmailSender:
    """Sends through the SMTP server named in the target settings."""

    method = "email"

    def __init__(
        self,
        *,
        allow: AllowList | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        clock: Clock | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.allow = allow or AllowList()
        self.timeout = timeout
        self.clock = clock or SystemClock()
        self.ssl_context = ssl_context or ssl.create_default_context()

    def validate_target(self, settings: Mapping[str, str]) -> dict[str, str]:
        return validate_target(settings, allow=self.allow)

    def send(self, target: Mapping[str, str], message: Message) -> Outcome:
        password = target.get("password")
        try:
            settings = self.validate_target(target)
            # Resolve now: smtplib connects by name, so this is the last chance
            # to keep SMTP away from metadata addresses.
            check_host(settings["host"], self.allow, port=int(settings["port"]))
            email = build_email(settings, message, self.clock)
            with self._connect(settings) as smtp:
                refused = smtp.send_message(email)
            if refused:
                code, reply = next(iter(refused.values()))
                return _smtp_outcome(code, reply)
            return Outcome.sent(f"accepted by {settings['host']} for {settings['to']}")
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = next(iter(exc.recipients.values()))
            return _smtp_outcome(code, reply)
        except smtplib.SMTPResponseException as exc:
            return _smtp_outcome(exc.smtp_code, exc.smtp_error)
        except smtplib.SMTPServerDisconnected as exc:
            return Outcome.failed(f"SMTP server disconnected: {exc}", retryable=True)
        except smtplib.SMTPNotSupportedError as exc:
            return Outcome.failed(f"SMTP server does not support: {exc}", retryable=False)
        except Exception as exc:
            return exception_outcome(exc, [password])

    def _connect(self, settings: Mapping[str, str]) -> smtplib.SMTP:
        host, port = settings["host"], int(settings["port"])
        smtp: smtplib.SMTP
        if settings["security"] == "ssl":
            smtp = smtplib.SMTP_SSL(host, port, timeout=self.timeout, context=self.ssl_context)
        else:
            smtp = smtplib.SMTP(host, port, timeout=self.timeout)
        try:
            if settings["security"] == "starttls":
                smtp.starttls(context=self.ssl_context)
            if settings.get("username"):
                smtp.login(settings["username"], settings["password"])
        except BaseException:
            smtp.close()
            raise
        return smtp
