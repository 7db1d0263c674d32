"""Ready-to-paste configuration for the sender of each integration kind (pure functions)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Snippet:
    """One way to send alerts here: a heading, what to do with it, and the text to paste."""

    title: str
    hint: str
    text: str


def _curl(url: str, body: dict[str, object]) -> Snippet:
    return Snippet(
        "curl",
        "Send one alert by hand to check the address works.",
        f"curl -sS -X POST '{url}' \\\n  -H 'Content-Type: application/json' \\\n"
        f"  -d '{json.dumps(body)}'",
    )


def snippets(kind: str, *, ingest_url: str, base_url: str, token: str) -> list[Snippet]:
    """Configs for ``kind``; ``ingest_url`` already carries the integration's secret token."""
    parts = urlsplit(ingest_url)
    host = parts.netloc
    scheme = parts.scheme or "http"
    prefix = parts.path
    if kind == "alertmanager":
        return [
            Snippet(
                "Alertmanager (alertmanager.yml)",
                "Add a receiver and route alerts to it.",
                "receivers:\n  - name: watchkeeper\n    webhook_configs:\n"
                f"      - url: '{ingest_url}'\n        send_resolved: true\n"
                "route:\n  receiver: watchkeeper\n",
            ),
            _curl(
                ingest_url,
                {
                    "version": "4",
                    "status": "firing",
                    "alerts": [
                        {
                            "status": "firing",
                            "labels": {"alertname": "TestAlert", "severity": "warning"},
                            "annotations": {"summary": "sent with curl"},
                        }
                    ],
                },
            ),
        ]
    if kind == "prometheus":
        return [
            Snippet(
                "Prometheus (prometheus.yml)",
                "Prometheus sends alerts straight here, as if Watchkeeper were an Alertmanager.",
                f"alerting:\n  alertmanagers:\n    - scheme: {scheme}\n"
                f"      path_prefix: {prefix}\n      api_version: v2\n"
                f"      static_configs:\n        - targets: ['{host}']\n",
            ),
            _curl(
                f"{ingest_url}/api/v2/alerts",
                {"labels": {"alertname": "TestAlert", "severity": "warning"}},
            ),
        ]
    if kind == "grafana":
        return [
            Snippet(
                "Grafana contact point",
                "Alerting → Contact points → New contact point: choose the Webhook "
                "integration, paste this URL, method POST, and save.",
                f"Integration: Webhook\nURL: {ingest_url}\nHTTP method: POST\n",
            ),
            Snippet(
                "Grafana provisioning (contact-points.yml)",
                "Or provision the contact point from a file.",
                "apiVersion: 1\ncontactPoints:\n  - orgId: 1\n    name: watchkeeper\n"
                "    receivers:\n      - uid: watchkeeper\n        type: webhook\n"
                f"        settings:\n          url: {ingest_url}\n          httpMethod: POST\n",
            ),
        ]
    if kind == "pagerduty":
        return [
            Snippet(
                "PagerDuty Events API v2 client",
                "Keep your PagerDuty client; change only its base URL and routing key.",
                f"base URL:    {base_url}\nendpoint:    {base_url}/v2/enqueue\n"
                f"routing_key: {token}\n",
            ),
            _curl(
                f"{base_url}/v2/enqueue",
                {
                    "routing_key": token,
                    "event_action": "trigger",
                    "payload": {"summary": "Test alert", "source": "curl", "severity": "warning"},
                },
            ),
        ]
    if kind == "heartbeat":
        return [
            Snippet(
                "Heartbeat",
                "Call this address regularly (cron, a job's last step); Watchkeeper "
                "alerts when the pings stop.",
                f"*/5 * * * * curl -fsS '{ingest_url}' > /dev/null\n",
            )
        ]
    return [
        _curl(
            ingest_url,
            {
                "title": "Disk almost full on db-1",
                "message": "92% used",
                "severity": "warning",
                "labels": {"service": "db"},
            },
        )
    ]
