"""Native evaluation against a fake Prometheus: status, history, burn alerts, failures."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.conftest import Account
from tests.slo.api_helpers import create_slo, make_team, run_evaluation, slo_body
from tests.slo.fake_prometheus import FakePrometheus
from watchkeeper.clock import FixedClock
from watchkeeper.settings import Settings
from watchkeeper.slo.connect import PrometheusTarget, open_client
from watchkeeper.slo.evaluation import evaluate_slos
from watchkeeper.slo.prometheus import PrometheusClient
from watchkeeper.worker import run_task_once


def _native(client: TestClient, admin: Account, url: str, **evaluation: Any) -> dict[str, Any]:
    team_id = make_team(client, admin)
    body = slo_body(team_id, evaluation={"enabled": True, "prometheus_url": url, **evaluation})
    return create_slo(client, admin, body)


def _status(client: TestClient, admin: Account, slo_id: int) -> dict[str, Any]:
    response = client.get(f"/api/v1/slos/{slo_id}/status", headers=admin.headers)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def _groups(client: TestClient, admin: Account, *labels: str) -> list[dict[str, Any]]:
    query = "&".join(f"label={label}" for label in labels)
    response = client.get(f"/api/v1/alert-groups?{query}", headers=admin.headers)
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_status_before_any_evaluation_is_empty(client: TestClient, admin: Account) -> None:
    slo = create_slo(client, admin, slo_body(make_team(client, admin)))
    status = _status(client, admin, slo["id"])
    assert status["native_evaluation"] is False
    assert status["evaluated_at"] is None and status["budget_remaining"] is None
    assert status["budget_consumers"] == []


def test_evaluation_stores_status_and_pages(
    app: FastAPI, client: TestClient, admin: Account, fake_prometheus: FakePrometheus
) -> None:
    slo = _native(client, admin, fake_prometheus.url)
    # 0.05% errors over the period: half of a 99.9% budget; 2% over 1h and 5m: a page.
    fake_prometheus.ratios = {"30d": 0.0005, "1h": 0.02, "5m": 0.02}
    assert run_evaluation(app) == 1
    status = _status(client, admin, slo["id"])
    assert status["budget_remaining"] == pytest.approx(0.5)
    assert status["sli"] == pytest.approx(99.95)
    assert status["budget_remaining_seconds"] == pytest.approx(0.5 * 0.001 * 30 * 86400)
    assert status["budget_remaining_time"] == "21m36s"
    assert status["burn_rates"]["1h"] == pytest.approx(20)
    assert [(t["route"], t["long_window"]) for t in status["firing"]] == [("page", "1h")]
    assert status["open_alerts"] == ["page"] and status["error"] is None
    pages = _groups(client, admin, "watchkeeper_route=page")
    assert len(pages) == 1
    group = pages[0]
    assert group["status"] == "firing"
    assert group["labels"] == {
        "alertname": "CheckoutRequestsAvailabilityErrorBudgetBurn",
        "severity": "critical",
        "watchkeeper_route": "page",
        "service": "checkout",
        "slo": "requests-availability",
        "team": "payments",
        "tier": "1",
    }
    assert group["title"].startswith("checkout/requests-availability: error budget burning fast")
    integration = client.get(
        f"/api/v1/integrations/{group['integration_id']}", headers=admin.headers
    ).json()
    assert (integration["name"], integration["kind"]) == ("SLO burn alerts", "prometheus")
    assert integration["team_id"] == slo["team_id"]
    # Still burning: the same group, not a new page.
    run_evaluation(app)
    assert len(_groups(client, admin, "watchkeeper_route=page")) == 1
    # The burn stops: the page resolves.
    fake_prometheus.ratios = {"30d": 0.0005}
    run_evaluation(app)
    assert _groups(client, admin, "watchkeeper_route=page")[0]["status"] == "resolved"
    assert _status(client, admin, slo["id"])["open_alerts"] == []


def test_ticket_alerts_are_warnings(
    app: FastAPI, client: TestClient, admin: Account, fake_prometheus: FakePrometheus
) -> None:
    _native(client, admin, fake_prometheus.url)
    fake_prometheus.ratios = {"30d": 0.0005, "1d": 0.004, "2h": 0.004}
    run_evaluation(app)
    assert _groups(client, admin, "watchkeeper_route=page") == []
    tickets = _groups(client, admin, "watchkeeper_route=ticket")
    assert [g["labels"]["severity"] for g in tickets] == ["warning"]


def test_history_is_kept_for_charts_and_thinned(
    app: FastAPI,
    client: TestClient,
    admin: Account,
    clock: FixedClock,
    fake_prometheus: FakePrometheus,
) -> None:
    slo = _native(client, admin, fake_prometheus.url)
    for ratio in (0.0001, 0.0002, 0.0003):
        fake_prometheus.ratios = {"30d": ratio}
        run_evaluation(app)
        clock.advance(timedelta(minutes=10))  # under the 30-minute spacing of a 30d period
    fake_prometheus.ratios = {"30d": 0.0004}
    clock.advance(timedelta(minutes=10))
    run_evaluation(app)
    response = client.get(f"/api/v1/slos/{slo['id']}/history", headers=admin.headers)
    points = response.json()["items"]
    assert [round(p["budget_remaining"], 6) for p in points] == [0.9, 0.6]
    assert points[0]["burn_rates"]["1h"] == pytest.approx(0.0)
    # Points older than the period are deleted.
    clock.advance(timedelta(days=31))
    run_evaluation(app)
    everything = client.get(
        f"/api/v1/slos/{slo['id']}/history?start=2000-01-01T00:00:00Z", headers=admin.headers
    )
    assert len(everything.json()["items"]) == 1


def test_budget_consumed_by_alert_groups(
    app: FastAPI,
    client: TestClient,
    admin: Account,
    clock: FixedClock,
    fake_prometheus: FakePrometheus,
) -> None:
    slo = _native(client, admin, fake_prometheus.url)
    fake_prometheus.ratios = {"30d": 0.0002, "1h": 0.02, "5m": 0.02}
    run_evaluation(app)
    clock.advance(timedelta(hours=1))
    fake_prometheus.ratios = {"30d": 0.0004}
    run_evaluation(app)
    consumers = _status(client, admin, slo["id"])["budget_consumers"]
    assert len(consumers) == 1
    assert consumers[0]["status"] == "resolved"
    assert consumers[0]["budget_consumed"] == pytest.approx(0.2)


def test_prometheus_down_is_recorded_and_raises_no_data(
    app: FastAPI, client: TestClient, admin: Account, closed_port_url: str
) -> None:
    slo = _native(client, admin, closed_port_url, no_data_alert=True)
    assert run_evaluation(app) == 1  # no crash
    status = _status(client, admin, slo["id"])
    assert status["error"].startswith(f"cannot reach Prometheus at {closed_port_url}")
    assert status["error_at"] is not None and status["evaluated_at"] is None
    assert status["open_alerts"] == ["nodata"]
    [group] = _groups(client, admin, "slo=requests-availability")
    assert group["labels"]["alertname"] == "CheckoutRequestsAvailabilityNoData"
    assert group["labels"]["watchkeeper_route"] == "ticket"


def test_query_errors_keep_open_burn_alerts(
    app: FastAPI, client: TestClient, admin: Account, fake_prometheus: FakePrometheus
) -> None:
    slo = _native(client, admin, fake_prometheus.url)
    fake_prometheus.ratios = {"30d": 0.0005, "1h": 0.02, "5m": 0.02}
    run_evaluation(app)
    fake_prometheus.error = (400, {"errorType": "bad_data", "error": "parse error"})
    run_evaluation(app)
    status = _status(client, admin, slo["id"])
    assert "bad_data" in status["error"] and "parse error" in status["error"]
    assert status["budget_remaining"] == pytest.approx(0.5)  # the last good evaluation
    assert status["open_alerts"] == ["page"]
    assert _groups(client, admin, "watchkeeper_route=page")[0]["status"] == "firing"
    fake_prometheus.error = None
    fake_prometheus.ratios = {"30d": 0.0005}
    run_evaluation(app)
    assert _status(client, admin, slo["id"])["error"] is None


def test_deleting_or_disabling_resolves_open_alerts(
    app: FastAPI, client: TestClient, admin: Account, fake_prometheus: FakePrometheus
) -> None:
    slo = _native(client, admin, fake_prometheus.url)
    fake_prometheus.ratios = {"30d": 0.0005, "1h": 0.02, "5m": 0.02}
    run_evaluation(app)
    client.patch(
        f"/api/v1/slos/{slo['id']}", json={"evaluation": {"enabled": False}}, headers=admin.headers
    )
    assert _groups(client, admin, "watchkeeper_route=page")[0]["status"] == "resolved"
    assert run_evaluation(app) == 0
    client.patch(
        f"/api/v1/slos/{slo['id']}", json={"evaluation": {"enabled": True}}, headers=admin.headers
    )
    run_evaluation(app)
    assert _groups(client, admin, "watchkeeper_route=page")[0]["status"] == "firing"
    assert client.delete(f"/api/v1/slos/{slo['id']}", headers=admin.headers).status_code == 204
    assert {g["status"] for g in _groups(client, admin, "watchkeeper_route=page")} == {"resolved"}


def test_the_periodic_task_runs_through_the_worker(
    app: FastAPI, client: TestClient, admin: Account, fake_prometheus: FakePrometheus
) -> None:
    from watchkeeper.app import housekeeping_tasks

    slo = _native(client, admin, fake_prometheus.url)
    fake_prometheus.ratios = {"30d": 0.0005}
    ctx = app.state.ctx
    [task] = [t for t in housekeeping_tasks(ctx.settings) if t.name == "slo.evaluate"]
    assert task.interval_seconds == 60
    assert run_task_once(ctx, task)
    assert _status(client, admin, slo["id"])["budget_remaining"] == pytest.approx(0.5)


def test_no_write_lock_is_held_while_prometheus_answers(
    app: FastAPI, client: TestClient, admin: Account, fake_prometheus: FakePrometheus
) -> None:
    ctx = app.state.ctx
    if not ctx.db.is_sqlite:
        pytest.skip("SQLite's single write lock is what this guards")
    _native(client, admin, fake_prometheus.url)
    fake_prometheus.ratios = {"30d": 0.0005}
    writes: list[bool] = []

    def clients(target: PrometheusTarget, settings: Settings) -> PrometheusClient:
        # Another writer must get the lock at once while the task talks to Prometheus.
        raw = ctx.db.engine.raw_connection()
        try:
            raw.execute("PRAGMA busy_timeout=100")
            raw.execute("BEGIN IMMEDIATE")
            raw.execute("ROLLBACK")
            writes.append(True)
        finally:
            raw.close()
        return open_client(target, settings)

    # As the worker runs it: the task's write transaction has not touched SQLite yet.
    with ctx.db.write() as session:
        assert evaluate_slos(session, ctx.clock.now(), settings=ctx.settings, clients=clients)
    assert writes == [True]
