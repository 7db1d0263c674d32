"""Slack, Telegram and Teams: their real client code against a local recording server."""

from watchkeeper.notify.message import Message
from watchkeeper.notify.senders.slack import SlackSender
from watchkeeper.notify.senders.teams import TeamsSender
from watchkeeper.notify.senders.telegram import TelegramSender

from .conftest import MakeMessage, RecordingServer

SLACK = {"token": "xoxb-1-2-abc", "channel": "U0123ABCDE"}
TELEGRAM = {"bot_token": "123456:" + "A" * 35, "chat_id": "-1001234567890"}


def test_slack_direct_message_and_update(http_server: RecordingServer, message: Message) -> None:
    http_server.respond(200, {"ok": True, "channel": "D0123ABCDE", "ts": "1700000000.000100"})
    sender = SlackSender(base_url=f"{http_server.url}/api/")
    outcome = sender.send(SLACK, message)
    assert outcome.status == "sent", outcome
    assert outcome.provider_message_id == "D0123ABCDE:1700000000.000100"
    request = http_server.last
    assert request.path == "/api/chat.postMessage"
    assert request.header("authorization") == "Bearer xoxb-1-2-abc"
    body = request.json()
    assert body["channel"] == "U0123ABCDE"
    assert body["text"] == "[CRITICAL] Disk full on db-1"
    assert body["blocks"][0]["text"]["text"] == "Disk full on db-1"
    assert message.ack_url in str(body["blocks"])

    resolved = Message(
        title="Resolved: Disk full on db-1",
        severity="info",
        summary="",
        group_url=message.group_url,
        idempotency_key="k2",
        kind="status_update",
    )
    updated = sender.update(SLACK, resolved, outcome.provider_message_id or "")
    assert updated.status == "sent", updated
    request = http_server.last
    assert request.path == "/api/chat.update"
    assert request.json()["channel"] == "D0123ABCDE"
    assert request.json()["ts"] == "1700000000.000100"
    assert "Acknowledge" not in str(request.json()["blocks"])


def test_slack_api_error_is_final(http_server: RecordingServer, message: Message) -> None:
    http_server.respond(200, {"ok": False, "error": "channel_not_found"})
    outcome = SlackSender(base_url=http_server.url).send(SLACK, message)
    assert (outcome.status, outcome.retryable) == ("failed", False)
    assert "channel_not_found" in outcome.provider_response


def test_slack_rate_limit_is_retryable(http_server: RecordingServer, message: Message) -> None:
    http_server.respond(429, {"ok": False, "error": "ratelimited"}, headers={"Retry-After": "3"})
    outcome = SlackSender(base_url=http_server.url).send(SLACK, message)
    assert (outcome.status, outcome.retryable) == ("failed", True)


def test_telegram_send_and_edit(http_server: RecordingServer, message: Message) -> None:
    http_server.respond(200, {"ok": True, "result": {"message_id": 42}})
    sender = TelegramSender(api_url=http_server.url)
    outcome = sender.send(TELEGRAM, message)
    assert outcome.status == "sent", outcome
    assert outcome.provider_message_id == "42"
    request = http_server.last
    assert request.path == f"/bot{TELEGRAM['bot_token']}/sendMessage"
    body = request.json()
    assert body["chat_id"] == -1001234567890
    assert body["parse_mode"] == "HTML"
    assert body["text"].startswith("<b>CRITICAL</b> Disk full on db-1")
    buttons = body["reply_markup"]["inline_keyboard"][0]
    assert buttons[0] == {"text": "Acknowledge", "url": message.ack_url}

    edited = sender.update(TELEGRAM, message, "42")
    assert edited.status == "sent"
    assert http_server.last.path.endswith("/editMessageText")
    assert http_server.last.json()["message_id"] == 42


def test_telegram_unchanged_edit_counts_as_sent(
    http_server: RecordingServer, message: Message
) -> None:
    http_server.respond(
        400,
        {
            "ok": False,
            "error_code": 400,
            "description": "Bad Request: message is not modified: specified new message content",
        },
    )
    outcome = TelegramSender(api_url=http_server.url).update(TELEGRAM, message, "42")
    assert outcome.status == "sent"


def test_telegram_keeps_local_links_out_of_buttons(
    http_server: RecordingServer, make_message: MakeMessage
) -> None:
    http_server.respond(200, {"ok": True, "result": {"message_id": 1}})
    local = make_message(group_url="http://127.0.0.1:8080/g/1", ack_url="http://127.0.0.1:8080/a")
    TelegramSender(api_url=http_server.url).send(TELEGRAM, local)
    body = http_server.last.json()
    assert "reply_markup" not in body
    assert 'href="http://127.0.0.1:8080/a"' in body["text"]


def test_token_never_reaches_the_outcome(message: Message) -> None:
    outcome = TelegramSender(api_url="http://127.0.0.1:9", timeout=1).send(TELEGRAM, message)
    assert outcome.retryable
    assert TELEGRAM["bot_token"] not in outcome.provider_response


def test_teams_workflow_card(http_server: RecordingServer, message: Message) -> None:
    http_server.respond(202)
    outcome = TeamsSender().send({"url": f"{http_server.url}/workflows/abc?sig=x"}, message)
    assert outcome.status == "sent", outcome
    request = http_server.last
    assert request.path == "/workflows/abc"
    assert request.header("content-type") == "application/json"
    card = request.json()["attachments"][0]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert card["content"]["body"][1]["text"] == "Disk full on db-1"
