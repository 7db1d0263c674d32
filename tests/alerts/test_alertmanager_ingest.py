"""Alertmanager webhook: dedup by fingerprint, grouping by groupKey, resolve."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.alerts.conftest import am_alert, am_webhook, groups, ingest_path
from tests.conftest import Account
from watchkeeper.alerts.models import OutboxEvent, RawPayload
from watchkeeper.db.engine import Database


def test_group_dedup_and_resolve(
    client: TestClient,
    admin: Account,
    make_integration: Callable[..., dict[str, Any]],
    db: Database,
) -> None:
    integration = make_integration("alertmanager")
    path = ingest_path(integration)
    a, b = am_alert("DiskFull", instance="a"), am_alert("DiskFull", instance="b")
    first = client.post(path, json=am_webhook('{}:{alertname="DiskFull"}', [a, b]))
    assert first.status_code == 202, first.text
    assert first.json()["new_alerts"] == 2
    # Alertmanager re-sends the same alerts on repeat_interval: no new alerts.
    again = client.post(path, json=am_webhook('{}:{alertname="DiskFull"}', [a, b]))
    assert again.json()["repeated_alerts"] == 2
    [group] = groups(client, admin)
    assert group["status"] == "firing"
    assert group["alerts_count"] == 2
    assert group["title"] == "DiskFull is broken"
    assert group["severity"] == "critical"
    assert group["labels"] == {"alertname": "DiskFull", "severity": "critical"}
    assert group["integration_id"] == integration["id"]

    a_resolved = {**a, "status": "resolved"}
    client.post(path, json=am_webhook('{}:{alertname="DiskFull"}', [a_resolved, b]))
    [group] = groups(client, admin)
    assert group["status"] == "firing"
    b_resolved = {**b, "status": "resolved"}
    client.post(path, json=am_webhook('{}:{alertname="DiskFull"}', [a_resolved, b_resolved]))
    [group] = groups(client, admin)
    assert group["status"] == "resolved"
    assert group["resolved_by"] == integration["name"]

    # Firing again after resolve opens a new group.
    client.post(path, json=am_webhook('{}:{alertname="DiskFull"}', [a]))
    listed = groups(client, admin)
    assert [g["status"] for g in listed] == ["firing", "resolved"]
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(RawPayload)) == 5
        topics = session.scalars(select(OutboxEvent.topic).order_by(OutboxEvent.id)).all()
    assert topics.count("group.created") == 2
    assert "group.resolved" in topics


def test_detail_has_alerts_links_and_timeline(
    client: TestClient, admin: Account, make_integration: Callable[..., dict[str, Any]]
) -> None:
    integration = make_integration("alertmanager")
    client.post(ingest_path(integration), json=am_webhook("k1", [am_alert("Down")]))
    [group] = groups(client, admin)
    detail = client.get(f"/api/v1/alert-groups/{group['id']}", headers=admin.headers).json()
    assert len(detail["alerts"]) == 1
    assert detail["alerts"][0]["source_url"].startswith("http://prometheus.example")
    assert [e["kind"] for e in detail["timeline"]] == ["created"]
    assert detail["timeline"][0]["actor_type"] == "integration"


def test_separate_group_keys_make_separate_groups(
    client: TestClient, admin: Account, make_integration: Callable[..., dict[str, Any]]
) -> None:
    integration = make_integration("alertmanager")
    client.post(ingest_path(integration), json=am_webhook("k1", [am_alert("A")]))
    client.post(ingest_path(integration), json=am_webhook("k2", [am_alert("B")]))
    assert len(groups(client, admin, status="firing")) == 2
