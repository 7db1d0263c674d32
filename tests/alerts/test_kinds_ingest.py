"""Ingest through every kind: Prometheus API v2, Grafana, PagerDuty, webhook, heartbeat."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.alerts.conftest import groups, ingest_path
from tests.conftest import Account
from watchkeeper.alerts import housekeeping
from watchkeeper.alerts.models import Alert, Integration
from watchkeeper.clock import FixedClock
from watchkeeper.db.engine import Database


def prom_alert(name: str, ends_in: timedelta, clock: FixedClock, **labels: str) -> dict[str, Any]:
    return {
        "labels": {"alertname": name, "severity": "critical", **labels},
        "annotations": {"summary": f"{name} fired"},
        "startsAt": (clock.now() - timedelta(minutes=1)).isoformat(),
        "endsAt": (clock.now() + ends_in).isoformat(),
        "generatorURL": "http://prometheus.example/graph",
    }


def test_prometheus_groups_by_alertname_and_expires(
    client: TestClient,
    admin: Account,
    make_integration: Callable[..., dict[str, Any]],
    clock: FixedClock,
    db: Database,
) -> None:
    integration = make_integration("prometheus")
    path = ingest_path(integration) + "/api/v2/alerts"
    batch = [
        prom_alert("HighLatency", timedelta(minutes=4), clock, instance="a"),
        prom_alert("HighLatency", timedelta(minutes=4), clock, instance="b"),
        prom_alert("DiskFull", timedelta(minutes=4), clock, instance="a"),
    ]
    response = client.post(path, json=batch)
    assert response.status_code == 200, response.text
    listed = groups(client, admin, status="firing")
    assert sorted(g["alerts_count"] for g in listed) == [1, 2]
    # Re-sent within endsAt: still one alert each (identity is the label set).
    client.post(path, json=batch)
    assert sorted(g["alerts_count"] for g in groups(client, admin, status="firing")) == [1, 2]
    # Nothing re-sent: once endsAt passes, housekeeping resolves like Alertmanager.
    clock.advance(timedelta(minutes=5))
    with db.write() as session:
        assert housekeeping.expire_alerts(session, clock.now()) == 3
    assert {g["status"] for g in groups(client, admin)} == {"resolved"}
    assert {g["resolved_by"] for g in groups(client, admin)} == {"endsAt passed"}


def test_prometheus_alert_without_ends_at_resolves_after_resolve_timeout(
    client: TestClient,
    admin: Account,
    make_integration: Callable[..., dict[str, Any]],
    clock: FixedClock,
    db: Database,
) -> None:
    # As Alertmanager: no endsAt means "resolve unless re-sent within resolve_timeout".
    integration = make_integration("prometheus")
    path = ingest_path(integration) + "/api/v2/alerts"
    alert = {"labels": {"alertname": "ManualAlert", "instance": "a"}}
    assert client.post(path, json=[alert]).status_code == 200

    def ends_at() -> datetime | None:
        with db.read() as session:
            return session.scalars(select(Alert.ends_at)).one()

    assert ends_at() == clock.now() + timedelta(minutes=5)
    clock.advance(timedelta(minutes=4))
    client.post(path, json=[alert])  # re-sent: the timeout starts again
    assert ends_at() == clock.now() + timedelta(minutes=5)
    clock.advance(timedelta(minutes=4))
    with db.write() as session:
        assert housekeeping.expire_alerts(session, clock.now()) == 0
    clock.advance(timedelta(minutes=2))
    with db.write() as session:
        assert housekeeping.expire_alerts(session, clock.now()) == 1
    assert [g["resolved_by"] for g in groups(client, admin)] == ["endsAt passed"]


def test_prometheus_resolve_timeout_is_an_option(
    client: TestClient,
    admin: Account,
    make_integration: Callable[..., dict[str, Any]],
    clock: FixedClock,
    db: Database,
) -> None:
    never = make_integration("prometheus", name="never", options={"resolve_timeout_minutes": 0})
    hourly = make_integration("prometheus", name="hourly", options={"resolve_timeout_minutes": 60})
    for integration in (never, hourly):
        path = ingest_path(integration) + "/api/v2/alerts"
        client.post(path, json=[{"labels": {"alertname": integration["name"]}}])
    with db.read() as session:
        rows = session.execute(select(Alert.title, Alert.ends_at).order_by(Alert.id)).all()
    assert [tuple(r) for r in rows] == [
        (never["name"], None),
        (hourly["name"], clock.now() + timedelta(hours=1)),
    ]
    response = client.post(
        "/api/v1/integrations",
        headers=admin.headers,
        json={"name": "bad", "kind": "prometheus", "options": {"resolve_timeout_minutes": -1}},
    )
    assert response.status_code == 422
    assert "resolve_timeout_minutes" in response.text


def test_prometheus_custom_group_by(
    client: TestClient,
    admin: Account,
    make_integration: Callable[..., dict[str, Any]],
    clock: FixedClock,
) -> None:
    integration = make_integration("prometheus", options={"group_by": ["cluster"]})
    path = ingest_path(integration) + "/api/v2/alerts"
    batch = [
        prom_alert("A", timedelta(minutes=4), clock, cluster="eu"),
        prom_alert("B", timedelta(minutes=4), clock, cluster="eu"),
        prom_alert("C", timedelta(minutes=4), clock, cluster="us"),
    ]
    client.post(path, json=batch)
    assert sorted(g["alerts_count"] for g in groups(client, admin)) == [1, 2]


def test_grafana_contact_point(
    client: TestClient, admin: Account, make_integration: Callable[..., dict[str, Any]]
) -> None:
    integration = make_integration("grafana")
    alert = {
        "status": "firing",
        "labels": {"alertname": "CPU", "grafana_folder": "infra", "severity": "warning"},
        "annotations": {"summary": "CPU high"},
        "startsAt": "2026-03-02T09:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://grafana.example/alerting/grafana/abc/view",
        "fingerprint": "57c6d9296de2ad39",
        "silenceURL": "http://grafana.example/alerting/silence/new?alertmanager=grafana",
        "dashboardURL": "http://grafana.example/d/abc",
        "panelURL": "http://grafana.example/d/abc?viewPanel=1",
        "values": {"B": 91.5},
    }
    payload = {
        "receiver": "watchkeeper",
        "status": "firing",
        "orgId": 1,
        "alerts": [alert],
        "groupLabels": {"alertname": "CPU"},
        "commonLabels": alert["labels"],
        "commonAnnotations": {},
        "externalURL": "http://grafana.example/",
        "version": "1",
        "groupKey": '{}/{}:{alertname="CPU"}',
        "truncatedAlerts": 0,
        "title": "[FIRING:1] CPU",
        "state": "alerting",
        "message": "CPU high",
    }
    assert client.post(ingest_path(integration), json=payload).status_code == 202
    [group] = groups(client, admin)
    assert group["severity"] == "warning"
    detail = client.get(f"/api/v1/alert-groups/{group['id']}", headers=admin.headers).json()
    urls = {link["url"] for link in detail["alerts"][0]["links"]}
    assert "http://grafana.example/d/abc" in urls
    assert any("silence" in u for u in urls)
    payload["alerts"] = [{**alert, "status": "resolved", "endsAt": "2026-03-02T10:00:00Z"}]
    payload["status"] = "resolved"
    client.post(ingest_path(integration), json=payload)
    assert groups(client, admin)[0]["status"] == "resolved"


def _pd(key: str, action: str, routing_key: str, **extra: Any) -> dict[str, Any]:
    event: dict[str, Any] = {"routing_key": routing_key, "event_action": action, "dedup_key": key}
    if action == "trigger":
        event["payload"] = {
            "summary": "Checkout is failing",
            "source": "checkout-1",
            "severity": "critical",
        }
    event.update(extra)
    return event


def test_pagerduty_dedup_key_semantics(
    client: TestClient, admin: Account, make_integration: Callable[..., dict[str, Any]]
) -> None:
    integration = make_integration("pagerduty")
    key = integration["token"]
    first = client.post("/v2/enqueue", json=_pd("k1", "trigger", key))
    assert first.status_code == 202
    assert first.json() == {"status": "success", "message": "Event processed", "dedup_key": "k1"}
    client.post("/v2/enqueue", json=_pd("k1", "trigger", key))  # appends to the open alert
    [group] = groups(client, admin)
    assert group["alerts_count"] == 1
    client.post("/v2/enqueue", json=_pd("k1", "acknowledge", key))
    assert groups(client, admin)[0]["status"] == "acknowledged"
    client.post("/v2/enqueue", json=_pd("k1", "resolve", key))
    assert groups(client, admin)[0]["status"] == "resolved"
    client.post("/v2/enqueue", json=_pd("k1", "trigger", key))  # after resolve: new one
    assert [g["status"] for g in groups(client, admin)] == ["firing", "resolved"]
    # A trigger without dedup_key gets one generated and returned.
    generated = client.post(
        "/v2/enqueue", json={k: v for k, v in _pd("x", "trigger", key).items() if k != "dedup_key"}
    )
    assert generated.status_code == 202
    assert len(generated.json()["dedup_key"]) >= 16
    # The ingest URL speaks the same protocol.
    via_url = client.post(ingest_path(integration), json=_pd("k2", "trigger", key))
    assert via_url.status_code == 202
    assert via_url.json()["dedup_key"] == "k2"


def test_pagerduty_errors_look_like_pagerduty(
    client: TestClient, make_integration: Callable[..., dict[str, Any]]
) -> None:
    integration = make_integration("pagerduty")
    bad = client.post(
        "/v2/enqueue", json={"routing_key": integration["token"], "event_action": "x"}
    )
    assert bad.status_code == 400
    assert bad.json()["status"] == "invalid event"
    assert bad.json()["errors"]
    assert bad.json()["error"]["code"] == "bad_request"
    unknown = client.post("/v2/enqueue", json=_pd("k", "trigger", "not-a-key"))
    assert unknown.status_code == 404
    missing = client.post("/v2/enqueue", json={"event_action": "trigger"})
    assert missing.status_code == 400
    other_kind = make_integration("webhook")
    assert (
        client.post("/v2/enqueue", json=_pd("k", "trigger", other_kind["token"])).status_code == 404
    )


def test_webhook_templates_and_template_errors(
    client: TestClient,
    admin: Account,
    make_integration: Callable[..., dict[str, Any]],
    db: Database,
) -> None:
    integration = make_integration(
        "webhook",
        templates={
            "title": "{{ payload.service }} is {{ payload.state }}",
            "grouping_key": "{{ payload.service }}",
            "resolve_condition": "{{ payload.state == 'ok' }}",
            "severity": "{{ payload.level.upper() }}",  # fails for payloads without level
        },
    )
    path = ingest_path(integration)
    assert (
        client.post(path, json={"service": "db", "state": "down", "level": "warning"}).status_code
        == 202
    )
    client.post(path, json={"service": "db", "state": "down"})  # severity template fails
    [group] = groups(client, admin)
    assert group["title"] == "db is down"
    assert group["alerts_count"] == 1
    with db.read() as session:
        row = session.scalar(select(Integration).where(Integration.id == integration["id"]))
        assert row is not None
        assert row.template_errors
        assert "severity" in row.template_errors[0]["error"]
    client.post(path, json={"service": "db", "state": "ok"})
    assert groups(client, admin)[0]["status"] == "resolved"


def test_invalid_template_is_rejected_on_save(
    client: TestClient, admin: Account, team: dict[str, Any]
) -> None:
    response = client.post(
        "/api/v1/integrations",
        json={"name": "w", "kind": "webhook", "team_id": team["id"], "templates": {"title": "{{"}},
        headers=admin.headers,
    )
    assert response.status_code == 422
    assert "templates.title" in response.json()["error"]["message"]


def test_heartbeat_fires_when_pings_stop_and_resolves_on_ping(
    client: TestClient,
    admin: Account,
    make_integration: Callable[..., dict[str, Any]],
    clock: FixedClock,
    db: Database,
) -> None:
    integration = make_integration("heartbeat", heartbeat_interval_seconds=60)
    assert client.get(ingest_path(integration)).status_code == 200
    clock.advance(timedelta(seconds=30))
    with db.write() as session:
        assert housekeeping.check_heartbeats(session, clock.now()) == 0
    clock.advance(timedelta(seconds=61))
    with db.write() as session:
        assert housekeeping.check_heartbeats(session, clock.now()) == 1
    with db.write() as session:
        assert housekeeping.check_heartbeats(session, clock.now()) == 0  # fires once
    [group] = groups(client, admin)
    assert group["status"] == "firing"
    assert "missed" in group["title"]
    assert client.post(ingest_path(integration)).status_code == 200
    assert groups(client, admin)[0]["status"] == "resolved"


def test_maintenance_mode_stores_but_marks(
    client: TestClient, admin: Account, make_integration: Callable[..., dict[str, Any]]
) -> None:
    integration = make_integration("webhook", maintenance=True)
    client.post(ingest_path(integration), json={"title": "x"})
    [group] = groups(client, admin)
    assert group["maintenance"] is True


def test_send_test_alert(
    client: TestClient, admin: Account, make_integration: Callable[..., dict[str, Any]]
) -> None:
    integration = make_integration("alertmanager")
    response = client.post(f"/api/v1/integrations/{integration['id']}/test", headers=admin.headers)
    assert response.status_code == 202
    [group] = groups(client, admin)
    assert group["title"].startswith("Test alert from")


def test_expiry_moves_group_counters_only_for_alerts_still_firing(
    client: TestClient,
    admin: Account,
    make_integration: Callable[..., dict[str, Any]],
    clock: FixedClock,
    db: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The sweep moves counters by what it resolved instead of recounting every
    # alert of the group. An alert resolved by someone else after the sweep
    # read it (another process, on PostgreSQL) must not be counted twice.
    integration = make_integration("prometheus")
    path = ingest_path(integration) + "/api/v2/alerts"
    batch = [prom_alert("Down", timedelta(minutes=4), clock, instance=i) for i in "abc"]
    assert client.post(path, json=batch).status_code == 200
    # "a" resolves on its own (endsAt in the past), before the sweep.
    gone = prom_alert("Down", -timedelta(seconds=1), clock, instance="a")
    assert client.post(path, json=[gone]).status_code == 200
    (group,) = groups(client, admin)
    assert (group["alerts_count"], group["firing_count"]) == (3, 2)

    # The sweep's read races with that resolve: it still lists "a".
    def stale(now: datetime) -> Any:  # every alert past its endsAt, resolved or not
        return select(Alert.id, Alert.group_id).where(Alert.ends_at <= now)

    monkeypatch.setattr(housekeeping, "expiring", stale)
    clock.advance(timedelta(minutes=5))
    with db.write() as session:
        assert housekeeping.expire_alerts(session, clock.now()) == 2  # "b" and "c" only
    (group,) = groups(client, admin)
    assert (group["status"], group["alerts_count"], group["firing_count"]) == ("resolved", 3, 0)
