"""Every HTTP-based sender: 5xx and timeouts are retryable, 4xx is final, nothing raises."""

from collections.abc import Callable, Mapping

import pytest

from watchkeeper.notify.message import Message
from watchkeeper.notify.senders.apprise_url import AppriseSender
from watchkeeper.notify.senders.base import Sender
from watchkeeper.notify.senders.ntfy import NtfySender
from watchkeeper.notify.senders.phone import SmsSender, VoiceSender
from watchkeeper.notify.senders.slack import SlackSender
from watchkeeper.notify.senders.teams import TeamsSender
from watchkeeper.notify.senders.telegram import TelegramSender
from watchkeeper.notify.senders.webhook import WebhookSender

from .conftest import RecordingServer
from .test_push_senders import TWILIO

pytestmark = pytest.mark.filterwarnings("ignore:'imghdr' is deprecated:DeprecationWarning")

Case = Callable[[str, int, float], tuple[Sender, Mapping[str, str]]]

CASES: dict[str, Case] = {
    "slack": lambda url, port, t: (
        SlackSender(base_url=url, timeout=t),
        {"token": "xoxb-1", "channel": "C0123ABCDE"},
    ),
    "telegram": lambda url, port, t: (
        TelegramSender(api_url=url, timeout=t),
        {"bot_token": "1234:" + "a" * 35, "chat_id": "42"},
    ),
    "teams": lambda url, port, t: (TeamsSender(timeout=t), {"url": f"{url}/wf"}),
    "ntfy": lambda url, port, t: (NtfySender(timeout=t), {"url": f"{url}/topic"}),
    "webhook": lambda url, port, t: (
        WebhookSender(timeout=t),
        {"url": f"{url}/hook", "secret": "s" * 16},
    ),
    "sms": lambda url, port, t: (SmsSender(api_base_url=url, timeout=t), TWILIO),
    "voice": lambda url, port, t: (VoiceSender(api_base_url=url, timeout=t), TWILIO),
    "apprise": lambda url, port, t: (
        AppriseSender(timeout=t),
        {"url": f"json://127.0.0.1:{port}/hook"},
    ),
}


@pytest.fixture(params=sorted(CASES))
def case(request: pytest.FixtureRequest) -> Case:
    return CASES[request.param]


@pytest.mark.parametrize(("status", "retryable"), [(500, True), (503, True), (400, False)])
def test_status_is_classified(
    case: Case, http_server: RecordingServer, message: Message, status: int, retryable: bool
) -> None:
    http_server.respond(status, {"ok": False, "error": "boom", "message": "boom", "code": 1})
    sender, target = case(http_server.url, http_server.port, 2.0)
    outcome = sender.send(target, message)
    assert (outcome.status, outcome.retryable) == ("failed", retryable), outcome
    assert str(status) in outcome.provider_response
    assert len(outcome.provider_response.encode()) <= 2048


def test_timeout_is_retryable(case: Case, http_server: RecordingServer, message: Message) -> None:
    http_server.respond(200, {"ok": True}, delay=10)
    sender, target = case(http_server.url, http_server.port, 0.5)
    outcome = sender.send(target, message)
    assert (outcome.status, outcome.retryable) == ("failed", True), outcome


def test_connection_refused_is_retryable(case: Case, message: Message) -> None:
    server = RecordingServer()  # bound but never started, then closed: nothing listens
    url, port = server.url, server.port
    server.stop()
    sender, target = case(url, port, 1.0)
    outcome = sender.send(target, message)
    assert (outcome.status, outcome.retryable) == ("failed", True), outcome


def test_long_provider_responses_are_truncated(
    http_server: RecordingServer, message: Message
) -> None:
    http_server.respond(500, "é" * 5000)
    outcome = TeamsSender().send({"url": f"{http_server.url}/wf"}, message)
    assert len(outcome.provider_response.encode()) <= 2048
    assert outcome.provider_response.endswith("é")
