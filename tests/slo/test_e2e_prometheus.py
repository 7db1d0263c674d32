"""Native evaluation end to end: Debian's Prometheus scrapes counters the test drives.

The SLO is scaled down so the test runs in seconds: a 99% objective over a 1-day
period with explicit burn tiers of seconds (page: 10× over 20s and 5s). The
exporter's counters move in lockstep under one lock, so every scrape sees exactly
the error share the test set; Prometheus's rate() extrapolates both counters by the
same factor (same scrape times, same start-to-increase ratio), so their quotient, the
error ratio, is exact up to float rounding.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.conftest import Account
from tests.e2e.procs import free_port, process, require_binary, wait_until
from tests.slo.api_helpers import create_slo, make_team, run_evaluation
from watchkeeper.clock import SystemClock

pytestmark = pytest.mark.slow

BACKGROUND = 0.005  # half of the 1% budget of a 99% objective
BURN = 0.5


class CountingExporter:
    """`wk_slo_requests_total` and `wk_slo_errors_total`, advanced 200 requests a second."""

    def __init__(self) -> None:
        self.requests = 0.0
        self.errors = 0.0
        self.error_share = BACKGROUND
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        exporter = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with exporter.lock:
                    body = (
                        "# TYPE wk_slo_requests_total counter\n"
                        f"wk_slo_requests_total {exporter.requests!r}\n"
                        "# TYPE wk_slo_errors_total counter\n"
                        f"wk_slo_errors_total {exporter.errors!r}\n"
                    ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        threading.Thread(target=self._tick, daemon=True).start()

    def _tick(self) -> None:
        while not self.stopped.wait(0.1):
            with self.lock:
                self.requests += 20
                self.errors += 20 * self.error_share

    def stop(self) -> None:
        self.stopped.set()
        self.server.shutdown()


SPEC = {
    "service": "shop",
    "name": "availability",
    "objective": 99,
    "period": "1d",
    "sli": {
        "ratio": {
            "error_query": "sum(rate(wk_slo_errors_total[{{.window}}]))",
            "total_query": "sum(rate(wk_slo_requests_total[{{.window}}]))",
        }
    },
    "alerting": {
        "windows": [
            {"route": "page", "factor": 10, "long": "20s", "short": "5s"},
            {"route": "ticket", "factor": 2, "long": "40s", "short": "10s"},
        ]
    },
}


def test_native_evaluation_with_real_prometheus(
    app: FastAPI, client: TestClient, admin: Account, tmp_path: Path
) -> None:
    binary = require_binary("/usr/bin/prometheus")
    app.state.ctx.clock = SystemClock()
    exporter = CountingExporter()
    (tmp_path / "prometheus.yml").write_text(
        f"""
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: shop
    static_configs: [{{targets: ["127.0.0.1:{exporter.port}"]}}]
"""
    )
    port = free_port()
    args = [
        binary,
        f"--config.file={tmp_path / 'prometheus.yml'}",
        f"--storage.tsdb.path={tmp_path / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    team_id = make_team(client, admin, "shop-team")
    evaluation = {"enabled": True, "prometheus_url": f"http://127.0.0.1:{port}"}
    slo = create_slo(client, admin, {**SPEC, "team_id": team_id, "evaluation": evaluation})

    def status() -> dict[str, Any]:
        run_evaluation(app)
        body: dict[str, Any] = client.get(
            f"/api/v1/slos/{slo['id']}/status", headers=admin.headers
        ).json()
        return body

    def pages() -> list[dict[str, Any]]:
        response = client.get(
            "/api/v1/alert-groups?label=watchkeeper_route=page&label=service=shop",
            headers=admin.headers,
        )
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    try:
        with process(args, f"http://127.0.0.1:{port}/-/ready", tmp_path / "prom.log"):
            # Healthy: 0.5% errors. Wait until even the 5s window has two scrapes.
            wait_until(
                lambda: status()["burn_rates"].get("5s") is not None,
                timeout=30,
                what="the first full evaluation",
            )
            healthy = status()
            assert healthy["error"] is None
            assert healthy["budget_remaining"] == pytest.approx(0.5, abs=1e-6)
            assert healthy["sli"] == pytest.approx(99.5, abs=1e-6)
            assert healthy["burn_rates"]["20s"] == pytest.approx(0.5, abs=1e-6)
            assert healthy["firing"] == [] and pages() == []

            # Burn: half of all requests fail. Both page windows exceed 10 × 1% in seconds.
            exporter.error_share = BURN
            wait_until(lambda: "page" in status()["open_alerts"], timeout=30, what="the page alert")
            [group] = pages()
            assert group["status"] == "firing"
            assert group["labels"]["severity"] == "critical"
            assert group["labels"]["slo"] == "availability"
            assert group["labels"]["team"] == "shop-team"
            burning = status()
            assert burning["budget_remaining"] < 0  # a 50% burn overspends a 1% budget
            assert "page" in burning["open_alerts"]

            # Recovery: the 5s window clears and the page resolves.
            exporter.error_share = BACKGROUND
            wait_until(
                lambda: status()["open_alerts"].count("page") == 0,
                timeout=30,
                what="the burn to stop",
            )
            assert pages()[0]["status"] == "resolved"
    finally:
        exporter.stop()
