"""The PyPI pagerduty client, with only its base URL changed, against Watchkeeper over TLS."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import httpx
import trustme
from fastapi import FastAPI
from pagerduty import EventsApiV2Client

from tests.conftest import Account
from tests.live import serve_in_thread


def test_pagerduty_client_trigger_ack_resolve(app: FastAPI, admin: Account, tmp_path: Path) -> None:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(cert_file))
    cert.private_key_pem.write_to_path(str(key_file))
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    trust = ssl.create_default_context(cafile=str(ca_file))

    with serve_in_thread(app, ssl_certfile=str(cert_file), ssl_keyfile=str(key_file)) as base:
        assert base.startswith("https://")
        wk = httpx.Client(base_url=base, headers=admin.headers, verify=trust)
        team = wk.post("/api/v1/teams", json={"name": "ops"}).json()
        integration = wk.post(
            "/api/v1/integrations",
            json={"name": "pd", "kind": "pagerduty", "team_id": team["id"]},
        ).json()

        def groups() -> list[dict[str, Any]]:
            return wk.get("/api/v1/alert-groups").json()["items"]  # type: ignore[no-any-return]

        client = EventsApiV2Client(integration["token"], base_url=base, verify=trust)
        dedup_key = client.trigger("Checkout error rate above 5%", "checkout-1")
        assert dedup_key
        [group] = groups()
        assert group["status"] == "firing"
        assert group["title"] == "Checkout error rate above 5%"
        assert group["severity"] == "critical"
        client.acknowledge(dedup_key)
        assert groups()[0]["status"] == "acknowledged"
        client.resolve(dedup_key)
        assert groups()[0]["status"] == "resolved"
        # A trigger with the same key after resolve opens a new group.
        assert client.trigger("again", "checkout-1", dedup_key=dedup_key) == dedup_key
        assert [g["status"] for g in groups()] == ["firing", "resolved"]
        wk.close()
