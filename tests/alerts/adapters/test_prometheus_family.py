"""Alertmanager webhook and Alertmanager API v2 (Prometheus) payloads."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.alerts.adapters.payloads import PROMETHEUS_NOW, fresh
from watchkeeper.alerts.adapters import parse_payload
from watchkeeper.alerts.normalized import IntegrationTemplates, PayloadError

NOW = datetime(2024, 3, 1, 10, 1, tzinfo=UTC)
DEFAULTS = IntegrationTemplates()


def test_alertmanager_webhook_gives_one_alert_per_entry() -> None:
    result = parse_payload("alertmanager", fresh("alertmanager"), templates=DEFAULTS, now=NOW)

    firing, resolved = result.alerts
    assert firing.fingerprint == "1a30ba71cca2921f"
    assert firing.action == "fire"
    assert firing.group_key == '{}/{severity="critical"}:{alertname="ProbeFailure"}'
    assert firing.title == "Probe failed for https://shop.example.org"
    assert firing.message == "https://shop.example.org has been down for over 5m."
    assert firing.severity == "critical"
    assert firing.starts_at == datetime(2024, 3, 1, 10, 15, 30, 123456, tzinfo=UTC)
    assert firing.ends_at is None
    assert firing.source_url is not None
    assert firing.source_url.startswith("http://prometheus.example.org:9090/graph")
    titles = [link.title for link in firing.links]
    assert titles == ["Runbook", "Silence in Alertmanager"]
    silence = firing.links[1].url
    assert silence.startswith("http://alertmanager.example.org:9093/#/silences/new?filter=%7B")
    assert "alertname%3D%22ProbeFailure%22" in silence

    assert resolved.action == "resolve"
    assert resolved.ends_at == datetime(2024, 3, 1, 10, 10, tzinfo=UTC)
    assert resolved.starts_at == datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
    assert all(link.title != "Silence in Alertmanager" for link in resolved.links)
    assert result.template_errors == []


def test_alertmanager_fingerprint_computed_from_labels_when_missing() -> None:
    payload = fresh("alertmanager")
    first = payload["alerts"][0]
    del first["fingerprint"]
    again = fresh("alertmanager")["alerts"][0]
    del again["fingerprint"]
    again["labels"] = dict(reversed(list(again["labels"].items())))
    payload["alerts"].append(again)

    alerts = parse_payload("alertmanager", payload, templates=DEFAULTS, now=NOW).alerts

    assert len(alerts[0].fingerprint) == 32
    assert alerts[0].fingerprint == alerts[2].fingerprint


def test_alertmanager_without_group_key_groups_by_group_labels() -> None:
    payload = fresh("alertmanager")
    del payload["groupKey"]
    alerts = parse_payload("alertmanager", payload, templates=DEFAULTS, now=NOW).alerts
    assert {a.group_key for a in alerts} == {'{alertname="ProbeFailure"}'}


@pytest.mark.parametrize("payload", [[], "text", {"alerts": {}}, {"status": "firing"}])
def test_alertmanager_rejects_other_shapes(payload: object) -> None:
    with pytest.raises(PayloadError, match="alerts"):
        parse_payload("alertmanager", payload, templates=DEFAULTS, now=NOW)


def test_alertmanager_names_the_bad_entry() -> None:
    payload = fresh("alertmanager")
    payload["alerts"][1]["labels"] = ["not", "a", "map"]
    with pytest.raises(PayloadError, match=r"alerts\[1\]: labels must be an object"):
        parse_payload("alertmanager", payload, templates=DEFAULTS, now=NOW)


def test_prometheus_postable_alerts() -> None:
    now = datetime.fromisoformat(PROMETHEUS_NOW)
    latency, disk = parse_payload(
        "prometheus", fresh("prometheus"), templates=DEFAULTS, now=now
    ).alerts

    assert latency.action == "fire"  # endsAt 10:04 is after now (10:01)
    assert latency.group_key == "alertname=HighLatency"
    assert latency.severity == "warning"
    assert latency.title == "p99 latency above 500ms on checkout"
    assert latency.ends_at == datetime(2024, 3, 1, 10, 4, tzinfo=UTC)
    assert disk.action == "resolve"  # endsAt 09:58 has passed
    assert disk.severity == "critical"  # no severity label: Alertmanager's default
    assert disk.group_key == "alertname=DiskRunningFull"


def test_prometheus_identity_is_the_label_set() -> None:
    batch = fresh("prometheus")
    moved = fresh("prometheus")[0]
    moved["annotations"]["description"] = "p99 is now 0.9s"
    moved["startsAt"] = "2024-03-01T10:01:00Z"
    moved["labels"] = dict(sorted(moved["labels"].items(), reverse=True))
    batch.append(moved)
    alerts = parse_payload("prometheus", batch, templates=DEFAULTS, now=NOW).alerts
    assert alerts[0].fingerprint == alerts[2].fingerprint != alerts[1].fingerprint


def test_prometheus_missing_times_mean_firing_since_now_for_the_resolve_timeout() -> None:
    alerts = parse_payload(
        "prometheus", [{"labels": {"alertname": "Up"}}], templates=DEFAULTS, now=NOW
    ).alerts
    assert alerts[0].action == "fire"
    assert alerts[0].starts_at == NOW
    assert alerts[0].ends_at == NOW + timedelta(minutes=5)  # Alertmanager's resolve_timeout
    assert alerts[0].title == "Up"
    for bad in (-1, "5", 1.5, True):
        with pytest.raises(ValueError, match="resolve_timeout_minutes"):
            parse_payload(
                "prometheus",
                [{"labels": {"alertname": "Up"}}],
                templates=DEFAULTS,
                now=NOW,
                options={"resolve_timeout_minutes": bad},
            )


def test_prometheus_group_by_option() -> None:
    result = parse_payload(
        "prometheus",
        fresh("prometheus"),
        templates=DEFAULTS,
        now=NOW,
        options={"group_by": ["alertname", "service"]},
    )
    assert result.alerts[0].group_key == "alertname=HighLatency,service=checkout"
    assert result.alerts[1].group_key == "alertname=DiskRunningFull,service="
    every = parse_payload(
        "prometheus", fresh("prometheus"), templates=DEFAULTS, now=NOW, options={"group_by": "..."}
    )
    assert every.alerts[0].group_key == every.alerts[0].fingerprint


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        ({"labels": {}}, "JSON array"),
        ([{"annotations": {"summary": "x"}}], r"alerts\[0\]: 'labels' is required"),
        ([{"labels": {}}], r"alerts\[0\]: 'labels' is required"),
        ([{"labels": {"alertname": 1}}], r"labels.alertname must be a string"),
        ([{"labels": {"a": "b"}, "startsAt": "yesterday"}], "startsAt"),
        (
            [
                {
                    "labels": {"a": "b"},
                    "startsAt": "2024-03-01T10:00:00Z",
                    "endsAt": "2024-03-01T09:00:00Z",
                }
            ],
            "before",
        ),
        ([{"labels": {"a": "b"}}, "oops"], r"alerts\[1\]"),
    ],
)
def test_prometheus_rejects_invalid_alerts(payload: object, problem: str) -> None:
    with pytest.raises(PayloadError, match=problem):
        parse_payload("prometheus", payload, templates=DEFAULTS, now=NOW)


def test_prometheus_accepts_an_empty_batch() -> None:
    assert parse_payload("prometheus", [], templates=DEFAULTS, now=NOW).alerts == []


def test_unknown_kind_and_bad_options_are_programming_errors() -> None:
    with pytest.raises(ValueError, match="unknown integration kind"):
        parse_payload("nagios", {}, templates=DEFAULTS, now=NOW)
    with pytest.raises(ValueError, match="group_by"):
        parse_payload("prometheus", [], templates=DEFAULTS, now=NOW, options={"group_by": 3})


def test_lone_surrogates_from_json_are_hashed_not_crashed() -> None:
    batch = json.loads('[{"labels": {"alertname": "\\ud800"}}]')
    (alert,) = parse_payload("prometheus", batch, templates=DEFAULTS, now=NOW).alerts
    assert len(alert.fingerprint) == 32
    (hooked,) = parse_payload("webhook", {"x": "\ud800"}, templates=DEFAULTS, now=NOW).alerts
    assert len(hooked.fingerprint) == 32


def test_label_set_fingerprints_never_change() -> None:
    # Open alerts are found again by this hash: changing it would open a
    # duplicate of every firing alert after an upgrade.
    from watchkeeper.alerts.adapters._fields import labels_fingerprint

    assert labels_fingerprint({"job": "api", "alertname": "Down"}) == (
        "41ad3edcc17dddd117af87952bc25416"
    )
    assert labels_fingerprint({"ü": "", "a": "\ud800x"}) == "410b66fafd0b959a272c4aa8f77279e0"
