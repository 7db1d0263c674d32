"""Real Debian prometheus-alertmanager posting its webhook to Watchkeeper."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from tests.conftest import Account
from tests.e2e.procs import free_port, process, require_binary, wait_until
from tests.live import serve_in_thread
from watchkeeper.clock import SystemClock


def test_alertmanager_webhook_end_to_end(app: FastAPI, admin: Account, tmp_path: Path) -> None:
    binary = require_binary("/usr/bin/prometheus-alertmanager")
    app.state.ctx.clock = SystemClock()
    with serve_in_thread(app) as base, httpx.Client(base_url=base, headers=admin.headers) as wk:
        team = wk.post("/api/v1/teams", json={"name": "ops"}).json()
        integration = wk.post(
            "/api/v1/integrations",
            json={"name": "am", "kind": "alertmanager", "team_id": team["id"]},
        ).json()
        ingest_url = base + "/ingest/" + integration["token"]
        config = tmp_path / "alertmanager.yml"
        config.write_text(
            f"""
route:
  receiver: watchkeeper
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: watchkeeper
    webhook_configs:
      - url: "{ingest_url}"
        send_resolved: true
"""
        )
        port = free_port()
        am = f"http://127.0.0.1:{port}"
        args = [
            binary,
            f"--config.file={config}",
            f"--storage.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ]
        with process(args, f"{am}/-/ready", tmp_path / "am.log"):
            now = datetime.now(UTC)

            def alert(instance: str, ends: datetime | None) -> dict[str, Any]:
                item: dict[str, Any] = {
                    "labels": {
                        "alertname": "DiskFull",
                        "instance": instance,
                        "severity": "critical",
                    },
                    "annotations": {"summary": "Disk is full"},
                    "startsAt": now.isoformat(),
                }
                if ends is not None:
                    item["endsAt"] = ends.isoformat()
                return item

            firing = [alert("a", None), alert("b", None)]
            assert httpx.post(f"{am}/api/v2/alerts", json=firing).status_code == 200

            def groups() -> list[dict[str, Any]]:
                return wk.get("/api/v1/alert-groups").json()["items"]  # type: ignore[no-any-return]

            wait_until(
                lambda: len(groups()) == 1 and groups()[0]["alerts_count"] == 2,
                timeout=20,
                what="Alertmanager's notification to arrive",
            )
            group = groups()[0]
            assert group["status"] == "firing"
            assert group["group_key"] == '{}:{alertname="DiskFull"}'
            assert group["title"] == "Disk is full"
            # Resolve both in Alertmanager: its resolved notification resolves the group.
            ended = datetime.now(UTC) - timedelta(seconds=1)
            resolved = [alert("a", ended), alert("b", ended)]
            assert httpx.post(f"{am}/api/v2/alerts", json=resolved).status_code == 200
            wait_until(
                lambda: groups()[0]["status"] == "resolved",
                timeout=20,
                what="the resolved notification",
            )
            assert len(groups()) == 1
