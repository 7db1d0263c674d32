"""Prometheus-family payloads: the Alertmanager webhook and the Alertmanager v2 alerts API.

`parse_prometheus` is the ingest hot path (Prometheus posts batches of up to
thousands of alerts every evaluation interval), so it avoids per-alert
validation frameworks and formatting unless something is wrong.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from watchkeeper.alerts.adapters._fields import (
    DEFAULT_SEVERITY,
    MAX_TITLE_CHARS,
    bounded_key,
    first_text,
    http_url,
    labels_fingerprint,
    link,
    map_severity,
    nonblank,
    parse_time,
    strict_string_map,
    string_map,
)
from watchkeeper.alerts.normalized import Link, NormalizedAlert, PayloadError

Parsed = list[tuple[NormalizedAlert, object]]
DEFAULT_GROUP_BY: tuple[str, ...] = ("alertname",)
DEFAULT_RESOLVE_TIMEOUT_MINUTES = 5  # Alertmanager's global resolve_timeout
_NO_LINKS: tuple[Link, ...] = ()


def alert_title(labels: Mapping[str, str], annotations: Mapping[str, str], fallback: str) -> str:
    """Summary annotation, else the alertname label, else `fallback`."""
    title = (
        annotations.get("summary")
        or annotations.get("title")
        or labels.get("alertname")
        or fallback
    )
    return title[:MAX_TITLE_CHARS]


def alert_message(annotations: Mapping[str, str]) -> str:
    return annotations.get("description") or annotations.get("message") or ""


def alert_severity(labels: Mapping[str, str]) -> str:
    return map_severity(labels.get("severity")) or DEFAULT_SEVERITY


def annotation_links(annotations: Mapping[str, str]) -> list[Link]:
    """Runbook and dashboard links that rule authors put in annotations."""
    found = []
    for key, title in (("runbook_url", "Runbook"), ("dashboard_url", "Dashboard")):
        value = annotations.get(key)
        if value:
            made = link(title, value)
            if made:
                found.append(made)
    return found


def group_by_option(options: Mapping[str, object]) -> tuple[str, ...] | None:
    """Label names from options["group_by"]; None means "..." (every label)."""
    value = options.get("group_by", DEFAULT_GROUP_BY)
    if value == "..." or value == ["..."]:
        return None
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise ValueError("options['group_by'] must be a list of label names or '...'")
    names = tuple(value)
    if not names or not all(isinstance(name, str) for name in names):
        raise ValueError("options['group_by'] must be a non-empty list of label names")
    return names


def resolve_timeout_option(options: Mapping[str, object]) -> timedelta | None:
    """options["resolve_timeout_minutes"] (default 5, as Alertmanager); 0 means never."""
    value = options.get("resolve_timeout_minutes", DEFAULT_RESOLVE_TIMEOUT_MINUTES)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError("options['resolve_timeout_minutes'] must be a whole number of minutes")
    return timedelta(minutes=value) if value else None


def _postable_alert(
    item: object,
    now: datetime,
    group_by: tuple[str, ...] | None,
    resolve_timeout: timedelta | None,
) -> NormalizedAlert:
    if not isinstance(item, dict):
        raise PayloadError("must be an object with 'labels'")
    raw_labels = item.get("labels")
    if not raw_labels:
        raise PayloadError("'labels' is required and must have at least one label")
    labels = strict_string_map(raw_labels, "labels")
    raw_annotations = item.get("annotations")
    annotations = strict_string_map(raw_annotations, "annotations") if raw_annotations else {}
    starts_at = parse_time(item.get("startsAt"), "startsAt", strict=True)
    ends_at = parse_time(item.get("endsAt"), "endsAt", strict=True)
    if starts_at is not None and ends_at is not None and ends_at < starts_at:
        raise PayloadError("'endsAt' is before 'startsAt'")
    if ends_at is None and resolve_timeout is not None:
        # As Alertmanager: an alert sent without endsAt resolves unless re-sent in time.
        ends_at = now + resolve_timeout
    fingerprint = labels_fingerprint(labels)
    if group_by is None:
        group_key = fingerprint
    else:
        group_key = bounded_key(",".join([f"{n}={labels.get(n, '')}" for n in group_by]))
    return NormalizedAlert(
        fingerprint=fingerprint,
        action="resolve" if ends_at is not None and ends_at <= now else "fire",
        group_key=group_key,
        title=alert_title(labels, annotations, "Prometheus alert"),
        message=alert_message(annotations),
        severity=alert_severity(labels),
        labels=labels,
        annotations=annotations,
        starts_at=starts_at or now,
        ends_at=ends_at,
        source_url=http_url(item.get("generatorURL")),
        links=tuple(annotation_links(annotations)) if annotations else _NO_LINKS,
    )


def parse_prometheus(payload: object, now: datetime, options: Mapping[str, object]) -> Parsed:
    """Alertmanager API v2 postable alerts (what Prometheus POSTs to /api/v2/alerts).

    Identity is the label set. An alert whose `endsAt` has passed is resolved.
    options["group_by"]: label names forming the group key (default alertname).
    options["resolve_timeout_minutes"]: the endsAt of an alert sent without one
    is this far from now (Alertmanager's resolve_timeout, default 5; 0: none).
    """
    if not isinstance(payload, list):
        raise PayloadError(
            'expected a JSON array of alerts like [{"labels": {...}, "annotations": {...}}], '
            "as Prometheus posts to /api/v2/alerts"
        )
    group_by = group_by_option(options)
    resolve_timeout = resolve_timeout_option(options)
    parsed: Parsed = []
    for index, item in enumerate(payload):
        try:
            parsed.append((_postable_alert(item, now, group_by, resolve_timeout), item))
        except PayloadError as exc:
            raise PayloadError(f"alerts[{index}]: {exc}") from None
    return parsed


def _matcher_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def silence_link(external_url: str, labels: Mapping[str, str]) -> Link:
    """A link to Alertmanager's "new silence" form prefilled with the alert's labels."""
    matchers = ", ".join(f'{k}="{_matcher_value(v)}"' for k, v in sorted(labels.items()))
    url = f"{external_url.rstrip('/')}/#/silences/new?filter={quote('{' + matchers + '}')}"
    return Link(title="Silence in Alertmanager", url=url)


def _webhook_group_key(payload: dict[str, Any]) -> str | None:
    key = nonblank(payload.get("groupKey"))
    if key is not None:
        return bounded_key(key)
    group_labels = payload.get("groupLabels")
    if isinstance(group_labels, dict) and group_labels:
        labels = string_map(group_labels, "groupLabels")
        return bounded_key("{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}")
    return None


def webhook_alert(
    item: object, now: datetime, group_key: str | None, fallback_title: str
) -> tuple[NormalizedAlert, list[Link]]:
    """One entry of an Alertmanager-style `alerts[]` (shared with Grafana)."""
    if not isinstance(item, dict):
        raise PayloadError("must be an object")
    labels = string_map(item.get("labels"), "labels")
    annotations = string_map(item.get("annotations"), "annotations")
    starts_at = parse_time(item.get("startsAt"), "startsAt")
    ends_at = parse_time(item.get("endsAt"), "endsAt")
    status = item.get("status")
    if status == "resolved" or (status is None and ends_at is not None and ends_at <= now):
        action: Any = "resolve"
    else:
        action = "fire"
    fingerprint = first_text(item, "fingerprint")
    fingerprint = bounded_key(fingerprint) if fingerprint else labels_fingerprint(labels)
    alert = NormalizedAlert(
        fingerprint=fingerprint,
        action=action,
        group_key=group_key or fingerprint,
        title=alert_title(labels, annotations, fallback_title),
        message=alert_message(annotations),
        severity=alert_severity(labels),
        labels=labels,
        annotations=annotations,
        starts_at=starts_at,
        ends_at=ends_at if action == "resolve" else None,
        source_url=http_url(item.get("generatorURL")),
        links=_NO_LINKS,
    )
    return alert, annotation_links(annotations)


def parse_alertmanager(payload: object, now: datetime, options: Mapping[str, object]) -> Parsed:
    """Alertmanager webhook_config notification (version 4): one alert per `alerts[]` entry."""
    if not isinstance(payload, dict) or not isinstance(payload.get("alerts"), list):
        raise PayloadError(
            "expected an Alertmanager webhook notification: an object with an 'alerts' array "
            "(webhook_config, version 4)"
        )
    group_key = _webhook_group_key(payload)
    external_url = http_url(payload.get("externalURL"))
    parsed: Parsed = []
    for index, item in enumerate(payload["alerts"]):
        try:
            alert, links = webhook_alert(item, now, group_key, "Alertmanager alert")
        except PayloadError as exc:
            raise PayloadError(f"alerts[{index}]: {exc}") from None
        if external_url and alert.action == "fire" and alert.labels:
            links.append(silence_link(external_url, alert.labels))
        parsed.append((replace(alert, links=tuple(links)) if links else alert, item))
    return parsed
