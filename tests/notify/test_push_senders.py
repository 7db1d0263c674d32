"""ntfy, webhook, Apprise and Twilio (SMS, voice) against a local recording server."""

import base64
import json
from datetime import UTC, datetime

import pytest

from watchkeeper.clock import FixedClock
from watchkeeper.notify.message import Message
from watchkeeper.notify.senders.apprise_url import AppriseSender
from watchkeeper.notify.senders.ntfy import NtfySender
from watchkeeper.notify.senders.phone import SmsSender, VoiceSender
from watchkeeper.notify.senders.webhook import WebhookSender
from watchkeeper.notify.signature import verify_signature

from .conftest import MakeMessage, RecordingServer

pytestmark = pytest.mark.filterwarnings("ignore:'imghdr' is deprecated:DeprecationWarning")

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
SECRET = "whsec-0123456789abcdef"
TWILIO = {
    "account_sid": "AC" + "0" * 32,
    "auth_token": "f" * 32,
    "from": "+14155550100",
    "to": "+44 20 7946 0958",
}


def test_ntfy_headers_and_ack_action(http_server: RecordingServer, message: Message) -> None:
    http_server.respond(200, {"id": "hwQ2YpKdmg", "event": "message"})
    outcome = NtfySender().send(
        {"url": f"{http_server.url}/oncall-alice", "token": "tk_1"}, message
    )
    assert outcome.status == "sent", outcome
    assert outcome.provider_message_id == "hwQ2YpKdmg"
    request = http_server.last
    assert request.path == "/oncall-alice"
    assert request.body.decode() == message.summary
    assert request.header("title") == "[CRITICAL] Disk full on db-1"
    assert request.header("priority") == "5"
    assert request.header("tags") == "rotating_light"
    assert request.header("click") == message.group_url
    assert request.header("authorization") == "Bearer tk_1"
    actions = request.header("actions") or ""
    assert f"http, Acknowledge, {message.ack_url}, method=POST, clear=true" in actions


def test_ntfy_encodes_non_ascii_titles(
    http_server: RecordingServer, make_message: MakeMessage
) -> None:
    NtfySender().send({"url": f"{http_server.url}/t"}, make_message(title="Диск заполнен"))
    title = http_server.last.header("title") or ""
    assert title.startswith("=?UTF-8?B?")
    assert "Диск заполнен" in base64.b64decode(title[10:-2]).decode()


def test_webhook_is_signed(http_server: RecordingServer, message: Message) -> None:
    sender = WebhookSender(clock=FixedClock(NOW))
    outcome = sender.send({"url": f"{http_server.url}/hook", "secret": SECRET}, message)
    assert outcome.status == "sent", outcome
    request = http_server.last
    header = request.header("x-watchkeeper-signature") or ""
    now = int(NOW.timestamp())
    assert verify_signature(request.body, header, SECRET, now=now)
    assert not verify_signature(request.body + b" ", header, SECRET, now=now)
    assert request.header("x-watchkeeper-delivery") == "delivery-42-1"
    body = json.loads(request.body)
    assert body["event"] == "notification.page"
    assert body["sent_at"] == "2026-03-02T10:00:00+00:00"
    assert body["message"]["title"] == "Disk full on db-1"
    assert body["message"]["links"] == [
        {"title": "Runbook", "url": "https://runbooks.example.com/disk"}
    ]


def test_apprise_json_url(http_server: RecordingServer, message: Message) -> None:
    outcome = AppriseSender().send({"url": f"json://127.0.0.1:{http_server.port}/hook"}, message)
    assert outcome.status == "sent", outcome
    body = http_server.last.json()
    assert http_server.last.path == "/hook"
    assert body["title"] == "[CRITICAL] Disk full on db-1"
    assert body["type"] == "failure"
    assert message.ack_url in body["message"]
    assert message.group_url in body["message"]


def test_twilio_sms(http_server: RecordingServer, message: Message) -> None:
    http_server.respond(201, {"sid": "SM" + "1" * 32, "status": "queued"})
    outcome = SmsSender(api_base_url=http_server.url).send(TWILIO, message)
    assert outcome.status == "sent", outcome
    assert outcome.provider_message_id == "SM" + "1" * 32
    request = http_server.last
    assert request.path == f"/2010-04-01/Accounts/{TWILIO['account_sid']}/Messages.json"
    form = request.form()
    assert form["To"] == "+442079460958"
    assert form["From"] == "+14155550100"
    assert form["Body"].startswith("CRIT: Disk full on db-1")
    assert len(form["Body"]) <= 160
    expected = base64.b64encode(f"{TWILIO['account_sid']}:{'f' * 32}".encode()).decode()
    assert request.header("authorization") == f"Basic {expected}"


def test_twilio_voice_call(http_server: RecordingServer, message: Message) -> None:
    http_server.respond(201, {"sid": "CA" + "2" * 32, "status": "queued"})
    outcome = VoiceSender(api_base_url=http_server.url).send(TWILIO, message)
    assert outcome.status == "sent", outcome
    request = http_server.last
    assert request.path.endswith("/Calls.json")
    twiml = request.form()["Twiml"]
    assert twiml.startswith("<?xml")
    assert "<Say>This is Watchkeeper. critical alert: Disk full on db-1.</Say>" in twiml


def test_twilio_client_error_is_final(http_server: RecordingServer, message: Message) -> None:
    http_server.respond(
        400, {"code": 21211, "message": "The 'To' number is not valid.", "status": 400}
    )
    outcome = SmsSender(api_base_url=http_server.url).send(TWILIO, message)
    assert (outcome.status, outcome.retryable) == ("failed", False)
    assert "not valid" in outcome.provider_response
