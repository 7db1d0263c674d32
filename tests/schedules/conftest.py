"""Fixtures for the schedules API tests: a team, people with usernames, helpers."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from watchkeeper.clock import FixedClock
from watchkeeper.db.engine import Database
from watchkeeper.identity import service as identity
from watchkeeper.identity.principal import SYSTEM
from watchkeeper.identity.schemas import UserCreate


@pytest.fixture
def team_id(db: Database, clock: FixedClock) -> int:
    with db.write() as session:
        return identity.create_team(
            session, actor=SYSTEM, name="Platform", description="", now=clock.now()
        ).id


@pytest.fixture
def make_user(db: Database, clock: FixedClock) -> Callable[..., int]:
    """Create a user without a token (someone who is only on call)."""

    def make(email: str, *, username: str | None = None, time_zone: str = "UTC") -> int:
        with db.write() as session:
            return identity.create_user(
                session,
                actor=SYSTEM,
                data=UserCreate(
                    email=email,
                    name=email.split("@")[0].capitalize(),
                    username=username,
                    time_zone=time_zone,
                ),
                now=clock.now(),
            ).id

    return make
