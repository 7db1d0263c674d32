"""Settings refuse insecure secrets outside development and persist a generated one."""

from __future__ import annotations

from pathlib import Path

import pytest

from watchkeeper.settings import InsecureSecretError, Settings


def test_default_secret_refused_in_production(tmp_path: Path) -> None:
    settings = Settings(environment="production", secret_key="changeme", data_dir=tmp_path)
    with pytest.raises(InsecureSecretError, match="WATCHKEEPER_SECRET_KEY"):
        settings.resolved_secret_key()
    assert Settings(environment="development", secret_key="changeme").resolved_secret_key()


def test_generated_secret_is_persisted(tmp_path: Path) -> None:
    first = Settings(data_dir=tmp_path).resolved_secret_key()
    second = Settings(data_dir=tmp_path).resolved_secret_key()
    assert first == second
    assert len(first) >= 48


def test_postgres_url_uses_psycopg(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATCHKEEPER_DATABASE_URL", "postgresql://u@h/db")
    assert Settings().resolved_database_url == "postgresql+psycopg://u@h/db"
