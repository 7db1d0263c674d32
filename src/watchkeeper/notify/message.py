"""The message a person receives, and its plain-text, SMS, email and Telegram renderings.

Slack and Teams card renderings live in ``cards.py``. Every renderer is a pure
function of a ``Message``; none of them raises, whatever the alert said, because
an alert's title and labels come from outside and a page must still go out.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

MessageKind = Literal["page", "chat", "test", "verification", "status_update"]

SMS_LIMIT = 160
TELEGRAM_LIMIT = 4096

# Short, upper-case severity words; unknown severities are shown as given.
_SEVERITY_WORDS = {"critical": "CRITICAL", "error": "ERROR", "warning": "WARNING", "info": "INFO"}
_SMS_SEVERITY = {"critical": "CRIT", "error": "ERR", "warning": "WARN", "info": "INFO"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")


@dataclass(frozen=True, slots=True)
class Message:
    """One notification, rendered per channel by the functions of this module."""

    title: str
    severity: str
    summary: str
    group_url: str
    idempotency_key: str
    kind: MessageKind = "page"
    # Only the labels a responder needs (service, environment...), not all of them.
    labels: Mapping[str, str] = field(default_factory=dict, hash=False)
    links: tuple[tuple[str, str], ...] = ()
    ack_url: str | None = None

    @property
    def severity_word(self) -> str:
        """The severity in capitals, e.g. ``CRITICAL``."""
        return _SEVERITY_WORDS.get(
            self.severity.lower(), one_line(self.severity).upper() or "ALERT"
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form, for the delivery log (``from_dict`` reverses it)."""
        return {
            "title": self.title,
            "severity": self.severity,
            "summary": self.summary,
            "group_url": self.group_url,
            "idempotency_key": self.idempotency_key,
            "kind": self.kind,
            "labels": dict(self.labels),
            "links": [[t, u] for t, u in self.links],
            "ack_url": self.ack_url,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Message:
        """The message stored by ``to_dict``."""
        return cls(
            title=str(data["title"]),
            severity=str(data["severity"]),
            summary=str(data.get("summary") or ""),
            group_url=str(data["group_url"]),
            idempotency_key=str(data["idempotency_key"]),
            kind=data.get("kind", "page"),
            labels={str(k): str(v) for k, v in (data.get("labels") or {}).items()},
            links=tuple((str(t), str(u)) for t, u in data.get("links") or ()),
            ack_url=data.get("ack_url"),
        )

    def safe_links(self) -> tuple[tuple[str, str], ...]:
        """Links whose URL is http(s); others could be ``javascript:`` from an alert."""
        return tuple((t, u) for t, u in self.links if is_web_url(u))


def is_web_url(url: str | None) -> bool:
    """True for an absolute http or https URL without whitespace or control characters."""
    # urlsplit silently drops tabs and newlines; a URL holding them is not one we link.
    if not url or any(c.isspace() or not c.isprintable() for c in url):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def one_line(text: str) -> str:
    """Collapse control characters and runs of whitespace into single spaces."""
    return " ".join(_CONTROL.sub(" ", text).split())


def shorten(text: str, limit: int) -> str:
    """Cut ``text`` to at most ``limit`` characters, marking the cut with an ellipsis."""
    if limit <= 0:
        return ""
    if len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + "…"


def subject_line(message: Message) -> str:
    """A one-line subject such as ``[CRITICAL] Disk full on db-1``."""
    return shorten(f"[{message.severity_word}] {one_line(message.title)}", 250)


def render_text(message: Message, *, with_subject: bool = True) -> str:
    """A plain-text rendering for email bodies, logs and any channel without markup.

    ``with_subject=False`` leaves out the first line for channels that show
    the subject as a separate title.
    """
    lines = [subject_line(message), ""] if with_subject else []
    if message.summary.strip():
        lines += [message.summary.strip(), ""]
    if message.labels:
        lines.append("Labels:")
        lines += [f"  {one_line(k)}: {one_line(v)}" for k, v in sorted(message.labels.items())]
        lines.append("")
    if message.links:
        lines.append("Links:")
        lines += [f"  {one_line(t)}: {one_line(u)}" for t, u in message.links]
        lines.append("")
    lines.append(f"Open in Watchkeeper: {message.group_url}")
    if message.ack_url:
        lines.append(f"Acknowledge: {message.ack_url}")
    return "\n".join(lines) + "\n"


def render_sms(message: Message, limit: int = SMS_LIMIT) -> str:
    """A single-line SMS of at most ``limit`` characters: what is wrong first, then a link.

    The acknowledge link beats the group link (one tap from a phone), and the
    summary only fills what room is left. A link too long to leave room for a
    readable title is dropped rather than letting the text grow past ``limit``.
    """
    severity = _SMS_SEVERITY.get(message.severity.lower(), shorten(one_line(message.severity), 8))
    head = f"{severity.upper()}: " if severity else ""
    title = one_line(message.title) or "(no title)"
    acknowledgeable = is_web_url(message.ack_url)
    url = (message.ack_url or "") if acknowledgeable else message.group_url
    tail = f" Ack: {url}" if acknowledgeable else f" {url}"
    if not is_web_url(url) or len(head) + 20 + len(tail) > limit:
        tail = ""
    room = limit - len(head) - len(tail)
    text = head + shorten(title, room)
    summary = one_line(message.summary)
    if summary and len(text) + 3 + 10 <= limit - len(tail):
        text += " - " + shorten(summary, limit - len(tail) - len(text) - 3)
    return (text + tail)[:limit]


def _html_link(title: str, url: str) -> str:
    return f'<a href="{html.escape(url, quote=True)}">{html.escape(title)}</a>'


def render_email_html(message: Message) -> str:
    """An HTML email body; every value from the alert is escaped."""
    colour = {"critical": "#b3261e", "error": "#c2410c", "warning": "#a16207"}.get(
        message.severity.lower(), "#1d4ed8"
    )
    parts = [
        '<!DOCTYPE html><html><body style="font-family:sans-serif;line-height:1.4">',
        f'<p style="margin:0;color:{colour};font-weight:bold">'
        f"{html.escape(message.severity_word)}</p>",
        f'<h2 style="margin:4px 0 12px">{html.escape(one_line(message.title))}</h2>',
    ]
    if message.summary.strip():
        body = html.escape(message.summary.strip()).replace("\n", "<br>")
        parts.append(f"<p>{body}</p>")
    if message.labels:
        rows = "".join(
            f'<tr><td style="color:#555;padding-right:12px">{html.escape(k)}</td>'
            f"<td>{html.escape(v)}</td></tr>"
            for k, v in sorted(message.labels.items())
        )
        parts.append(f"<table>{rows}</table>")
    links = message.safe_links()
    if links:
        items = "".join(f"<li>{_html_link(t, u)}</li>" for t, u in links)
        parts.append(f"<ul>{items}</ul>")
    actions = []
    if is_web_url(message.ack_url):
        actions.append(_html_link("Acknowledge", message.ack_url or ""))
    if is_web_url(message.group_url):
        actions.append(_html_link("Open in Watchkeeper", message.group_url))
    if actions:
        parts.append(f'<p style="font-size:1.1em">{" &nbsp;|&nbsp; ".join(actions)}</p>')
    parts.append("</body></html>")
    return "\n".join(parts)


def render_telegram_html(message: Message, limit: int = TELEGRAM_LIMIT) -> str:
    """Telegram's HTML subset (``<b>``, ``<a>``, ``<code>``), within its message limit.

    Text is cut before escaping so the cut never lands inside an entity.
    """
    head = f"<b>{html.escape(message.severity_word)}</b> {html.escape(one_line(message.title))}"
    tail_parts = []
    if message.labels:
        tail_parts.append(
            " ".join(
                f"<code>{html.escape(k)}={html.escape(v)}</code>"
                for k, v in sorted(message.labels.items())
            )
        )
    links = [_html_link(t, u) for t, u in message.safe_links()]
    if is_web_url(message.group_url):
        links.append(_html_link("Open", message.group_url))
    if message.ack_url and is_web_url(message.ack_url):
        links.append(_html_link("Acknowledge", message.ack_url))
    if links:
        tail_parts.append(" · ".join(links))
    tail = "\n\n".join(tail_parts)
    if len(head) + len(tail) + 4 > limit:
        # Pathological labels or links: keep what is wrong, drop the decoration.
        tail = ""
        head = html.escape(
            shorten(f"{message.severity_word} {one_line(message.title)}", limit // 6)
        )
    room = limit - len(head) - len(tail) - 4
    summary = message.summary.strip()
    body = ""
    # Escaping can grow text up to 6x (&quot;); shorten until the escaped text fits.
    cut = len(summary)
    while cut > 0 and room > 0:
        body = html.escape(shorten(summary, cut))
        if len(body) <= room:
            break
        cut = min(cut - 1, cut * room // len(body))
        body = ""
    return "\n\n".join(p for p in (head, body, tail) if p)
