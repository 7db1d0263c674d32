import email
import socket
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import default
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from watchkeeper.clock import FixedClock
from watchkeeper.notify.message import Message
from watchkeeper.notify.senders.base import InvalidTarget
from watchkeeper.notify.senders.smtp import EmailSender

CLOCK = FixedClock(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))


class Mailbox:
    """An aiosmtpd handler that keeps messages and can refuse recipients."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[Any] = []
        self.rcpt_reply: str | None = None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # type: ignore[no-untyped-def]
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.envelopes.append(envelope)
        parsed = email.message_from_bytes(envelope.content, policy=default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield mailbox, controller.port
    controller.stop()


def target(smtp_port: int, **changes: str) -> dict[str, str]:
    return {
        "to": "alice@example.com",
        "from": "Watchkeeper <oncall@example.com>",
        "host": "127.0.0.1",
        "port": str(smtp_port),
        "security": "none",
        **changes,
    }


def test_email_reaches_a_real_smtp_server(
    smtp_server: tuple[Mailbox, int], message: Message
) -> None:
    mailbox, port = smtp_server
    outcome = EmailSender(clock=CLOCK).send(target(port), message)
    assert outcome.status == "sent", outcome
    (received,) = mailbox.messages
    assert mailbox.envelopes[0].rcpt_tos == ["alice@example.com"]
    assert received["Subject"] == "[CRITICAL] Disk full on db-1"
    assert received["Auto-Submitted"] == "auto-generated"
    assert received["Message-ID"].endswith("@example.com>")
    text = received.get_body(("plain",))
    html = received.get_body(("html",))
    assert text is not None and html is not None
    for body in (text.get_content(), html.get_content()):
        assert "CRITICAL" in body
        assert "Disk full on db-1" in body
        assert message.group_url in body
        assert message.ack_url is not None and message.ack_url in body


def test_retries_reuse_the_message_id(smtp_server: tuple[Mailbox, int], message: Message) -> None:
    mailbox, port = smtp_server
    sender = EmailSender(clock=CLOCK)
    sender.send(target(port), message)
    sender.send(target(port), message)
    assert mailbox.messages[0]["Message-ID"] == mailbox.messages[1]["Message-ID"]


@pytest.mark.parametrize(
    ("reply", "retryable"),
    [("550 5.1.1 No such user", False), ("451 4.7.1 Greylisted, try later", True)],
)
def test_smtp_refusals_are_classified(
    smtp_server: tuple[Mailbox, int], message: Message, reply: str, retryable: bool
) -> None:
    mailbox, port = smtp_server
    mailbox.rcpt_reply = reply
    outcome = EmailSender(clock=CLOCK).send(target(port), message)
    assert outcome.status == "failed"
    assert outcome.retryable is retryable
    assert reply.split()[0] in outcome.provider_response


def test_unreachable_server_is_retryable(message: Message) -> None:
    outcome = EmailSender(timeout=2).send(target(free_port()), message)
    assert (outcome.status, outcome.retryable) == ("failed", True)


def test_starttls_and_login(message: Message) -> None:
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    logins: list[bytes] = []

    def authenticator(server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
        assert isinstance(auth_data, LoginPassword)
        logins.append(auth_data.login)
        return AuthResult(success=auth_data.password == b"s3cret", handled=False)

    mailbox = Mailbox()
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=free_port(),
        tls_context=server_context,
        require_starttls=True,
        authenticator=authenticator,
        auth_require_tls=True,
    )
    controller.start()
    try:
        sender = EmailSender(clock=CLOCK, ssl_context=client_context)
        settings = target(controller.port, security="starttls", username="bot")
        ok = sender.send({**settings, "password": "s3cret"}, message)
        assert ok.status == "sent", ok
        assert logins == [b"bot"]
        bad = sender.send({**settings, "password": "wrong"}, message)
        assert (bad.status, bad.retryable) == ("failed", False), bad
        assert "535" in bad.provider_response
        assert "wrong" not in bad.provider_response
    finally:
        controller.stop()
    assert len(mailbox.messages) == 1


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"to": "not-an-address"}, "not a valid email address"),
        ({"to": "Alice <alice@example.com>"}, "not a valid email address"),
        ({"security": "tls13"}, "security must be one of"),
        ({"port": "99999"}, "port must be"),
        ({"host": "169.254.169.254"}, "metadata"),
        ({"username": "bot"}, "password"),
    ],
)
def test_invalid_settings(changes: dict[str, str], error: str) -> None:
    with pytest.raises(InvalidTarget, match=error):
        EmailSender().validate_target(target(25, **changes))
