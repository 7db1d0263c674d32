"""Plain webhooks (any JSON, shaped by the integration's templates) and heartbeats."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from watchkeeper.alerts.adapters._fields import (
    DEFAULT_SEVERITY,
    MAX_MESSAGE_CHARS,
    MAX_TITLE_CHARS,
    bounded_key,
    first_text,
    http_url,
    json_fingerprint,
    map_severity,
    string_map,
    text,
)
from watchkeeper.alerts.adapters.alertmanager import Parsed
from watchkeeper.alerts.normalized import NormalizedAlert

RESOLVED_STATES = frozenset({"resolved", "ok", "normal"})
_ID_KEYS = ("fingerprint", "dedup_key", "alert_id", "incident_key", "id")
# Keys that change between the firing and the resolving post of one alert;
# they are left out of the payload hash so both posts share a fingerprint.
_VOLATILE_KEYS = frozenset(
    {"status", "state", "timestamp", "time", "updated_at", "resolved_at", "endsAt", "ends_at"}
)


def _fingerprint(payload: object) -> str:
    if isinstance(payload, dict):
        for key in _ID_KEYS:
            value = payload.get(key)
            if (isinstance(value, str) and value.strip()) or type(value) is int:
                return bounded_key(text(value))
        payload = {k: v for k, v in payload.items() if k not in _VOLATILE_KEYS}
    return json_fingerprint(payload)


def parse_webhook(payload: object, now: datetime, options: Mapping[str, object]) -> Parsed:
    """Any JSON value becomes one alert; templates refine it.

    Defaults: title from title/name/summary/alertname, identity from an id-like
    key or a hash of the payload, resolved when status/state is resolved|ok|normal.
    """
    fields: dict[str, Any] = payload if isinstance(payload, dict) else {}
    fingerprint = _fingerprint(payload)
    status = fields.get("status", fields.get("state"))
    resolved = isinstance(status, str) and status.strip().lower() in RESOLVED_STATES
    message = first_text(fields, "message", "description", "text", "body")
    if message is None:
        message = text(payload)
    alert = NormalizedAlert(
        fingerprint=fingerprint,
        action="resolve" if resolved else "fire",
        group_key=fingerprint,
        title=(first_text(fields, "title", "name", "summary", "alertname") or "Webhook alert")[
            :MAX_TITLE_CHARS
        ],
        message=message[:MAX_MESSAGE_CHARS],
        severity=(
            map_severity(fields.get("severity"))
            or map_severity(fields.get("priority"))
            or map_severity(fields.get("level"))
            or DEFAULT_SEVERITY
        ),
        labels=_optional_map(fields.get("labels")),
        annotations=_optional_map(fields.get("annotations")),
        starts_at=None if resolved else now,
        ends_at=now if resolved else None,
        source_url=http_url(first_text(fields, "url", "link", "source_url", "generatorURL")),
        links=(),
    )
    return [(alert, payload)]


def _optional_map(value: object) -> dict[str, str]:
    return string_map(value, "") if isinstance(value, dict) else {}


def parse_heartbeat(payload: object, now: datetime, options: Mapping[str, object]) -> Parsed:
    """The alert a heartbeat raises when pings stop (or resolves when they resume).

    options: action ("fire" | "resolve", default "fire"), name, last_ping_at
    (datetime), timeout_seconds. The payload (a ping body, if any) is ignored.
    """
    action = options.get("action", "fire")
    if action not in ("fire", "resolve"):
        raise ValueError("options['action'] must be 'fire' or 'resolve'")
    name = options.get("name")
    label = name if isinstance(name, str) and name else "heartbeat"
    last_ping = options.get("last_ping_at")
    timeout = options.get("timeout_seconds")
    if action == "fire":
        title = f"Heartbeat {label} missed"
        since = last_ping.isoformat() if isinstance(last_ping, datetime) else "never"
        wait = f" within {timeout} s" if isinstance(timeout, int | float) else ""
        message = f"No ping received{wait}. Last ping: {since}."
    else:
        title = f"Heartbeat {label} is back"
        message = "Pings resumed."
    alert = NormalizedAlert(
        fingerprint="heartbeat",
        action="fire" if action == "fire" else "resolve",
        group_key="heartbeat",
        title=title[:MAX_TITLE_CHARS],
        message=message,
        severity=map_severity(options.get("severity")) or DEFAULT_SEVERITY,
        labels={"alertname": "HeartbeatMissed", "heartbeat": label},
        annotations={},
        starts_at=now if action == "fire" else None,
        ends_at=now if action == "resolve" else None,
        source_url=None,
        links=(),
    )
    return [(alert, payload)]
