"""The migrations build exactly the schema the models declare, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from watchkeeper.db.engine import Database
from watchkeeper.db.registry import Base


def test_migrated_schema_matches_the_models(db: Database) -> None:
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    # Type differences that are only how a database reports a type are not
    # compared (alembic's default); tables, columns, indexes and keys are.
    assert diff == []
