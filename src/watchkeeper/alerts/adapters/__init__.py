"""Ingest adapters: a sender's decoded JSON payload in, normalized alerts out.

Pure functions: no database, no clock (`now` is passed in), no I/O. The
integration's templates refine the kind's defaults; a template that fails
never loses the alert, it falls back to the default and the reason is
reported in `ParseResult.template_errors`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from watchkeeper.alerts.adapters._fields import (
    MAX_MESSAGE_CHARS,
    MAX_TITLE_CHARS,
    bounded_key,
    http_url,
    map_severity,
)
from watchkeeper.alerts.adapters.alertmanager import Parsed, parse_alertmanager, parse_prometheus
from watchkeeper.alerts.adapters.grafana import parse_grafana
from watchkeeper.alerts.adapters.pagerduty import parse_pagerduty
from watchkeeper.alerts.adapters.webhook import parse_heartbeat, parse_webhook
from watchkeeper.alerts.normalized import (
    IntegrationTemplates,
    NormalizedAlert,
    ParseResult,
    PayloadError,
)
from watchkeeper.alerts.templating import TemplateFailure, TemplateTooExpensive, render

__all__ = ["KINDS", "PayloadError", "parse_payload"]

Adapter = Callable[[object, datetime, Mapping[str, object]], Parsed]
_ADAPTERS: dict[str, Adapter] = {
    "alertmanager": parse_alertmanager,
    "prometheus": parse_prometheus,
    "grafana": parse_grafana,
    "pagerduty": parse_pagerduty,
    "webhook": parse_webhook,
    "heartbeat": parse_heartbeat,
}
KINDS: tuple[str, ...] = tuple(_ADAPTERS)
TRUTHY = frozenset({"true", "1", "yes", "resolved", "ok"})
# Total template time one payload may spend. Each render is bounded on its
# own, but 1,000 alerts x 6 templates x "just under the bound" would still
# hold a request for minutes.
PAYLOAD_TEMPLATE_SECONDS = 1.0
_NO_OPTIONS: Mapping[str, object] = {}


def parse_payload(
    kind: str,
    payload: object,
    *,
    templates: IntegrationTemplates,
    now: datetime,
    options: Mapping[str, object] | None = None,
) -> ParseResult:
    """Normalized alerts for one payload of an integration of `kind`.

    Raises PayloadError (a ValueError) when the payload has the wrong shape,
    and ValueError for an unknown kind or invalid options.
    """
    adapter = _ADAPTERS.get(kind)
    if adapter is None:
        raise ValueError(f"unknown integration kind {kind!r}; expected one of {', '.join(KINDS)}")
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    try:
        parsed = adapter(payload, now, options or _NO_OPTIONS)
    except RecursionError:
        raise PayloadError("payload is nested too deeply") from None
    configured = templates.configured()
    if not configured:
        return ParseResult(alerts=[alert for alert, _ in parsed])
    return _apply_templates(kind, payload, parsed, configured)


def _apply_templates(
    kind: str, payload: object, parsed: Parsed, configured: list[tuple[str, str]]
) -> ParseResult:
    errors: list[str] = []
    seen: set[str] = set()
    # After a template blows its budget once, the rest of the batch uses the
    # default: 1,000 alerts must not each spend the full render deadline.
    exhausted: set[str] = set()
    alerts: list[NormalizedAlert] = []
    # A CPU safety valve, not business time: the injected `now` cannot measure it.
    deadline = time.monotonic() + PAYLOAD_TEMPLATE_SECONDS
    for alert, raw in parsed:
        if time.monotonic() >= deadline:
            errors.append(
                f"templates took over {PAYLOAD_TEMPLATE_SECONDS:g} s for this payload; "
                f"{len(parsed) - len(alerts)} alerts kept their default fields"
            )
            alerts.extend(alert for alert, _ in parsed[len(alerts) :])
            break
        context = {
            "payload": payload,
            "alert": raw,
            "labels": alert.labels,
            "annotations": alert.annotations,
        }
        changes: dict[str, Any] = {}
        for name, source in configured:
            if name in exhausted:
                continue
            try:
                rendered = render(source, context)
                _APPLY[name](kind, alert, rendered, changes)
            except TemplateFailure as exc:
                message = f"{name} template: {exc}"
                if isinstance(exc, TemplateTooExpensive):
                    exhausted.add(name)
                if message not in seen:
                    seen.add(message)
                    errors.append(message)
        alerts.append(replace(alert, **changes) if changes else alert)
    return ParseResult(alerts=alerts, template_errors=errors)


def _title(kind: str, alert: NormalizedAlert, out: str, changes: dict[str, Any]) -> None:
    title = out.strip()
    if not title:
        raise TemplateFailure("rendered an empty title; the default title was used")
    changes["title"] = title[:MAX_TITLE_CHARS]


def _message(kind: str, alert: NormalizedAlert, out: str, changes: dict[str, Any]) -> None:
    changes["message"] = out.strip()[:MAX_MESSAGE_CHARS]


def _grouping(kind: str, alert: NormalizedAlert, out: str, changes: dict[str, Any]) -> None:
    key = out.strip()
    if not key:
        raise TemplateFailure("rendered an empty key; the default grouping was used")
    changes["group_key"] = bounded_key(key)
    if kind == "webhook":
        # A plain webhook has no identity of its own: the grouping template is it.
        changes["fingerprint"] = changes["group_key"]


def _resolve(kind: str, alert: NormalizedAlert, out: str, changes: dict[str, Any]) -> None:
    if out.strip().lower() in TRUTHY:
        changes["action"] = "resolve"
    elif alert.action == "resolve":
        changes["action"] = "fire"
        changes["ends_at"] = None


def _severity(kind: str, alert: NormalizedAlert, out: str, changes: dict[str, Any]) -> None:
    severity = map_severity(out)
    if severity is None:
        shown = out.strip()[:40]
        raise TemplateFailure(f"rendered {shown!r}, expected critical, error, warning or info")
    changes["severity"] = severity


def _source_link(kind: str, alert: NormalizedAlert, out: str, changes: dict[str, Any]) -> None:
    url = out.strip()
    if not url:
        return
    if http_url(url) is None:
        raise TemplateFailure(f"rendered {url[:60]!r}, which is not an http(s) URL")
    changes["source_url"] = url


_APPLY: dict[str, Callable[[str, NormalizedAlert, str, dict[str, Any]], None]] = {
    "title": _title,
    "message": _message,
    "grouping_key": _grouping,
    "resolve_condition": _resolve,
    "severity": _severity,
    "source_link": _source_link,
}
