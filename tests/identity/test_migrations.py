"""Every migration downgrades cleanly and upgrades again, on both databases."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import inspect

from watchkeeper.db import migrate
from watchkeeper.db.engine import Database
from watchkeeper.db.registry import Base

ROOT = Path(__file__).resolve().parents[2]


def _tables(url: str) -> set[str]:
    database = Database(url)
    try:
        return set(inspect(database.engine).get_table_names()) - {"alembic_version"}
    finally:
        database.dispose()


def test_downgrade_base_then_upgrade_head(db_url: str) -> None:
    expected = {t.name for t in Base.metadata.sorted_tables}
    assert _tables(db_url) == expected
    # The alembic command line, as an operator would run it from the checkout.
    env = {**os.environ, "WATCHKEEPER_DATABASE_URL": db_url}
    alembic = [sys.executable, "-m", "alembic", "-c", str(ROOT / "alembic.ini")]
    subprocess.run([*alembic, "downgrade", "base"], check=True, cwd=ROOT, env=env)
    assert _tables(db_url) == set()
    subprocess.run([*alembic, "upgrade", "head"], check=True, cwd=ROOT, env=env)
    assert _tables(db_url) == expected
    # And the programmatic path used by `watchkeeper db upgrade` is idempotent.
    migrate.upgrade(db_url)
    assert _tables(db_url) == expected
