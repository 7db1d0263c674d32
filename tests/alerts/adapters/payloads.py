"""Realistic sender payloads, shaped after each sender's documentation."""

from __future__ import annotations

import copy
from typing import Any

ALERTMANAGER_FIRING: dict[str, Any] = {
    "receiver": "watchkeeper",
    "status": "firing",
    "alerts": [
        {
            "status": "firing",
            "labels": {
                "alertname": "ProbeFailure",
                "instance": "https://shop.example.org",
                "job": "blackbox",
                "severity": "critical",
            },
            "annotations": {
                "summary": "Probe failed for https://shop.example.org",
                "description": "https://shop.example.org has been down for over 5m.",
                "runbook_url": "https://runbooks.example.org/probe-failure",
            },
            "startsAt": "2024-03-01T10:15:30.123456789Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus.example.org:9090/graph?g0.expr=probe_success+%3D%3D+0",
            "fingerprint": "1a30ba71cca2921f",
        },
        {
            "status": "resolved",
            "labels": {
                "alertname": "ProbeFailure",
                "instance": "https://api.example.org",
                "job": "blackbox",
                "severity": "critical",
            },
            "annotations": {"summary": "Probe failed for https://api.example.org"},
            "startsAt": "2024-03-01T09:00:00+01:00",
            "endsAt": "2024-03-01T10:10:00Z",
            "generatorURL": "http://prometheus.example.org:9090/graph?g0.expr=probe_success",
            "fingerprint": "9c2f7ed0b1a4d3e5",
        },
    ],
    "groupLabels": {"alertname": "ProbeFailure"},
    "commonLabels": {"alertname": "ProbeFailure", "job": "blackbox", "severity": "critical"},
    "commonAnnotations": {},
    "externalURL": "http://alertmanager.example.org:9093",
    "version": "4",
    "groupKey": '{}/{severity="critical"}:{alertname="ProbeFailure"}',
    "truncatedAlerts": 0,
    "notification_reason": "new_alerts",
    "routeLabels": {"severity": "critical"},
}

PROMETHEUS_BATCH: list[dict[str, Any]] = [
    {
        "labels": {
            "alertname": "HighLatency",
            "service": "checkout",
            "instance": "10.0.0.7:8080",
            "severity": "warning",
        },
        "annotations": {
            "summary": "p99 latency above 500ms on checkout",
            "description": "p99 is 0.83s on 10.0.0.7:8080",
        },
        "startsAt": "2024-03-01T10:00:00.000Z",
        "endsAt": "2024-03-01T10:04:00.000Z",
        "generatorURL": "http://prometheus:9090/graph?g0.expr=histogram_quantile%28...%29",
    },
    {
        "labels": {"alertname": "DiskRunningFull", "device": "sda1", "instance": "db-1"},
        "annotations": {"summary": "Disk sda1 on db-1 is 95% full"},
        "startsAt": "2024-03-01T09:30:00Z",
        "endsAt": "2024-03-01T09:58:00Z",
        "generatorURL": "http://prometheus:9090/graph?g0.expr=node_filesystem_avail_bytes",
    },
]
PROMETHEUS_NOW = "2024-03-01T10:01:00+00:00"

GRAFANA_FIRING: dict[str, Any] = {
    "receiver": "Watchkeeper",
    "status": "firing",
    "orgId": 1,
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "High memory usage", "team": "blue", "zone": "us-1"},
            "annotations": {
                "description": "The system has high memory usage",
                "runbook_url": "https://runbooks.example.org/memory",
                "summary": "High memory usage in zone us-1",
            },
            "startsAt": "2024-03-01T09:51:03.157076+02:00",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "https://grafana.example.org/alerting/grafana/1afz29v7z/view",
            "fingerprint": "c6eadffa33fcdf37",
            "silenceURL": "https://grafana.example.org/alerting/silence/new?matcher=alertname%3DHigh",
            "dashboardURL": "https://grafana.example.org/d/abc123",
            "panelURL": "https://grafana.example.org/d/abc123?viewPanel=4",
            "values": {"B": 44.23943737541908, "C": 1},
        },
        {
            "status": "resolved",
            "labels": {"alertname": "High CPU usage", "team": "blue", "zone": "eu-1"},
            "annotations": {"summary": "High CPU usage in zone eu-1"},
            "startsAt": "2024-03-01T09:56:03.157076+02:00",
            "endsAt": "2024-03-01T10:00:03Z",
            "generatorURL": "https://grafana.example.org/alerting/grafana/d1rdpdv7k/view",
            "fingerprint": "bc97ff14869b13e3",
            "silenceURL": "https://grafana.example.org/alerting/silence/new?matcher=alertname%3DCPU",
            "dashboardURL": "",
            "panelURL": "",
            "valueString": "[ var='B' labels={} value=81.2 ]",
        },
    ],
    "groupLabels": {"alertname": "High memory usage"},
    "commonLabels": {"team": "blue"},
    "commonAnnotations": {},
    "externalURL": "https://grafana.example.org/",
    "version": "1",
    "groupKey": '{}/{team="blue"}:{alertname="High memory usage"}',
    "truncatedAlerts": 0,
    "title": "[FIRING:1, RESOLVED:1] (blue)",
    "state": "alerting",
    "message": "**Firing**\n\nValue: B=44.23, C=1\nLabels:\n - alertname = High memory usage",
}

PAGERDUTY_TRIGGER: dict[str, Any] = {
    "routing_key": "R0UT1NGK3YR0UT1NGK3YR0UT1NGK3Y00",
    "event_action": "trigger",
    "dedup_key": "db-1/postgres/replication-lag",
    "payload": {
        "summary": "Replication lag above 30s on db-1",
        "timestamp": "2024-03-01T08:42:58.315+0000",
        "source": "db-1.prod.example.org",
        "severity": "error",
        "component": "postgres",
        "group": "prod-datapipe",
        "class": "replication",
        "custom_details": {"lag seconds": 42.5, "replica": "db-2"},
    },
    "images": [
        {
            "src": "https://grafana.example.org/render/lag.png",
            "href": "https://grafana.example.org/d/lag",
            "alt": "Lag graph",
        }
    ],
    "links": [{"href": "https://runbooks.example.org/replication", "text": "Runbook"}],
    "client": "Example Monitoring",
    "client_url": "https://monitoring.example.org/checks/42",
}
PAGERDUTY_RESOLVE: dict[str, Any] = {
    "routing_key": "R0UT1NGK3YR0UT1NGK3YR0UT1NGK3Y00",
    "dedup_key": "db-1/postgres/replication-lag",
    "event_action": "resolve",
}
PAGERDUTY_ACKNOWLEDGE: dict[str, Any] = {**PAGERDUTY_RESOLVE, "event_action": "acknowledge"}

WEBHOOK_FIRING: dict[str, Any] = {
    "title": "Backup job failed",
    "message": "nightly-backup exited with code 2",
    "status": "firing",
    "severity": "high",
    "host": "backup-1",
    "url": "https://ci.example.org/jobs/nightly-backup/381",
    "labels": {"team": "storage"},
}

VALID: dict[str, object] = {
    "alertmanager": ALERTMANAGER_FIRING,
    "prometheus": PROMETHEUS_BATCH,
    "grafana": GRAFANA_FIRING,
    "pagerduty": PAGERDUTY_TRIGGER,
    "webhook": WEBHOOK_FIRING,
    "heartbeat": {},
}


def fresh(kind: str) -> Any:
    """A deep copy of the valid payload for `kind`, safe to mutate."""
    return copy.deepcopy(VALID[kind])
