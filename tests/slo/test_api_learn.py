"""POST /api/v1/slos/learn: the what-if learner over CSV text or Prometheus range queries."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import T0, Account
from tests.slo import synthetic
from tests.slo.api_helpers import ERRORS, TOTAL, create_slo, make_team, slo_body
from tests.slo.fake_prometheus import FakePrometheus


def _csv() -> str:
    history = synthetic.ninety_days()
    rows = [
        f"{history.time_of(i).timestamp():.0f},{history.good[i]:.6f},{history.total[i]:.6f}"
        for i in range(len(history.total))
    ]
    return "timestamp,good,total\n" + "\n".join(rows) + "\n"


def _learn(client: TestClient, account: Account, body: dict[str, Any]) -> Any:
    return client.post("/api/v1/slos/learn", json=body, headers=account.headers)


def test_learn_from_csv(client: TestClient, make_account: Callable[..., Account]) -> None:
    viewer = make_account("viewer")
    response = _learn(client, viewer, {"csv": _csv(), "seed": 3})
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["recommended_target"] == 99.5
    assert report["recommended_page_factors"] == [14.4, 6]
    assert report["seed"] == 3 and len(report["targets"]) == 5
    assert report["explanation"]


def _ranges(prom: FakePrometheus, end: datetime = T0) -> None:
    stamps = [(end - timedelta(minutes=5 * i)).timestamp() for i in range(3 * 288)]
    prom.ranges = {
        'code=~"5.."': [(t, 0.7 / 300) for t in stamps],
        'job="checkout"}': [(t, 1000 / 300) for t in stamps],
    }


def test_learn_from_prometheus_queries(
    client: TestClient, admin: Account, fake_prometheus: FakePrometheus
) -> None:
    _ranges(fake_prometheus)
    query = {
        "prometheus_url": fake_prometheus.url,
        "total_query": TOTAL,
        "error_query": ERRORS,
        "days": 3,
        "step": "5m",
    }
    response = _learn(client, admin, {"prometheus": query, "targets": [99, 99.9]})
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["observed_sli"] == pytest.approx(99.93)
    assert report["recommended_target"] == 99.9
    assert {path for path, _, _ in fake_prometheus.requests} == {"/api/v1/query_range"}


def test_learn_from_a_stored_slo_uses_its_prometheus_and_token(
    client: TestClient, admin: Account, fake_prometheus: FakePrometheus
) -> None:
    _ranges(fake_prometheus)
    evaluation = {"prometheus_url": fake_prometheus.url, "bearer_token": "t0ken"}
    slo = create_slo(client, admin, slo_body(make_team(client, admin), evaluation=evaluation))
    body = {"prometheus": {"slo_id": slo["id"], "days": 3}}
    response = _learn(client, admin, body)
    assert response.status_code == 200, response.text
    assert {auth for _, _, auth in fake_prometheus.requests} == {"Bearer t0ken"}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, "csv: give exactly one of csv or prometheus"),
        ({"csv": "a,b\n1,2\n"}, "csv: need columns timestamp, total and good (or bad)"),
        (
            {"prometheus": {"total_query": "sum(rate(x[5m]))", "error_query": ERRORS}},
            "prometheus.total_query: total_query has no {{.window}} placeholder",
        ),
        ({"prometheus": {"error_query": ERRORS}}, "prometheus.total_query: give slo_id"),
        (
            {"prometheus": {"total_query": TOTAL, "error_query": ERRORS}},
            "prometheus.prometheus_url: no Prometheus URL",
        ),
        (
            {"prometheus": {"total_query": TOTAL, "error_query": ERRORS, "step": "1s"}},
            "prometheus.step: 30 days at 1s are more than",
        ),
        ({"csv": "timestamp,good,total\n", "period": "36h"}, "period: '36h' must be whole days"),
    ],
)
def test_bad_learn_requests(
    client: TestClient, admin: Account, body: dict[str, Any], expected: str
) -> None:
    response = _learn(client, admin, body)
    assert response.status_code == 422, response.text
    assert expected in response.json()["error"]["message"]


def test_learn_from_prometheus_needs_an_editor_and_a_reachable_prometheus(
    client: TestClient, admin: Account, make_account: Callable[..., Account], closed_port_url: str
) -> None:
    query = {"prometheus_url": closed_port_url, "total_query": TOTAL, "error_query": ERRORS}
    assert _learn(client, make_account("viewer"), {"prometheus": query}).status_code == 403
    response = _learn(client, admin, {"prometheus": query, "days": 1})
    assert response.status_code == 503
    assert "cannot reach Prometheus" in response.json()["error"]["message"]
