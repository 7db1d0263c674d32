"""Grafana Alerting's webhook contact point (payload version "1")."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime

from watchkeeper.alerts.adapters._fields import (
    MAX_MESSAGE_CHARS,
    bounded_key,
    link,
    nonblank,
    text,
)
from watchkeeper.alerts.adapters.alertmanager import Parsed, webhook_alert
from watchkeeper.alerts.normalized import Link, PayloadError

_URL_LINKS = (
    ("silenceURL", "Silence in Grafana"),
    ("dashboardURL", "Dashboard"),
    ("panelURL", "Panel"),
    ("imageURL", "Screenshot"),
)


def _values_line(item: dict[str, object]) -> str:
    """Query values that fired the rule, e.g. "B=44.24, C=1" (or the older valueString)."""
    values = item.get("values")
    if isinstance(values, dict) and values:
        return "Values: " + ", ".join(f"{k}={text(v)}" for k, v in sorted(values.items()))
    value_string = nonblank(item.get("valueString"))
    return f"Values: {value_string}" if value_string else ""


def parse_grafana(payload: object, now: datetime, options: Mapping[str, object]) -> Parsed:
    """One alert per `alerts[]` entry, keyed by Grafana's fingerprint, grouped by groupKey."""
    if not isinstance(payload, dict) or not isinstance(payload.get("alerts"), list):
        raise PayloadError(
            "expected a Grafana Alerting webhook notification: an object with an 'alerts' array"
        )
    group_key = nonblank(payload.get("groupKey"))
    group_key = bounded_key(group_key) if group_key else None
    fallback_title = nonblank(payload.get("title")) or "Grafana alert"
    parsed: Parsed = []
    for index, item in enumerate(payload["alerts"]):
        try:
            alert, links = webhook_alert(item, now, group_key, fallback_title)
        except PayloadError as exc:
            raise PayloadError(f"alerts[{index}]: {exc}") from None
        assert isinstance(item, dict)  # webhook_alert checked it
        for key, title in _URL_LINKS:
            made = link(title, item.get(key))
            if made and not (key == "silenceURL" and alert.action == "resolve"):
                links.append(made)
        values = _values_line(item)
        message = "\n\n".join(part for part in (alert.message, values) if part)
        parsed.append(
            (replace(alert, message=message[:MAX_MESSAGE_CHARS], links=_unique(links)), item)
        )
    return parsed


def _unique(links: list[Link]) -> tuple[Link, ...]:
    seen: set[str] = set()
    kept = []
    for found in links:
        if found.url not in seen:
            seen.add(found.url)
            kept.append(found)
    return tuple(kept)
