"""Test fixtures: every database test runs on SQLite and on PostgreSQL.

PostgreSQL comes from WATCHKEEPER_TEST_POSTGRES_URL (default
postgresql://postgres@127.0.0.1:5432/test). Each pytest run creates its own
database next to that one, so parallel runs never see each other's rows, and
every test starts from empty tables. When CI=true (or
WATCHKEEPER_REQUIRE_POSTGRES=1) an unreachable PostgreSQL fails the run
instead of skipping half of it.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import make_url, text

from watchkeeper.app import create_app
from watchkeeper.clock import FixedClock
from watchkeeper.db import migrate
from watchkeeper.db.engine import Database
from watchkeeper.db.registry import Base
from watchkeeper.escalation.wakeup import libpq_url
from watchkeeper.identity import service as identity
from watchkeeper.identity.principal import SYSTEM
from watchkeeper.identity.schemas import UserCreate
from watchkeeper.settings import Settings

PG_URL = os.environ.get(
    "WATCHKEEPER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
REQUIRE_PG = os.environ.get("CI") == "true" or os.environ.get("WATCHKEEPER_REQUIRE_POSTGRES") == "1"
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)

_postgres_passed = 0


def _admin_url(url: str) -> str:
    return libpq_url(make_url(url))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each test copies (faster than migrating per test)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    migrate.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this pytest run."""
    name = f"wk_test_{os.getpid()}_{secrets.token_hex(3)}"
    try:
        admin = psycopg.connect(_admin_url(PG_URL), autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        message = f"PostgreSQL at {PG_URL} is not reachable: {exc}"
        if REQUIRE_PG:
            pytest.fail(message + " (required in CI)", pytrace=False)
        pytest.skip(message)
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    migrate.upgrade(url)
    yield url
    with psycopg.connect(_admin_url(PG_URL), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _truncate_all(db: Database) -> None:
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with db.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty, migrated database; once per database kind."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "watchkeeper.db"
        shutil.copy(template, path)
        yield f"sqlite:///{path}"
        return
    url: str = request.getfixturevalue("postgres_url")
    yield url
    cleanup = Database(url)
    try:
        _truncate_all(cleanup)
    finally:
        cleanup.dispose()


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    yield database
    database.dispose()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=db_url, secret_key="test-secret-key")


@pytest.fixture
def app(settings: Settings, db: Database, clock: FixedClock):  # type: ignore[no-untyped-def]
    return create_app(settings, db=db, clock=clock, background=False)


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app) as test_client:
        yield test_client


@dataclass
class Account:
    id: int
    email: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def make_account(db: Database, clock: FixedClock) -> Callable[..., Account]:
    """Create a user with a role, optional team memberships and an API token."""
    counter = iter(range(1, 10_000))

    def make(
        role: str = "viewer",
        *,
        teams: tuple[int, ...] = (),
        email: str | None = None,
        password: str | None = None,
        time_zone: str = "UTC",
    ) -> Account:
        email = email or f"{role}{next(counter)}@example.com"
        with db.write() as session:
            user = identity.create_user(
                session,
                actor=SYSTEM,
                data=UserCreate(
                    email=email,
                    name=email.split("@")[0],
                    role=role,  # type: ignore[arg-type]
                    password=password,
                    time_zone=time_zone,
                ),
                now=clock.now(),
            )
            for team_id in teams:
                identity.add_member(
                    session, actor=SYSTEM, team_id=team_id, user_id=user.id, now=clock.now()
                )
            _, secret = identity.create_token(
                session, actor=SYSTEM, user_id=user.id, name="test", now=clock.now()
            )
            return Account(id=user.id, email=email, token=secret)

    return make


@pytest.fixture
def admin(make_account: Callable[..., Account]) -> Account:
    return make_account("admin", email="admin@example.com")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    global _postgres_passed
    if report.when == "call" and report.passed and "[postgres" in report.nodeid:
        _postgres_passed += 1


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not REQUIRE_PG or exitstatus != 0:
        return
    has_db_tests = any("[postgres" in item.nodeid for item in session.items)
    if has_db_tests and _postgres_passed == 0:
        session.exitstatus = 1
        print("\nERROR: no PostgreSQL test passed; the PostgreSQL half of the suite was skipped.")


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # type: ignore[no-untyped-def]
    terminalreporter.write_line(f"PostgreSQL tests passed: {_postgres_passed}")
