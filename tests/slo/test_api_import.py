"""POST /api/v1/slos/import: Watchkeeper, Sloth and OpenSLO YAML."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from httpx import Response

from tests.conftest import Account
from tests.slo.api_helpers import make_team
from tests.slo.fake_prometheus import SPECS

YAML = {"Content-Type": "application/yaml"}


def _import(client: TestClient, account: Account, text: str, query: str = "") -> Response:
    return client.post(
        f"/api/v1/slos/import{query}",
        content=text.encode(),
        headers={**account.headers, **YAML},
    )


def test_sloth_import_takes_the_team_from_its_label(client: TestClient, admin: Account) -> None:
    team_id = make_team(client, admin, "payments")
    response = _import(client, admin, (SPECS / "sloth_checkout.yml").read_text())
    assert response.status_code == 200, response.text
    result = response.json()
    assert len(result["created"]) == 1 and result["updated"] == []
    slo = result["items"][0]
    assert (slo["service"], slo["name"], slo["team_id"]) == (
        "checkout",
        "requests-availability",
        team_id,
    )
    assert slo["objective"] == 99.9 and slo["period"] == "30d"
    assert slo["evaluation"]["enabled"] is False
    # Importing again replaces the SLO instead of failing.
    again = _import(client, admin, (SPECS / "sloth_checkout.yml").read_text()).json()
    assert again["created"] == [] and again["updated"] == [slo["id"]]


def test_openslo_and_watchkeeper_import(client: TestClient, admin: Account) -> None:
    make_team(client, admin, "payments")
    openslo = _import(client, admin, (SPECS / "openslo_checkout.yml").read_text())
    assert openslo.status_code == 200, openslo.text
    assert openslo.json()["items"][0]["objective"] == 99.9
    watchkeeper = _import(client, admin, (SPECS / "checkout.yml").read_text())
    assert watchkeeper.status_code == 200, watchkeeper.text
    names = sorted(s["name"] for s in watchkeeper.json()["items"])
    assert names == ["requests-availability", "requests-latency"]
    assert watchkeeper.json()["updated"] == [openslo.json()["items"][0]["id"]]
    listed = client.get("/api/v1/slos", headers=admin.headers).json()["items"]
    assert len(listed) == 2


def test_import_with_explicit_team_and_native_evaluation(
    client: TestClient, admin: Account
) -> None:
    team_id = make_team(client, admin, "checkout-team")
    text = (SPECS / "sloth_checkout.yml").read_text().replace('  team: "payments"\n', "")
    no_team = _import(client, admin, text)
    assert no_team.status_code == 422
    assert no_team.json()["error"]["message"].startswith("team: checkout/requests-availability")
    no_url = _import(client, admin, text, f"?team_id={team_id}&native_evaluation=true")
    assert "evaluation.prometheus_url" in no_url.json()["error"]["message"]
    client.app.state.ctx.settings.prometheus_url = "http://prometheus.internal:9090"  # type: ignore[attr-defined]
    response = _import(client, admin, text, f"?team_id={team_id}&native_evaluation=true")
    assert response.status_code == 200, response.text
    slo = response.json()["items"][0]
    assert slo["team_id"] == team_id and slo["evaluation"]["enabled"] is True


def test_import_errors_name_the_field(client: TestClient, admin: Account) -> None:
    make_team(client, admin, "payments")
    bad = (SPECS / "sloth_checkout.yml").read_text().replace("objective: 99.9", "objective: 100")
    response = _import(client, admin, bad)
    assert response.status_code == 422
    assert response.json()["error"]["message"].startswith(
        "body: slos[0].objective: objective must be a percentage strictly between 0 and 100"
    )
    unknown = (SPECS / "sloth_checkout.yml").read_text().replace('"payments"', '"nobody"')
    response = _import(client, admin, unknown)
    assert "names team 'nobody', which does not exist" in response.json()["error"]["message"]
    assert _import(client, admin, "version: [").status_code == 422
    assert client.get("/api/v1/slos", headers=admin.headers).json()["items"] == []


def test_import_needs_an_editor_of_the_team(
    client: TestClient, admin: Account, make_account: Callable[..., Account]
) -> None:
    team_id = make_team(client, admin, "payments")
    text = (SPECS / "sloth_checkout.yml").read_text()
    assert _import(client, make_account("viewer", teams=(team_id,)), text).status_code == 403
    assert _import(client, make_account("editor"), text).status_code == 403
    assert _import(client, make_account("editor", teams=(team_id,)), text).status_code == 200
