"""The migrations build exactly the schema the models declare, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from watchkeeper.db.engine import Database
from watchkeeper.db.registry import Base


def test_migrated_schema_matches_the_models(db: Database) -> None:
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    # Type differences that are only how a database reports a type are not
    # compared (alembic's default); tables, columns, indexes and keys are.
    assert diff == []


def test_every_foreign_key_column_leads_an_index(db: Database) -> None:
    """Deleting a parent row must not scan the whole child table for each row it deletes.

    ON DELETE CASCADE / SET NULL makes the database look up the rows pointing
    at a deleted row by the referencing columns; without an index leading with
    them that is a full scan per deleted row (migrations 0010 and 0013).
    """
    inspector = inspect(db.engine)
    unindexed = []
    for table in inspector.get_table_names():
        leading = [list(ix["column_names"]) for ix in inspector.get_indexes(table)]
        leading += [list(uq["column_names"]) for uq in inspector.get_unique_constraints(table)]
        leading.append(list(inspector.get_pk_constraint(table)["constrained_columns"]))
        for fk in inspector.get_foreign_keys(table):
            columns = list(fk["constrained_columns"])
            if not any(cols[: len(columns)] == columns for cols in leading):
                unindexed.append(f"{table}({', '.join(columns)}) -> {fk['referred_table']}")
    assert unindexed == []
