"""Grafana, PagerDuty Events API v2, plain webhook and heartbeat payloads."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.alerts.adapters.payloads import fresh
from watchkeeper.alerts.adapters import parse_payload
from watchkeeper.alerts.normalized import IntegrationTemplates, PayloadError

NOW = datetime(2024, 3, 1, 10, 1, tzinfo=UTC)
DEFAULTS = IntegrationTemplates()


def test_grafana_alerts_keep_links_and_values() -> None:
    firing, resolved = parse_payload(
        "grafana", fresh("grafana"), templates=DEFAULTS, now=NOW
    ).alerts

    assert firing.fingerprint == "c6eadffa33fcdf37"
    assert firing.group_key == '{}/{team="blue"}:{alertname="High memory usage"}'
    assert firing.action == "fire"
    assert firing.title == "High memory usage in zone us-1"
    assert firing.message == "The system has high memory usage\n\nValues: B=44.23943737541908, C=1"
    assert [link.title for link in firing.links] == [
        "Runbook",
        "Silence in Grafana",
        "Dashboard",
        "Panel",
    ]
    assert firing.starts_at == datetime(2024, 3, 1, 7, 51, 3, 157076, tzinfo=UTC)
    assert resolved.action == "resolve"
    assert resolved.message == "Values: [ var='B' labels={} value=81.2 ]"
    assert resolved.links == ()  # empty dashboard/panel URLs, no silence for a resolved alert


def test_grafana_rejects_other_shapes() -> None:
    with pytest.raises(PayloadError, match="Grafana"):
        parse_payload("grafana", {"title": "x"}, templates=DEFAULTS, now=NOW)


def test_pagerduty_trigger() -> None:
    (alert,) = parse_payload("pagerduty", fresh("pagerduty"), templates=DEFAULTS, now=NOW).alerts

    assert alert.fingerprint == alert.group_key == "db-1/postgres/replication-lag"
    assert alert.action == "fire"
    assert alert.title == "Replication lag above 30s on db-1"
    assert alert.severity == "error"
    assert alert.labels == {
        "severity": "error",
        "source": "db-1.prod.example.org",
        "component": "postgres",
        "group": "prod-datapipe",
        "class": "replication",
    }
    assert alert.annotations == {"lag seconds": "42.5", "replica": "db-2"}
    assert alert.message == "lag seconds: 42.5\nreplica: db-2"
    assert alert.starts_at == datetime(2024, 3, 1, 8, 42, 58, 315000, tzinfo=UTC)
    assert [link.title for link in alert.links] == [
        "Runbook",
        "Lag graph",
        "View in Example Monitoring",
    ]
    assert alert.source_url == "https://monitoring.example.org/checks/42"


def test_pagerduty_trigger_without_dedup_key_gets_a_fresh_one() -> None:
    event = fresh("pagerduty")
    del event["dedup_key"]
    first = parse_payload("pagerduty", event, templates=DEFAULTS, now=NOW).alerts[0]
    second = parse_payload("pagerduty", event, templates=DEFAULTS, now=NOW).alerts[0]
    assert len(first.fingerprint) == 32
    assert first.fingerprint != second.fingerprint


def test_pagerduty_truncates_long_summaries() -> None:
    event = fresh("pagerduty")
    event["payload"]["summary"] = "x" * 5000
    (alert,) = parse_payload("pagerduty", event, templates=DEFAULTS, now=NOW).alerts
    assert alert.title == "x" * 1024


@pytest.mark.parametrize("kind", ["resolve", "acknowledge"])
def test_pagerduty_follow_up_events(kind: str) -> None:
    event = fresh("pagerduty")
    event["event_action"] = kind
    del event["payload"]  # optional on follow-ups
    (alert,) = parse_payload("pagerduty", event, templates=DEFAULTS, now=NOW).alerts
    assert alert.action == kind
    assert alert.fingerprint == "db-1/postgres/replication-lag"


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"routing_key": None}, "'routing_key' is missing or blank"),
        ({"event_action": "escalate"}, "'event_action' is invalid"),
        ({"event_action": None}, "'event_action' is missing or blank"),
        ({"payload": None}, "'payload' is missing or blank"),
        ({"payload": {"source": "a", "severity": "info"}}, "'payload.summary' is missing or blank"),
        ({"payload": {"summary": "a", "severity": "info"}}, "'payload.source' is missing or blank"),
        ({"payload": {"summary": "a", "source": "b"}}, "'payload.severity' is missing or blank"),
        (
            {"payload": {"summary": "a", "source": "b", "severity": "CRITICAL"}},
            "severity' is invalid",
        ),
        ({"dedup_key": "k" * 256}, "'dedup_key' is too long"),
        ({"event_action": "resolve", "dedup_key": ""}, "'dedup_key' is missing or blank"),
    ],
)
def test_pagerduty_rejects_what_pagerduty_rejects(change: dict[str, object], error: str) -> None:
    event = fresh("pagerduty")
    for key, value in change.items():
        if value is None:
            del event[key]
        else:
            event[key] = value
    with pytest.raises(PayloadError) as raised:
        parse_payload("pagerduty", event, templates=DEFAULTS, now=NOW)
    assert any(error in found for found in raised.value.errors)
    assert str(raised.value).startswith("Event object is invalid")


def test_pagerduty_lists_every_error() -> None:
    with pytest.raises(PayloadError) as raised:
        parse_payload("pagerduty", {"event_action": "trigger"}, templates=DEFAULTS, now=NOW)
    assert raised.value.errors == (
        "'routing_key' is missing or blank",
        "'payload' is missing or blank",
    )


def test_webhook_defaults() -> None:
    (alert,) = parse_payload("webhook", fresh("webhook"), templates=DEFAULTS, now=NOW).alerts
    assert alert.title == "Backup job failed"
    assert alert.message == "nightly-backup exited with code 2"
    assert alert.severity == "critical"  # "high"
    assert alert.action == "fire"
    assert alert.labels == {"team": "storage"}
    assert alert.source_url == "https://ci.example.org/jobs/nightly-backup/381"
    assert alert.starts_at == NOW


def test_webhook_resolve_matches_the_firing_alert() -> None:
    firing = fresh("webhook")
    resolving = fresh("webhook") | {"status": "OK", "timestamp": "2024-03-01T10:05:00Z"}
    fire = parse_payload("webhook", firing, templates=DEFAULTS, now=NOW).alerts[0]
    resolve = parse_payload("webhook", resolving, templates=DEFAULTS, now=NOW).alerts[0]
    assert resolve.action == "resolve"
    assert resolve.fingerprint == fire.fingerprint
    assert resolve.group_key == fire.group_key


def test_webhook_uses_an_id_key_when_present() -> None:
    payload = fresh("webhook") | {"id": 381}
    (alert,) = parse_payload("webhook", payload, templates=DEFAULTS, now=NOW).alerts
    assert alert.fingerprint == "381"


@pytest.mark.parametrize("payload", [None, 3, "disk full", [1, 2], {}])
def test_webhook_accepts_any_json(payload: object) -> None:
    (alert,) = parse_payload("webhook", payload, templates=DEFAULTS, now=NOW).alerts
    assert alert.title == "Webhook alert"
    assert alert.action == "fire"


def test_heartbeat_fire_and_resolve() -> None:
    last = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
    fire = parse_payload(
        "heartbeat",
        None,
        templates=DEFAULTS,
        now=NOW,
        options={"name": "nightly-backup", "last_ping_at": last, "timeout_seconds": 3600},
    ).alerts[0]
    assert fire.action == "fire"
    assert fire.title == "Heartbeat nightly-backup missed"
    assert "2024-03-01T09:00:00+00:00" in fire.message
    resolve = parse_payload(
        "heartbeat", None, templates=DEFAULTS, now=NOW, options={"action": "resolve"}
    ).alerts[0]
    assert resolve.action == "resolve"
    assert resolve.fingerprint == fire.fingerprint
