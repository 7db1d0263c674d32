"""Bulk inserts for the ingest hot path, straight to the database driver.

An ingest commit writes hundreds of alert rows. Through SQLAlchemy each value
passes a per-row, per-column bind processor (UTC conversion, JSON encoding)
and, on PostgreSQL, each row becomes its own INSERT statement that the server
parses and plans. Here the rows are encoded once, in plain Python, and sent
the cheapest way each database has: ``executemany`` on one prepared statement
for SQLite, one ``COPY … FROM STDIN`` for PostgreSQL.

The stored values are exactly what SQLAlchemy would store (the same datetime
text on SQLite, the same JSON), so the ORM reads them back unchanged; a test
checks that row for row.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, Table
from sqlalchemy.orm import Session

from watchkeeper.db.types import UTCDateTime, json_text

_JSON = object()
_TIME = object()
_PLAIN = object()


def _kind(column: Column[Any]) -> object:
    if isinstance(column.type, UTCDateTime):
        return _TIME
    if isinstance(column.type, JSON):  # JSONB on PostgreSQL is a variant of it
        return _JSON
    return _PLAIN


def sqlite_time(value: datetime) -> str:
    """The text SQLAlchemy stores for an aware datetime in a UTCDateTime column on SQLite."""
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTCDateTime column")
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


class BulkInsert:
    """A compiled bulk INSERT of fixed columns into one table."""

    def __init__(self, table: Table, columns: Sequence[str]) -> None:
        self.table = table
        self.columns = tuple(columns)
        kinds = [_kind(table.c[name]) for name in self.columns]
        self._time_at = [i for i, kind in enumerate(kinds) if kind is _TIME]
        self._json_at = [i for i, kind in enumerate(kinds) if kind is _JSON]
        names = ", ".join(self.columns)
        self._sqlite = (
            f"INSERT INTO {table.name} ({names}) VALUES ({', '.join('?' for _ in self.columns)})"
        )
        self._copy = f"COPY {table.name} ({names}) FROM STDIN"

    def run(self, session: Session, rows: Iterable[Sequence[Any]]) -> None:
        """Insert rows (value tuples in column order) in the session's transaction.

        JSON columns take Python values (None is JSON null, as SQLAlchemy
        stores it), time columns aware datetimes; the rest goes to the driver as is.
        """
        connection = session.connection()
        driver = connection.connection.driver_connection
        if connection.dialect.name == "sqlite":
            self._run_sqlite(driver, rows)
        else:
            self._run_postgres(driver, rows)

    def _run_sqlite(self, driver: Any, rows: Iterable[Sequence[Any]]) -> None:
        time_at, json_at = self._time_at, self._json_at
        times: dict[datetime, str] = {}  # a batch shares a few instants ("now")

        def encode(row: Sequence[Any]) -> list[Any]:
            values = list(row)
            for i in time_at:
                value = values[i]
                if value is not None:
                    text = times.get(value)
                    if text is None:
                        text = times[value] = sqlite_time(value)
                    values[i] = text
            for i in json_at:
                values[i] = json_text(values[i])
            return values

        cursor = driver.cursor()
        try:
            cursor.executemany(self._sqlite, [encode(row) for row in rows])
        finally:
            cursor.close()

    def _run_postgres(self, driver: Any, rows: Iterable[Sequence[Any]]) -> None:
        time_at, json_at = self._time_at, self._json_at
        with driver.cursor() as cursor, cursor.copy(self._copy) as copy:
            for row in rows:
                values = list(row)
                for i in time_at:
                    if values[i] is not None and values[i].tzinfo is None:
                        raise ValueError("naive datetime given to a UTCDateTime column")
                for i in json_at:
                    values[i] = json_text(values[i])
                copy.write_row(values)
