import json

from hypothesis import given, settings
from hypothesis import strategies as st

from watchkeeper.notify.cards import render_slack_blocks, render_teams_card
from watchkeeper.notify.message import (
    SMS_LIMIT,
    TELEGRAM_LIMIT,
    Message,
    render_email_html,
    render_sms,
    render_telegram_html,
    render_text,
    subject_line,
)

from .conftest import SAMPLE, MakeMessage


def test_plain_text_carries_everything(message: Message) -> None:
    text = render_text(message)
    assert text.startswith("[CRITICAL] Disk full on db-1")
    for part in ("Filesystem /var", "service: billing", "Runbook", message.group_url):
        assert part in text
    assert f"Acknowledge: {message.ack_url}" in text


def test_sms_says_what_is_wrong_first_and_links_the_ack(message: Message) -> None:
    sms = render_sms(message)
    assert sms.startswith("CRIT: Disk full on db-1")
    assert sms.endswith(f"Ack: {message.ack_url}")
    assert len(sms) <= SMS_LIMIT


def test_sms_without_ack_links_the_group(make_message: MakeMessage) -> None:
    sms = render_sms(make_message(ack_url=None, title="x" * 300))
    assert sms.endswith(SAMPLE.group_url)
    assert len(sms) == SMS_LIMIT
    assert "…" in sms


def test_sms_drops_a_link_too_long_to_fit(make_message: MakeMessage) -> None:
    sms = render_sms(make_message(ack_url="https://x.example/" + "a" * 200))
    assert sms.startswith("CRIT: Disk full")
    assert "https://" not in sms


def test_sms_never_carries_a_broken_link(make_message: MakeMessage) -> None:
    sms = render_sms(make_message(ack_url="https://x.example/a\nb"))
    assert "\n" not in sms
    assert sms.endswith(SAMPLE.group_url)


def test_html_email_escapes_alert_content(make_message: MakeMessage) -> None:
    evil = make_message(
        title="<script>alert(1)</script>",
        labels={"a<b": '"quoted"'},
        links=(("click", "javascript:alert(1)"), ("ok", "https://ok.example/?a=1&b=2")),
    )
    page = render_email_html(evil)
    assert "<script>" not in page
    assert "&lt;script&gt;" in page
    assert "javascript:" not in page
    assert 'href="https://ok.example/?a=1&amp;b=2"' in page
    assert 'href="https://oncall.example.com/ack/abc123"' in page


def test_subject_is_one_line(make_message: MakeMessage) -> None:
    assert subject_line(make_message(title="a\r\nBcc: x@example.com")) == (
        "[CRITICAL] a Bcc: x@example.com"
    )


def test_slack_blocks(message: Message) -> None:
    blocks = render_slack_blocks(message)
    assert blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Disk full on db-1"},
    }
    buttons = blocks[-1]["elements"]
    assert [b["url"] for b in buttons] == [message.ack_url, message.group_url]
    fields = next(b for b in blocks if "fields" in b)["fields"]
    assert {"type": "mrkdwn", "text": "*service*\nbilling"} in fields


def test_teams_card_is_a_workflow_message(message: Message) -> None:
    card = render_teams_card(message)
    assert card["type"] == "message"
    content = card["attachments"][0]["content"]
    assert content["type"] == "AdaptiveCard"
    assert content["body"][1]["text"] == "Disk full on db-1"
    assert {"title": "service", "value": "billing"} in content["body"][3]["facts"]
    assert content["actions"][0] == {
        "type": "Action.OpenUrl",
        "title": "Acknowledge",
        "url": message.ack_url,
    }


def test_telegram_html_escapes(make_message: MakeMessage) -> None:
    text = render_telegram_html(make_message(title="a < b & c", summary="x" * 10_000))
    assert text.startswith("<b>CRITICAL</b> a &lt; b &amp; c")
    assert len(text) <= TELEGRAM_LIMIT
    assert text.endswith('<a href="https://oncall.example.com/ack/abc123">Acknowledge</a>')


messages = st.builds(
    Message,
    title=st.text(),
    severity=st.one_of(st.sampled_from(["critical", "error", "warning", "info"]), st.text()),
    summary=st.text(),
    group_url=st.one_of(st.just(SAMPLE.group_url), st.text()),
    idempotency_key=st.text(min_size=1),
    labels=st.dictionaries(st.text(), st.text(), max_size=15),
    links=st.lists(st.tuples(st.text(), st.text()), max_size=5).map(tuple),
    ack_url=st.one_of(st.none(), st.just(SAMPLE.ack_url), st.text()),
)


def test_dict_round_trip(message: Message) -> None:
    data = json.loads(json.dumps(message.to_dict()))
    assert Message.from_dict(data) == message


@settings(max_examples=300)
@given(messages)
def test_renderers_never_raise_and_respect_limits(message: Message) -> None:
    sms = render_sms(message)
    assert len(sms) <= SMS_LIMIT
    assert "\n" not in sms
    assert len(render_telegram_html(message)) <= TELEGRAM_LIMIT
    assert "\n" not in subject_line(message)
    render_text(message)
    render_email_html(message)
    blocks = render_slack_blocks(message)
    assert len(blocks[0]["text"]["text"]) <= 150
    json.dumps(blocks)
    json.dumps(render_teams_card(message))


@given(st.text(min_size=1, max_size=100), st.text(max_size=500))
def test_sms_keeps_a_short_title_whole(title: str, summary: str) -> None:
    message = Message(
        title=title,
        severity="critical",
        summary=summary,
        group_url=SAMPLE.group_url,
        idempotency_key="k",
    )
    sms = render_sms(message)
    flat = " ".join(title.split())
    if flat and all(c.isprintable() for c in title):
        assert flat in sms
