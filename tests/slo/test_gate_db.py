"""`watchkeeper slo gate SERVICE` without --spec: the SLOs stored in the database."""

from __future__ import annotations

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.conftest import Account
from tests.slo.api_helpers import create_slo, make_team, slo_body
from tests.slo.fake_prometheus import FakePrometheus
from watchkeeper.slo.cli import slo_app

runner = CliRunner()


def _gate(db_url: str, *args: str, **env: str) -> tuple[int, str, str]:
    environment = {"WATCHKEEPER_DATABASE_URL": db_url, "WATCHKEEPER_PROMETHEUS_URL": "", **env}
    result = runner.invoke(slo_app, ["gate", *args], env=environment)
    return result.exit_code, result.stdout, result.stderr


def test_gate_reads_stored_slos_and_their_prometheus(
    client: TestClient, admin: Account, db_url: str, fake_prometheus: FakePrometheus
) -> None:
    evaluation = {"prometheus_url": fake_prometheus.url, "basic_auth": "gate:pw"}
    create_slo(client, admin, slo_body(make_team(client, admin), evaluation=evaluation))
    fake_prometheus.ratios = {"30d": 0.0005}
    code, out, err = _gate(db_url, "checkout")
    assert code == 0, err
    assert out.strip() == "ok: checkout/requests-availability: 50.0% of error budget left"
    assert {auth for _, _, auth in fake_prometheus.requests} == {"Basic Z2F0ZTpwdw=="}
    fake_prometheus.ratios = {"30d": 0.0012}
    code, out, _ = _gate(db_url, "checkout")
    assert code == 1
    assert out.count("\n") == 1
    assert out.startswith("checkout/requests-availability: error budget exhausted")
    fake_prometheus.ratios = {"30d": 0.0005, "1h": 0.005}
    code, out, _ = _gate(db_url, "checkout", "--max-burn-rate", "2")
    assert code == 1 and "burning 5.0× over 1h, above 2×" in out


def test_gate_falls_back_to_the_prometheus_setting(
    client: TestClient, admin: Account, db_url: str, fake_prometheus: FakePrometheus
) -> None:
    create_slo(client, admin, slo_body(make_team(client, admin)))
    code, _, err = _gate(db_url, "checkout")
    assert code == 2 and "no Prometheus URL" in err
    fake_prometheus.ratios = {"30d": 0.0002}
    code, out, err = _gate(db_url, "checkout", WATCHKEEPER_PROMETHEUS_URL=fake_prometheus.url)
    assert code == 0, err
    assert "80.0% of error budget left" in out


def test_gate_usage_and_connection_errors(
    client: TestClient, admin: Account, db_url: str, closed_port_url: str
) -> None:
    create_slo(client, admin, slo_body(make_team(client, admin)))
    code, _, err = _gate(db_url, "billing")
    assert code == 2 and "no SLO of service 'billing' is stored" in err
    code, _, err = _gate(db_url, "checkout", "--prometheus", closed_port_url)
    assert code == 2 and f"cannot reach Prometheus at {closed_port_url}" in err
    code, _, err = _gate(db_url, "checkout", "--slo", "other", "--prometheus", closed_port_url)
    assert code == 2


def test_gate_reports_an_unreadable_database(tmp_path: object) -> None:
    code, _, err = _gate("sqlite:////nonexistent-dir/x/watchkeeper.db", "checkout")
    assert code == 2 and "cannot read SLOs from the database" in err
