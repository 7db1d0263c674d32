"""Typed settings from the environment (prefix ``WATCHKEEPER_``)."""

from __future__ import annotations

import os
import secrets
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Secrets that appear in examples and tutorials; running production with one of
# them would let anyone forge session cookies and acknowledge links.
KNOWN_DEFAULT_SECRETS = frozenset({"", "changeme", "change-me", "secret", "watchkeeper", "dev"})


class InsecureSecretError(RuntimeError):
    """The secret key is a well-known default outside development."""


class Settings(BaseSettings):
    """Everything Watchkeeper reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="WATCHKEEPER_", extra="ignore")

    environment: Literal["development", "production"] = "development"
    data_dir: Path = Path("./watchkeeper-data")
    database_url: str | None = None
    base_url: str = "http://127.0.0.1:8080"
    secret_key: str | None = Field(default=None, repr=False)
    log_level: str = "INFO"
    ingest_max_body_bytes: int = 1024 * 1024
    ingest_rate_limit_per_minute: int = 60000
    # Writer threads per process committing accepted payloads; unset: two on
    # PostgreSQL (one fills a transaction while the other waits for its
    # commit), one on SQLite (which has one write lock, so a second only waits).
    ingest_writers: int | None = Field(default=None, ge=1, le=16)
    retention_days: int = 30
    run_engine: bool = True
    # Provider settings shared by every contact method of a type, as JSON, e.g.
    # {"email": {"host": "smtp.example.com", "from": "oncall@example.com"},
    #  "slack": {"token": "xoxb-..."}}; a contact method's own settings win.
    notify_defaults: dict[str, dict[str, str]] = Field(default_factory=dict, repr=False)
    # Hosts or CIDRs outgoing requests may reach even when they look internal.
    notify_url_allow: list[str] = Field(default_factory=list)
    notify_deny_private: bool = False
    # How often the engine looks for due work when nothing woke it (seconds).
    engine_poll_seconds: float = 1.0
    # A delivery claimed by a process that died mid-send is retried after this.
    delivery_claim_timeout_seconds: float = 120.0
    # Prometheus for native SLO evaluation and `watchkeeper slo gate` when an SLO names none.
    prometheus_url: str | None = None
    prometheus_token: str | None = Field(default=None, repr=False)
    prometheus_basic_auth: str | None = Field(default=None, repr=False)  # USER:PASSWORD
    slo_evaluation_interval_seconds: float = Field(default=60.0, gt=0)

    @field_validator("base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @cached_property
    def resolved_database_url(self) -> str:
        """The SQLAlchemy URL: the given one, or a SQLite file in the data dir."""
        if self.database_url:
            return normalize_database_url(self.database_url)
        return f"sqlite:///{(self.data_dir / 'watchkeeper.db').resolve()}"

    def resolved_secret_key(self) -> str:
        """The instance secret: given, or generated once and kept in the data dir."""
        if self.secret_key is not None:
            if self.secret_key.lower() in KNOWN_DEFAULT_SECRETS and (
                self.environment != "development"
            ):
                raise InsecureSecretError(
                    "WATCHKEEPER_SECRET_KEY is a well-known default; set a random value "
                    "(for example: python -c 'import secrets; print(secrets.token_urlsafe(48))')"
                )
            return self.secret_key
        path = self.data_dir / "secret_key"
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(key + "\n")
        return key


def normalize_database_url(url: str) -> str:
    """Make ``postgresql://`` URLs use psycopg 3, the driver we ship."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
