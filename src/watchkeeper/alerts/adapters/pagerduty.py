"""PagerDuty Events API v2 alert events (POST /v2/enqueue).

Validation follows PagerDuty's rules so that a client that works against
PagerDuty works here and one that PagerDuty rejects is rejected here, with
the errors listed the way PagerDuty lists them.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from watchkeeper.alerts.adapters._fields import (
    MAX_KEY_CHARS,
    MAX_MESSAGE_CHARS,
    http_url,
    link,
    nonblank,
    parse_time,
    text,
)
from watchkeeper.alerts.adapters.alertmanager import Parsed
from watchkeeper.alerts.normalized import AlertAction, Link, NormalizedAlert, PayloadError

SUMMARY_MAX_CHARS = 1024
EVENT_ACTIONS: dict[str, AlertAction] = {
    "trigger": "fire",
    "acknowledge": "acknowledge",
    "resolve": "resolve",
}
PD_SEVERITIES = ("critical", "error", "warning", "info")
INVALID_EVENT = "Event object is invalid"


def _validate(event: object) -> list[str]:
    if not isinstance(event, dict):
        return ["Event must be a JSON object"]
    errors = []
    if not nonblank(event.get("routing_key")):
        errors.append("'routing_key' is missing or blank")
    action = event.get("event_action")
    if not nonblank(action):
        errors.append("'event_action' is missing or blank")
    elif action not in EVENT_ACTIONS:
        errors.append("'event_action' is invalid (must be one of: trigger, acknowledge, resolve)")
    dedup_key = event.get("dedup_key")
    if dedup_key is not None and not isinstance(dedup_key, str):
        errors.append("'dedup_key' must be a string")
    elif isinstance(dedup_key, str) and len(dedup_key) > MAX_KEY_CHARS:
        errors.append(f"'dedup_key' is too long (maximum is {MAX_KEY_CHARS} characters)")
    elif action in ("acknowledge", "resolve") and not nonblank(dedup_key):
        errors.append("'dedup_key' is missing or blank")
    if action == "trigger":
        errors.extend(_validate_trigger_payload(event.get("payload")))
    return errors


def _validate_trigger_payload(payload: object) -> list[str]:
    if not isinstance(payload, dict):
        return ["'payload' is missing or blank"]
    errors = [
        f"'payload.{field}' is missing or blank"
        for field in ("summary", "source")
        if not nonblank(payload.get(field))
    ]
    severity = payload.get("severity")
    if not nonblank(severity):
        errors.append("'payload.severity' is missing or blank")
    elif severity not in PD_SEVERITIES:
        errors.append(
            "'payload.severity' is invalid (must be one of: critical, error, warning, info)"
        )
    return errors


def _context_links(event: dict[str, Any]) -> tuple[Link, ...]:
    found: list[Link] = []
    links = event.get("links")
    for entry in links if isinstance(links, list) else ():
        if isinstance(entry, dict):
            made = link(nonblank(entry.get("text")) or "Link", entry.get("href"))
            if made:
                found.append(made)
    images = event.get("images")
    for entry in images if isinstance(images, list) else ():
        if isinstance(entry, dict):
            alt = nonblank(entry.get("alt")) or "Image"
            made = link(alt, entry.get("href")) or link(alt, entry.get("src"))
            if made:
                found.append(made)
    client = nonblank(event.get("client"))
    made = link(f"View in {client}" if client else "View in client", event.get("client_url"))
    if made:
        found.append(made)
    return tuple(found)


def _details_message(details: object) -> str:
    if isinstance(details, dict):
        return "\n".join(f"{k}: {text(v)}" for k, v in details.items())[:MAX_MESSAGE_CHARS]
    return text(details)[:MAX_MESSAGE_CHARS]


def parse_pagerduty(event: object, now: datetime, options: Mapping[str, object]) -> Parsed:
    """One alert per event; fingerprint and group key are the dedup_key.

    A trigger without dedup_key gets a new random one, which the caller must
    return to the client (`{"dedup_key": ...}`) as PagerDuty does.
    Raises PayloadError whose `errors` are PagerDuty-style messages.
    """
    errors = _validate(event)
    if errors or not isinstance(event, dict):
        raise PayloadError(f"{INVALID_EVENT}: {'; '.join(errors)}", errors=errors)
    action = EVENT_ACTIONS[event["event_action"]]
    dedup_key = nonblank(event.get("dedup_key")) or uuid.uuid4().hex
    if action != "fire":
        # Acknowledge and resolve only change the state of an existing alert.
        alert = NormalizedAlert(
            fingerprint=dedup_key,
            action=action,
            group_key=dedup_key,
            title=f"PagerDuty event {dedup_key}"[:SUMMARY_MAX_CHARS],
            message="",
            severity="info",
            labels={},
            annotations={},
            starts_at=None,
            ends_at=now if action == "resolve" else None,
            source_url=None,
            links=(),
        )
        return [(alert, event)]
    payload: dict[str, Any] = event["payload"]
    labels = {"severity": payload["severity"], "source": payload["source"]}
    for field in ("component", "group", "class"):
        value = payload.get(field)
        if value is not None and value != "":
            labels[field] = text(value)
    details = payload.get("custom_details")
    annotations = {k: text(v) for k, v in details.items()} if isinstance(details, dict) else {}
    links = _context_links(event)
    alert = NormalizedAlert(
        fingerprint=dedup_key,
        action="fire",
        group_key=dedup_key,
        title=payload["summary"][:SUMMARY_MAX_CHARS],  # PagerDuty truncates, not rejects
        message=_details_message(details) if details is not None else "",
        severity=payload["severity"],
        labels=labels,
        annotations=annotations,
        starts_at=parse_time(payload.get("timestamp"), "payload.timestamp") or now,
        ends_at=None,
        source_url=http_url(event.get("client_url")),
        links=links,
    )
    return [(alert, event)]
