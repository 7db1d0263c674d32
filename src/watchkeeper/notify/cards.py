"""Slack Block Kit and Microsoft Teams Adaptive Card renderings of a ``Message``.

Both platforms reject a whole message when one element breaks a limit (a
header over 150 characters, more than 10 section fields...), so every piece
is cut to the documented limit here rather than trusting the alert's sizes.
"""

from __future__ import annotations

from typing import Any

from watchkeeper.notify.message import Message, is_web_url, one_line, shorten

_SLACK_EMOJI = {"critical": ":red_circle:", "error": ":large_orange_circle:"}
_TEAMS_COLOUR = {"critical": "attention", "error": "attention", "warning": "warning"}


def slack_escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as markup."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_fallback_text(message: Message) -> str:
    """The ``text`` Slack shows in notifications and to clients without blocks."""
    return shorten(f"[{message.severity_word}] {one_line(message.title)}", 3000)


def render_slack_blocks(message: Message) -> list[dict[str, Any]]:
    """Block Kit blocks: header, summary, labels as fields, links, and Open/Acknowledge buttons."""
    emoji = _SLACK_EMOJI.get(message.severity.lower(), ":large_yellow_circle:")
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": shorten(one_line(message.title) or "-", 150)},
        },
        {
            "type": "context",
            "elements": [
                {"type": "mrkdwn", "text": f"{emoji} *{slack_escape(message.severity_word)}*"}
            ],
        },
    ]
    if message.summary.strip():
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": shorten(slack_escape(message.summary), 3000)},
            }
        )
    if message.labels:
        fields = [
            {
                "type": "mrkdwn",
                "text": shorten(f"*{slack_escape(k)}*\n{slack_escape(v)}", 2000),
            }
            for k, v in sorted(message.labels.items())[:10]
        ]
        blocks.append({"type": "section", "fields": fields})
    links = [
        f"<{u}|{slack_escape(one_line(t)).replace('|', '¦')}>"
        for t, u in message.safe_links()
        if len(u) < 1000 and "|" not in u and ">" not in u
    ]
    if links:
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(links)[:3000]}]}
        )
    buttons: list[dict[str, Any]] = []
    if is_web_url(message.ack_url) and len(message.ack_url or "") <= 3000:
        buttons.append(
            {
                "type": "button",
                "action_id": "watchkeeper_ack",
                "style": "primary",
                "text": {"type": "plain_text", "text": "Acknowledge"},
                "url": message.ack_url,
            }
        )
    if is_web_url(message.group_url) and len(message.group_url) <= 3000:
        buttons.append(
            {
                "type": "button",
                "action_id": "watchkeeper_open",
                "text": {"type": "plain_text", "text": "Open in Watchkeeper"},
                "url": message.group_url,
            }
        )
    if buttons:
        blocks.append({"type": "actions", "elements": buttons})
    return blocks


def render_teams_card(message: Message) -> dict[str, Any]:
    """The JSON body a Teams Workflows webhook expects.

    It is a message with one Adaptive Card attachment; version 1.4 is what
    Teams renders on desktop and mobile.
    """
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": message.severity_word,
            "weight": "Bolder",
            "color": _TEAMS_COLOUR.get(message.severity.lower(), "accent"),
            "size": "Small",
        },
        {
            "type": "TextBlock",
            "text": shorten(one_line(message.title), 500),
            "weight": "Bolder",
            "size": "Large",
            "wrap": True,
        },
    ]
    if message.summary.strip():
        body.append({"type": "TextBlock", "text": shorten(message.summary, 4000), "wrap": True})
    if message.labels:
        facts = [
            {"title": shorten(k, 200), "value": shorten(v, 1000)}
            for k, v in sorted(message.labels.items())[:20]
        ]
        body.append({"type": "FactSet", "facts": facts})
    actions: list[dict[str, Any]] = []
    if is_web_url(message.ack_url):
        actions.append({"type": "Action.OpenUrl", "title": "Acknowledge", "url": message.ack_url})
    if is_web_url(message.group_url):
        actions.append(
            {"type": "Action.OpenUrl", "title": "Open in Watchkeeper", "url": message.group_url}
        )
    actions += [
        {"type": "Action.OpenUrl", "title": shorten(one_line(t) or "Link", 100), "url": u}
        for t, u in message.safe_links()[:4]
    ]
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
        "actions": actions,
        "msteams": {"width": "Full"},
    }
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card,
            }
        ],
    }
