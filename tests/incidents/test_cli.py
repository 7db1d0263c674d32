"""``watchkeeper incident declare|update|resolve|list|review`` against a real database."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import Account
from tests.incidents.conftest import timeline


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "watchkeeper", "incident", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_declare_update_resolve(
    client: TestClient,
    admin: Account,
    make_group: Callable[[str], int],
    team: dict[str, Any],
    db_url: str,
    tmp_path: Path,
) -> None:
    env = {"WATCHKEEPER_DATABASE_URL": db_url, "WATCHKEEPER_DATA_DIR": str(tmp_path)}
    gid = make_group("CheckoutErrors")
    declared = run_cli(
        "declare",
        "--title", "Checkout down",
        "--severity", "SEV2",
        "--group", str(gid),
        "--team", team["name"],
        "--as", admin.email,
        env=env,
    )  # fmt: skip
    assert declared.returncode == 0, declared.stderr
    assert declared.stdout.startswith("declared incident ")
    incident_id = int(declared.stdout.split()[2])

    updated = run_cli(
        "update", str(incident_id), "--text", "Rolled back", "--status", "monitoring", env=env
    )
    assert updated.returncode == 0, updated.stderr
    assert "(monitoring)" in updated.stdout
    resolved = run_cli("resolve", str(incident_id), "--text", "Error rate normal", env=env)
    assert resolved.returncode == 0, resolved.stderr
    again = run_cli("resolve", str(incident_id), env=env)
    assert again.returncode == 1
    assert f"incident {incident_id} is already resolved" in again.stderr

    detail = client.get(f"/api/v1/incidents/{incident_id}", headers=admin.headers).json()
    assert (detail["status"], detail["severity"], detail["source"]) == ("resolved", "SEV2", "cli")
    assert detail["team_id"] == team["id"] and detail["group_ids"] == [gid]
    assert detail["roles"][0]["user_id"] == admin.id, "--as makes that user the commander"
    updates = [e for e in timeline(client, admin, incident_id) if e["kind"] == "status_update"]
    assert [(u["text"], u["actor_name"]) for u in updates] == [
        ("Rolled back", "cli"),
        ("Error rate normal", "cli"),
    ]

    listed = run_cli("list", "--all", env=env)
    assert f"{incident_id}\tSEV2\tresolved\tCheckout down" in listed.stdout
    review = run_cli("review", str(incident_id), env=env)
    assert review.returncode == 0, review.stderr
    assert review.stdout.startswith(f"# Post-incident review: INC-{incident_id} Checkout down")


def test_bad_input(db_url: str, tmp_path: Path) -> None:
    env = {"WATCHKEEPER_DATABASE_URL": db_url, "WATCHKEEPER_DATA_DIR": str(tmp_path)}
    unknown_group = run_cli("declare", "--title", "x", "--group", "987654", env=env)
    assert unknown_group.returncode == 1
    assert "alert group(s) 987654 do not exist" in unknown_group.stderr
    empty = run_cli("declare", "--title", " ", env=env)
    assert empty.returncode == 1
    assert "title: must not be empty" in empty.stderr
    team = run_cli("declare", "--title", "x", "--team", "nope", env=env)
    assert "no team named 'nope'" in team.stderr
    status = run_cli("update", "1", "--text", "x", "--status", "fixed", env=env)
    assert status.returncode == 1 and "unknown status 'fixed'" in status.stderr
    missing = run_cli("resolve", "4242", env=env)
    assert missing.returncode == 1 and "incident 4242 does not exist" in missing.stderr
