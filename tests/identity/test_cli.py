"""The command line: user and token creation, serve, version."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.live import free_port
from watchkeeper import __version__


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "watchkeeper", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_version() -> None:
    result = run_cli("--version", env={})
    assert result.returncode == 0
    assert result.stdout.strip() == f"watchkeeper {__version__}"


def test_user_and_token_create_then_serve(db_url: str, tmp_path: Path) -> None:
    env = {"WATCHKEEPER_DATABASE_URL": db_url, "WATCHKEEPER_DATA_DIR": str(tmp_path)}
    created = run_cli(
        "user", "create", "--email", "Ops@Example.com", "--name", "Ops", "--role", "editor", env=env
    )
    assert created.returncode == 0, created.stderr
    duplicate = run_cli("user", "create", "--email", "ops@example.com", "--name", "X", env=env)
    assert duplicate.returncode == 1
    assert "already exists" in duplicate.stderr
    bad_role = run_cli("user", "create", "--email", "a@b.c", "--name", "X", "--role", "x", env=env)
    assert bad_role.returncode == 1
    assert "role" in bad_role.stderr
    token_run = run_cli("token", "create", "--email", "ops@example.com", env=env)
    assert token_run.returncode == 0, token_run.stderr
    token = token_run.stdout.strip().splitlines()[-1]
    assert token.startswith("wk_")
    unknown = run_cli("token", "create", "--email", "nobody@example.com", env=env)
    assert unknown.returncode == 1

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "watchkeeper", "serve", "--port", str(port)],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 10
        while True:
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "serve did not answer /healthz within 10 s"
            time.sleep(0.1)
        me = httpx.get(f"{base}/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200
        assert me.json()["email"] == "ops@example.com"
        token_id = httpx.get(
            f"{base}/api/v1/tokens", headers={"Authorization": f"Bearer {token}"}
        ).json()["items"][0]["id"]
        revoked = run_cli("token", "revoke", str(token_id), env=env)
        assert revoked.returncode == 0, revoked.stderr
        after = httpx.get(f"{base}/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert after.status_code == 401
    finally:
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=15)
    # Users existed already, so no admin bootstrap; the token never reaches the log.
    assert "First start" not in output
    assert token not in output
    assert "path=/api/v1/me status=200" in output


def test_first_start_creates_admin_once(tmp_path: Path) -> None:
    env = {"WATCHKEEPER_DATA_DIR": str(tmp_path / "data")}
    port = free_port()
    outputs = []
    for _ in range(2):
        server = subprocess.Popen(
            [sys.executable, "-m", "watchkeeper", "serve", "--port", str(port)],
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline
            time.sleep(0.1)
        server.send_signal(signal.SIGTERM)
        outputs.append(server.communicate(timeout=15)[0])
    assert "password:" in outputs[0]
    assert "password:" not in outputs[1]
    assert (tmp_path / "data" / "watchkeeper.db").exists()
    secret = tmp_path / "data" / "secret_key"
    assert secret.exists()
    assert oct(secret.stat().st_mode & 0o777) == "0o600"
