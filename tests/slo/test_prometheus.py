"""The Prometheus client (through an injected transport) and live SLO evaluation."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.slo.fake_prometheus import SPECS
from watchkeeper.slo.loaders import load_spec_files, load_spec_text
from watchkeeper.slo.prometheus import (
    PrometheusClient,
    PrometheusQueryError,
    PrometheusUnavailable,
    evaluate,
    period_start,
)
from watchkeeper.slo.spec import SloSpec

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def _vector(value: str) -> dict[str, object]:
    return {
        "status": "success",
        "data": {"resultType": "vector", "result": [{"metric": {}, "value": [0, value]}]},
    }


def _client(handler: object) -> PrometheusClient:
    return PrometheusClient(
        "http://prom.test/", transport=httpx.MockTransport(handler), bearer_token="t0k"
    )


def _by_window(ratios: dict[str, str], default: str = "0") -> PrometheusClient:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["Authorization"] == "Bearer t0k"
        window = re.search(r"\[([0-9a-z]+)\]", request.url.params["query"])
        return httpx.Response(
            200, json=_vector(ratios.get(window.group(1) if window else "", default))
        )

    return _client(handler)


def _availability() -> SloSpec:
    return next(
        s for s in load_spec_files([SPECS / "checkout.yml"]) if s.name == "requests-availability"
    )


def test_evaluate_reports_budget_burn_and_firing_tiers() -> None:
    spec = _availability()
    # Half the budget spent over 30 days; 20× burn over the last hour and 5 minutes.
    client = _by_window({"30d": "0.0005", "1h": "0.02", "5m": "0.02"}, default="0.0001")
    status = evaluate(spec, client, NOW)
    assert status.budget_remaining == pytest.approx(0.5)
    assert status.budget_remaining_time == timedelta(minutes=21.6)
    assert status.sli == pytest.approx(99.95)
    assert status.burn_rates["1h"] == pytest.approx(20)
    assert status.burn_rates["6h"] == pytest.approx(0.1)
    assert [(t.route, t.factor) for t in status.firing] == [("page", 14.4)]
    assert status.routes == {"page"} and not status.exhausted


def test_evaluate_without_traffic_reports_none() -> None:
    status = evaluate(_availability(), _by_window({}, default="NaN"), NOW)
    assert status.budget_remaining is None and status.firing == []
    assert all(value is None for value in status.burn_rates.values())


def test_calendar_month_period_starts_on_the_first() -> None:
    text = (SPECS / "checkout.yml").read_text().replace("period: 30d", "period: calendar_month")
    spec = next(s for s in load_spec_text(text) if s.name == "requests-availability")
    assert period_start(spec, NOW) == datetime(2026, 3, 1, tzinfo=UTC)
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.params["query"])
        return httpx.Response(200, json=_vector("0"))

    evaluate(spec, _client(handler), NOW)
    # 9 days 12 hours into March.
    assert "[9d12h]" in seen[0]


def test_query_error_is_reported_with_prometheus_message() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = {"status": "error", "errorType": "bad_data", "error": "parse error at char 5"}
        return httpx.Response(400, json=body)

    with pytest.raises(PrometheusQueryError, match=r"bad_data.*parse error at char 5"):
        _client(handler).query("sum(", NOW)


@pytest.mark.parametrize(
    ("status", "fragment"), [(503, "answered HTTP 503"), (401, "refused the credentials")]
)
def test_server_trouble_is_unavailable(status: int, fragment: str) -> None:
    client = _client(lambda request: httpx.Response(status, text="down for maintenance"))
    with pytest.raises(PrometheusUnavailable, match=fragment):
        client.query("up", NOW)


def test_connection_refused_is_unavailable(closed_port_url: str) -> None:
    with (
        PrometheusClient(closed_port_url) as client,
        pytest.raises(
            PrometheusUnavailable, match=r"cannot reach Prometheus at http://127\.0\.0\.1"
        ),
    ):
        client.query("up", NOW)


def test_several_series_are_refused_for_an_slo() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        result = [{"metric": {"route": r}, "value": [0, "0.1"]} for r in ("a", "b")]
        return httpx.Response(
            200, json={"status": "success", "data": {"resultType": "vector", "result": result}}
        )

    with pytest.raises(PrometheusQueryError, match=r"returned 2 series.*sum\(\.\.\.\)"):
        evaluate(_availability(), _client(handler), NOW)


def test_query_range_and_basic_auth() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["Authorization"].startswith("Basic ")
        assert request.url.params["step"] == "300"
        values = [[1700000000, "1"], [1700000300, "NaN"]]
        body = {
            "status": "success",
            "data": {"resultType": "matrix", "result": [{"metric": {"a": "b"}, "values": values}]},
        }
        return httpx.Response(200, content=json.dumps(body))

    client = PrometheusClient(
        "http://prom.test", basic_auth=("u", "p"), transport=httpx.MockTransport(handler)
    )
    (series,) = client.query_range("up", NOW - timedelta(hours=1), NOW, timedelta(minutes=5))
    assert series.labels == {"a": "b"} and series.points[0] == (1700000000.0, 1.0)
    with pytest.raises(ValueError, match="not both"):
        PrometheusClient("http://x", bearer_token="a", basic_auth=("u", "p"))
