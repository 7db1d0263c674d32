"""Fixtures for incident tests: a team, an integration and alert groups made by real ingest."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.alerts.conftest import am_alert, am_webhook
from tests.conftest import Account
from watchkeeper.db.engine import Database


@pytest.fixture
def team(client: TestClient, admin: Account) -> dict[str, Any]:
    response = client.post("/api/v1/teams", json={"name": "payments"}, headers=admin.headers)
    assert response.status_code == 201
    return response.json()  # type: ignore[no-any-return]


@pytest.fixture
def integration(client: TestClient, admin: Account, team: dict[str, Any]) -> dict[str, Any]:
    body = {"name": "prod alertmanager", "kind": "alertmanager", "team_id": team["id"]}
    response = client.post("/api/v1/integrations", json=body, headers=admin.headers)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


@pytest.fixture
def make_group(
    client: TestClient, admin: Account, integration: dict[str, Any]
) -> Callable[[str], int]:
    """Fire an alert through the Alertmanager ingest URL; returns its alert group id."""

    def make(name: str) -> int:
        path = "/ingest/" + integration["token"]
        response = client.post(path, json=am_webhook(f"key-{name}", [am_alert(name)]))
        assert response.status_code == 202, response.text
        listed = client.get("/api/v1/alert-groups", headers=admin.headers).json()["items"]
        return next(g["id"] for g in listed if g["title"] == f"{name} is broken")

    return make


def declare(client: TestClient, account: Account, **body: Any) -> dict[str, Any]:
    body.setdefault("title", "Checkout is failing")
    response = client.post("/api/v1/incidents", json=body, headers=account.headers)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def timeline(client: TestClient, account: Account, incident_id: int) -> list[dict[str, Any]]:
    response = client.get(f"/api/v1/incidents/{incident_id}/timeline", headers=account.headers)
    assert response.status_code == 200, response.text
    return response.json()["items"]  # type: ignore[no-any-return]


def run_task(db: Database, task: Callable[..., object], now: Any) -> object:
    """Run a periodic task function the way the worker does: in one write transaction."""
    with db.write() as session:
        return task(session, now)
