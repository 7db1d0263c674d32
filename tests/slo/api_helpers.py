"""Shared bits of the SLO API tests: a team, a spec body, an evaluation run."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.conftest import Account
from watchkeeper.slo.evaluation import evaluate_slos

ERRORS = 'sum(rate(http_requests_total{job="checkout",code=~"5.."}[{{.window}}]))'
TOTAL = 'sum(rate(http_requests_total{job="checkout"}[{{.window}}]))'


def make_team(client: TestClient, admin: Account, name: str = "payments") -> int:
    response = client.post("/api/v1/teams", json={"name": name}, headers=admin.headers)
    assert response.status_code == 201, response.text
    team_id: int = response.json()["id"]
    return team_id


def slo_body(team_id: int, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "team_id": team_id,
        "service": "checkout",
        "name": "requests-availability",
        "objective": 99.9,
        "period": "30d",
        "sli": {"ratio": {"error_query": ERRORS, "total_query": TOTAL}},
        "labels": {"tier": "1"},
    }
    body.update(overrides)
    return body


def create_slo(client: TestClient, account: Account, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/api/v1/slos", json=body, headers=account.headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def run_evaluation(app: FastAPI) -> int:
    """One run of the periodic task, as the worker runs it (one write transaction)."""
    ctx = app.state.ctx
    with ctx.db.write() as session:
        return evaluate_slos(session, ctx.clock.now(), settings=ctx.settings)
