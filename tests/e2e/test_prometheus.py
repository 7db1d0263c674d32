"""Real Debian prometheus evaluating a rule and sending straight to the prometheus endpoint."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from tests.conftest import Account
from tests.e2e.procs import free_port, process, require_binary, wait_until
from tests.live import serve_in_thread
from watchkeeper.clock import SystemClock


class Exporter:
    """A tiny /metrics endpoint whose value the test sets."""

    def __init__(self) -> None:
        self.value = 1
        exporter = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = f"# TYPE wk_test_broken gauge\nwk_test_broken {exporter.value}\n".encode()
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


def test_prometheus_sends_straight_to_watchkeeper(
    app: FastAPI, admin: Account, tmp_path: Path
) -> None:
    binary = require_binary("/usr/bin/prometheus")
    app.state.ctx.clock = SystemClock()
    exporter = Exporter()
    with serve_in_thread(app) as base, httpx.Client(base_url=base, headers=admin.headers) as wk:
        team = wk.post("/api/v1/teams", json={"name": "ops"}).json()
        integration = wk.post(
            "/api/v1/integrations",
            json={"name": "prom", "kind": "prometheus", "team_id": team["id"]},
        ).json()
        wk_port = base.rsplit(":", 1)[1]
        (tmp_path / "rules.yml").write_text(
            """
groups:
  - name: test
    rules:
      - alert: TestBroken
        expr: wk_test_broken > 0
        labels: {severity: critical}
        annotations: {summary: "the test exporter says broken"}
"""
        )
        (tmp_path / "prometheus.yml").write_text(
            f"""
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: ["{tmp_path / "rules.yml"}"]
scrape_configs:
  - job_name: exporter
    static_configs: [{{targets: ["127.0.0.1:{exporter.port}"]}}]
alerting:
  alertmanagers:
    - path_prefix: /ingest/{integration["token"]}
      api_version: v2
      static_configs: [{{targets: ["127.0.0.1:{wk_port}"]}}]
"""
        )
        port = free_port()
        args = [
            binary,
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--rules.alert.resend-delay=1s",
        ]

        def groups() -> list[dict[str, Any]]:
            return wk.get("/api/v1/alert-groups").json()["items"]  # type: ignore[no-any-return]

        try:
            with process(args, f"http://127.0.0.1:{port}/-/ready", tmp_path / "prom.log"):
                wait_until(lambda: len(groups()) == 1, timeout=30, what="the firing alert")
                group = groups()[0]
                assert group["status"] == "firing"
                assert group["labels"]["alertname"] == "TestBroken"
                assert group["title"] == "the test exporter says broken"
                exporter.value = 0
                wait_until(
                    lambda: groups()[0]["status"] == "resolved",
                    timeout=30,
                    what="the resolved alert",
                )
        finally:
            exporter.server.shutdown()
