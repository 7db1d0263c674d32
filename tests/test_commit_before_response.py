"""A write request's transaction is committed before its response is sent."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.conftest import Account
from tests.live import serve_in_thread
from watchkeeper.db.engine import Database
from watchkeeper.identity.models import Team


def test_a_created_team_is_committed_when_its_201_arrives(
    app: FastAPI, admin: Account, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = Session.commit

    def slow_commit(self: Session, *args: Any, **kwargs: Any) -> None:
        time.sleep(0.3)  # a commit that takes a while (a busy disk, a lock)
        real(self, *args, **kwargs)

    with serve_in_thread(app) as base:
        monkeypatch.setattr(Session, "commit", slow_commit)
        response = httpx.post(
            f"{base}/api/v1/teams", json={"name": "ops"}, headers=admin.headers, timeout=10
        )
        assert response.status_code == 201, response.text
        with db.read() as session:
            names = session.scalars(select(Team.name)).all()
    assert "ops" in names
