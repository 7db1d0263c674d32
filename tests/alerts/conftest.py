"""Fixtures for ingest tests: integrations of every kind and payload builders."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.conftest import Account
from watchkeeper.alerts.ingest import IngestGate
from watchkeeper.alerts.models import Integration
from watchkeeper.alerts.writer import IngestJob
from watchkeeper.clock import FixedClock


@pytest.fixture
def team(client: TestClient, admin: Account) -> dict[str, Any]:
    response = client.post("/api/v1/teams", json={"name": "platform"}, headers=admin.headers)
    assert response.status_code == 201
    return response.json()  # type: ignore[no-any-return]


@pytest.fixture
def make_integration(
    client: TestClient, admin: Account, team: dict[str, Any]
) -> Callable[..., dict[str, Any]]:
    def make(kind: str, **extra: Any) -> dict[str, Any]:
        body = {"name": f"{kind} integration", "kind": kind, "team_id": team["id"], **extra}
        response = client.post("/api/v1/integrations", json=body, headers=admin.headers)
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]

    return make


def pagerduty_gate(app: FastAPI, clock: FixedClock) -> IngestGate:
    """The app's ingest gate, with a PagerDuty integration whose token is "pd"."""
    ctx = app.state.ctx
    with ctx.db.write() as session:
        session.add(Integration(name="pd", kind="pagerduty", token="pd", created_at=clock.now()))
    gate: IngestGate = ctx.services["ingest"]
    return gate


def pagerduty_job(gate: IngestGate, key: str, action: str = "trigger") -> IngestJob:
    """A parsed PagerDuty event for the "pd" integration, ready for the writer."""
    body = {
        "routing_key": "pd",
        "event_action": action,
        "dedup_key": key,
        "payload": {"summary": key, "source": "test", "severity": "critical"},
    }
    return gate.parse(gate.integration("pd"), body, json.dumps(body))


def ingest_path(integration: dict[str, Any]) -> str:
    return "/ingest/" + integration["token"]


def am_alert(name: str, status: str = "firing", **labels: str) -> dict[str, Any]:
    all_labels = {"alertname": name, "severity": "critical", **labels}
    fingerprint = "fp-" + "-".join(f"{k}={v}" for k, v in sorted(all_labels.items()))
    return {
        "status": status,
        "labels": all_labels,
        "annotations": {"summary": f"{name} is broken"},
        "startsAt": "2026-03-02T09:59:00Z",
        "endsAt": "0001-01-01T00:00:00Z" if status == "firing" else "2026-03-02T10:05:00Z",
        "generatorURL": "http://prometheus.example/graph?g0.expr=up",
        "fingerprint": fingerprint,
    }


def am_webhook(group_key: str, alerts: list[dict[str, Any]]) -> dict[str, Any]:
    firing = any(a["status"] == "firing" for a in alerts)
    return {
        "version": "4",
        "groupKey": group_key,
        "truncatedAlerts": 0,
        "status": "firing" if firing else "resolved",
        "receiver": "watchkeeper",
        "groupLabels": {"alertname": alerts[0]["labels"]["alertname"]},
        "commonLabels": alerts[0]["labels"],
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.example:9093",
        "alerts": alerts,
        "notification_reason": "new",
    }


def groups(client: TestClient, account: Account, **params: Any) -> list[dict[str, Any]]:
    response = client.get("/api/v1/alert-groups", params=params, headers=account.headers)
    assert response.status_code == 200, response.text
    return response.json()["items"]  # type: ignore[no-any-return]
