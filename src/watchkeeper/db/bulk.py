"""Bulk inserts and updates for ingest and the engine, straight to the database driver.

An ingest commit writes hundreds of alert rows, an engine pass in a burst
thousands of escalations, walkers and deliveries. Through SQLAlchemy each value
passes a per-row, per-column bind processor (UTC conversion, JSON encoding)
and, on PostgreSQL, each row becomes its own INSERT statement that the server
parses and plans. Here the rows are encoded once, in plain Python, and sent
the cheapest way each database has: ``executemany`` on one prepared statement
for SQLite; for PostgreSQL one INSERT of the rows (see ``Pipeline`` below),
and ``COPY … FROM STDIN`` beyond PIPELINE_MAX_ROWS. Rows whose new ids are
needed go as one INSERT … RETURNING (pipelined on PostgreSQL). ``BulkUpdate``
sets fixed columns of many rows by id: one ``executemany`` on SQLite, one
UPDATE joined to a JSON document of the rows on PostgreSQL.

Several small inserts of one transaction can go together (``Pipeline``): on
PostgreSQL they then cost one round trip between them instead of two each
(a COPY waits for the server twice), which is most of a single PagerDuty
event's commit. There each insert is one statement whatever its number of
rows: a few rows as INSERT … VALUES with parameters, more as one JSON
document, up to PIPELINE_MAX_ROWS rows.

These writes bypass the session: they do not autoflush its pending objects
and SQLAlchemy's statement events do not see them. Use them for plain rows
that nothing in the session holds.

The stored values are exactly what SQLAlchemy would store (the same datetime
text on SQLite, the same JSON), so the ORM reads them back unchanged; a test
checks that row for row.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import JSON, Column, Table, bindparam
from sqlalchemy.orm import Session

from watchkeeper.db import pq
from watchkeeper.db.types import UTCDateTime, json_text

# Up to this many rows (an ingest commit's most alerts), an insert in a
# Pipeline is sent as one pipelined INSERT of a JSON document; above, as a
# COPY of its own (COPY cannot run inside a libpq pipeline). For hundreds of
# rows COPY costs the server less, but the writer more (a Python call per
# row): with COPY above 32 rows, a server process took 64-66 µs of CPU per
# new Prometheus alert and PostgreSQL 42; with JSON documents 45-52 and
# 50-56, and one process took 6-20 % more alerts/s (bench/ingest.py), since
# the writer shares one core's GIL with the event loop and PostgreSQL's work
# runs on the other. (Two processes keep both cores busy either way: same
# alerts/s.)
PIPELINE_MAX_ROWS = 10_000
# A few rows of few columns (a commit's raw payloads, a handful of PagerDuty
# events) go as one INSERT … VALUES with parameters instead of a JSON
# document: for those PostgreSQL spent more parsing the document than
# inserting the rows (statement log: 167 µs for four raw payloads as JSON).
# At most 50 values: psycopg caches how it rewrites a query's placeholders
# only up to 50 (MAX_CACHED_STATEMENT_PARAMS) and parses a longer one again
# on every run, which took 7 % of the GIL's time under the PagerDuty load.
VALUES_MAX_PARAMETERS = 50

_JSON = object()
_TIME = object()
_PLAIN = object()


def among(column: Any, name: str) -> Any:
    """``column IN (:name)``, the values given when the statement runs.

    For statements built once at import. SQLAlchemy's ``in_(values)`` makes
    a small reference cycle each time it is constructed, which only Python's
    cyclic collector frees (see tests/alerts/test_cyclic_garbage.py); the
    ingest and engine paths run too often to build one per commit or pass.
    """
    return column.in_(bindparam(name, expanding=True))


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


_DRIVER = "watchkeeper_driver"


def driver_of(session: Session) -> tuple[str, Any]:
    """The dialect name and the driver's own connection, inside the session's transaction.

    Remembered for the transaction: an ingest commit asks five times, and
    asking the session costs more than a single event's insert. The
    transaction is held weakly: the session's ``info`` holding it strongly
    made every session a reference cycle (session -> info -> transaction ->
    session) of some 40 objects that only Python's cyclic collector could
    free. At a few hundred commits a second its collections then held the
    GIL for 20-80 ms every couple of seconds, the tail of ingest's latency.
    """
    known = session.info.get(_DRIVER)
    transaction = session.get_transaction()
    # A dead reference reads as None, as does a session between transactions:
    # only a live transaction may match.
    if known is not None and transaction is not None and known[0]() is transaction:
        return known[1], known[2]
    connection = session.connection()
    dialect, driver = connection.dialect.name, connection.connection.driver_connection
    session.info[_DRIVER] = (weakref.ref(session.get_transaction()), dialect, driver)
    return dialect, driver


class _Encoder:
    """Encodes rows of fixed columns of one table as each driver takes them."""

    def __init__(self, table: Table, columns: Sequence[str]) -> None:
        self.table = table
        self.columns = tuple(columns)
        kinds = [_kind(table.c[name]) for name in self.columns]
        self._time_at = [i for i, kind in enumerate(kinds) if kind is _TIME]
        self._json_at = [i for i, kind in enumerate(kinds) if kind is _JSON]

    def _encode_sqlite(self, rows: Iterable[Sequence[Any]]) -> Iterator[list[Any]]:
        """Rows as SQLAlchemy would bind them on SQLite: times as text, JSON as text."""
        time_at, json_at = self._time_at, self._json_at
        times: dict[datetime, str] = {}  # a batch shares a few instants ("now")
        for row in rows:
            values = list(row)
            for i in time_at:
                value = values[i]
                if value is not None:
                    text = times.get(value)
                    if text is None:
                        text = times[value] = sqlite_time(value)
                    values[i] = text
            for i in json_at:
                values[i] = _json(values[i])
            yield values

    def _refuse_naive(self, row: Sequence[Any]) -> None:
        for i in self._time_at:
            if row[i] is not None and row[i].tzinfo is None:
                raise ValueError("naive datetime given to a UTCDateTime column")

    def _json_document(self, rows: Sequence[Sequence[Any]]) -> str | None:
        """The rows as a JSON array of objects; None when orjson refuses a value.

        orjson refuses integers beyond 64 bits and lone surrogates, which the
        row-by-row path stores through ``json_text``. JSON columns keep their
        values nested (stored as they are), times go as ISO 8601 with offset.
        """
        for row in rows:
            self._refuse_naive(row)
        columns = self.columns
        try:
            text: bytes = orjson.dumps(
                [dict(zip(columns, row, strict=True)) for row in rows],
                option=orjson.OPT_NON_STR_KEYS,
            )
        except (TypeError, ValueError):
            return None
        return text.decode()

    def _encode_postgres(self, rows: Iterable[Sequence[Any]]) -> Iterator[list[Any]]:
        """Rows for psycopg: aware datetimes as they are, JSON as text."""
        json_at = self._json_at
        for row in rows:
            self._refuse_naive(row)
            values = list(row)
            for i in json_at:
                values[i] = _json(values[i])
            yield values


def _json(value: Any, dumps: Any = orjson.dumps, option: int = orjson.OPT_NON_STR_KEYS) -> str:
    """``json_text``, with its common case inlined: a bulk insert encodes thousands."""
    try:
        return dumps(value, option=option).decode()  # type: ignore[no-any-return]
    except (TypeError, ValueError):
        return json_text(value)


def _executemany_sqlite(driver: Any, statement: str, values: Iterable[list[Any]]) -> None:
    cursor = driver.cursor()
    try:
        cursor.executemany(statement, list(values))
    finally:
        cursor.close()


class BulkUpdate(_Encoder):
    """A compiled UPDATE of fixed columns, one row per id, sent as one batch.

    Rows are value tuples: the new values in column order, then the id.
    ``also`` adds fixed SQL assignments for every row (``n = n + 1``).
    ``combine`` maps a column to how its old value and the row's value make
    the new one, as SQL with ``{old}`` and ``{new}`` (``"{old} + {new}"``
    adds to a counter); the other columns take the row's value.
    """

    def __init__(
        self,
        table: Table,
        columns: Sequence[str],
        also: Sequence[str] = (),
        combine: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(table, (*columns, "id"))
        name = table.name
        combine = combine or {}

        def assign(column: str, new: str) -> str:
            rule = combine.get(column, "{new}")
            return f"{column} = {rule.format(old=f'{name}.{column}', new=new)}"

        sets = ", ".join([*(assign(column, "?") for column in columns), *also])
        self._sqlite = f"UPDATE {name} SET {sets} WHERE id = ?"
        self._postgres = self._sqlite.replace("?", "%s")
        # Many rows as one statement, as BulkInsert does: the new values come
        # as a JSON document joined to the table by id.
        picked = ", ".join(
            assign(column, f"coalesce(v.{column}, 'null'::jsonb)")
            if i in self._json_at
            else assign(column, f"v.{column}")
            for i, column in enumerate(columns)
        )
        self._json_postgres = (
            f"UPDATE {name} SET {', '.join([picked, *also])} "
            f"FROM json_populate_recordset(NULL::{name}, %s::json) AS v WHERE {name}.id = v.id"
        )

    def run(self, session: Session, rows: Sequence[Sequence[Any]]) -> None:
        """Update rows (new values in column order, then the id).

        Give them in id order: PostgreSQL then locks them in that order when it
        probes them by id (its plan for a handful of rows of a big table), so
        concurrent writers wait for each other instead of deadlocking.
        """
        if not rows:
            return
        dialect, driver = driver_of(session)
        if dialect == "sqlite":
            _executemany_sqlite(driver, self._sqlite, self._encode_sqlite(rows))
            return
        document = self._json_document(rows) if len(rows) > 1 else None
        if pq.AVAILABLE:  # as the pipelined inserts: see db/pq.py
            statements: list[tuple[str, Sequence[Any]]] = (
                [(self._json_postgres, (document,))]
                if document is not None
                else [(self._postgres, row) for row in self._encode_postgres(rows)]
            )
            if pq.try_run(driver, statements) is not None:
                return
        with driver.cursor() as cursor, prepared(driver):
            if document is not None:
                # One statement: a PostgreSQL UPDATE per row cost the server
                # more than the row's insert did.
                cursor.execute(self._json_postgres, (document,))
            else:  # psycopg pipelines an executemany: one round trip, one prepared plan.
                cursor.executemany(self._postgres, list(self._encode_postgres(rows)))


class BulkInsert(_Encoder):
    """A compiled bulk INSERT of fixed columns into one table."""

    def __init__(self, table: Table, columns: Sequence[str]) -> None:
        super().__init__(table, columns)
        names = ", ".join(self.columns)
        self._sqlite = (
            f"INSERT INTO {table.name} ({names}) VALUES ({', '.join('?' for _ in self.columns)})"
        )
        self._copy = f"COPY {table.name} ({names}) FROM STDIN"
        self._returning_sqlite = f"{self._sqlite} RETURNING id"
        self._insert_head = f"INSERT INTO {table.name} ({names})"
        self._values_texts: dict[int, str] = {}
        self._insert_postgres = self._values_postgres(1)
        # Many rows as one statement: a JSON array of objects that the server
        # turns into rows of the table's type. A JSON column's SQL NULL (JSON
        # null in the document) becomes JSON null, as SQLAlchemy stores None.
        picked = ", ".join(
            f"coalesce({name}, 'null'::jsonb)" if i in self._json_at else name
            for i, name in enumerate(self.columns)
        )
        self._json_postgres = (
            f"INSERT INTO {table.name} ({names}) "
            f"SELECT {picked} FROM json_populate_recordset(NULL::{table.name}, %s::json)"
        )

    def run(self, session: Session, rows: Iterable[Sequence[Any]]) -> None:
        """Insert rows (value tuples in column order) in the session's transaction.

        JSON columns take Python values (None is JSON null, as SQLAlchemy
        stores it), time columns aware datetimes; the rest goes to the driver as is.
        """
        dialect, driver = driver_of(session)
        if dialect == "sqlite":
            self._run_sqlite(driver, rows)
        else:
            self._run_postgres(driver, rows)

    def run_returning_ids(self, session: Session, rows: Sequence[Sequence[Any]]) -> list[int]:
        """Insert rows like `run` and return their new ids, in row order."""
        if not rows:
            return []
        dialect, driver = driver_of(session)
        ids: list[int] = []
        if dialect == "sqlite":
            cursor = driver.cursor()
            try:  # one statement per row: SQLite runs in-process, so that is cheap
                for row in self._encode_sqlite(rows):
                    ids.append(cursor.execute(self._returning_sqlite, row).fetchone()[0])
            finally:
                cursor.close()
            return ids
        with driver.cursor() as cursor:  # pipelined: one round trip
            self.send_returning(cursor, rows)
            return self.returned_ids(cursor)

    def send_returning(self, cursor: Any, rows: Sequence[Sequence[Any]]) -> None:
        """PostgreSQL: send the INSERTs … RETURNING id on a psycopg cursor (pipelined)."""
        self._send_postgres(cursor, rows, returning=True)

    def _send_postgres(
        self, cursor: Any, rows: Iterable[Sequence[Any]], *, returning: bool = False
    ) -> None:
        """One prepared INSERT for all the rows on a psycopg cursor, riding its pipeline.

        A few rows go as plain VALUES (up to VALUES_MAX_PARAMETERS values);
        more as one JSON document that the server turns back into rows
        (``_json_postgres``). Each statement in a pipeline costs psycopg and
        the server more than a row does: a commit of four PagerDuty events
        used to send two dozen INSERTs, one per row; as six statements its
        writer's CPU went from 0.95 to 0.6 ms (sixteen events: 2.7 to 0.9 ms)
        on the development machine.
        """
        rows = list(rows)
        if not rows:
            return
        with prepared(cursor.connection):
            statement = self.statement_postgres(rows, returning=returning)
            if statement is not None:
                cursor.execute(*statement)
            else:  # values JSON cannot carry: one INSERT per row
                encoded = list(self._encode_postgres(rows))
                suffix = " RETURNING id" if returning else ""
                cursor.executemany(self._insert_postgres + suffix, encoded, returning=returning)

    def statement_postgres(
        self, rows: Sequence[Sequence[Any]], *, returning: bool = False
    ) -> tuple[str, Sequence[Any]] | None:
        """The one INSERT of ``rows`` (psycopg placeholders) and its parameters.

        None when a value cannot travel in a JSON document: the rows then go
        one INSERT each (``_send_postgres``).
        """
        suffix = " RETURNING id" if returning else ""
        if len(rows) == 1 or len(rows) * len(self.columns) <= VALUES_MAX_PARAMETERS:
            values = [value for row in self._encode_postgres(rows) for value in row]
            return self._values_postgres(len(rows)) + suffix, values
        document = self._json_document(rows)
        if document is None:
            return None
        return self._json_postgres + suffix, (document,)

    def _values_postgres(self, rows: int) -> str:
        """INSERT … VALUES (…), (…): ``rows`` rows of parameters."""
        text = self._values_texts.get(rows)
        if text is None:
            one = f"({', '.join('%s' for _ in self.columns)})"
            text = self._values_texts[rows] = (
                f"{self._insert_head} VALUES {', '.join([one] * rows)}"
            )
        return text

    @staticmethod
    def returned_ids(cursor: Any) -> list[int]:
        """The ids `send_returning` got back, in row order.

        The rows of one INSERT draw their ids from the table's sequence in the
        order they are inserted, which is the order they were given in, so
        ascending ids are row order whatever order RETURNING lists them in.
        """
        ids: list[int] = []
        while True:
            ids.extend(int(row[0]) for row in cursor.fetchall())
            if not cursor.nextset():
                return sorted(ids)

    def _run_sqlite(self, driver: Any, rows: Iterable[Sequence[Any]]) -> None:
        _executemany_sqlite(driver, self._sqlite, self._encode_sqlite(rows))

    def _run_postgres(self, driver: Any, rows: Iterable[Sequence[Any]]) -> None:
        with driver.cursor() as cursor, cursor.copy(self._copy) as copy:
            for values in self._encode_postgres(rows):
                copy.write_row(values)


class Pipeline:
    """Inserts (and PostgreSQL statements without results) sent together at ``run``.

    On PostgreSQL the small inserts and the statements travel in one libpq
    pipeline, synced once: one round trip for all of them. A bigger insert goes
    by COPY, in its place in the order. On SQLite, which has no round trips,
    everything runs in order. Nothing is sent before ``run``, so nothing read
    in between sees these rows.
    """

    def __init__(self) -> None:
        # (insert, rows) or (None, (sql, params)) for a statement, in order.
        self._queue: list[tuple[BulkInsert | None, Any]] = []

    def insert(self, insert: BulkInsert, rows: Iterable[Sequence[Any]]) -> None:
        """Queue rows for ``insert`` (as for `BulkInsert.run`)."""
        rows = list(rows)
        if rows:
            self._queue.append((insert, rows))

    def execute_postgres(self, sql: str, params: Sequence[Any]) -> None:
        """Queue a statement (psycopg placeholders) whose result nobody reads; PostgreSQL only.

        It runs prepared, so its text must be fixed: only the parameters vary.
        """
        self._queue.append((None, (sql, params)))

    def run(self, session: Session, *, commit: bool = False) -> None:
        """Send everything queued, in order.

        ``commit``: the caller commits the session right after and runs
        nothing more in this transaction. On PostgreSQL the COMMIT then
        travels in the pipeline (one round trip fewer); the session's own
        commit still follows and finds nothing left to do. Elsewhere, and
        where the pipeline cannot go through libpq, the session commits.
        """
        queue, self._queue = self._queue, []
        if not queue:
            return
        dialect, driver = driver_of(session)
        if dialect == "sqlite":
            for insert, rows in queue:
                if insert is None:
                    raise RuntimeError("PostgreSQL statement queued on SQLite")
                insert._run_sqlite(driver, rows)
            return
        pending: list[tuple[BulkInsert | None, Any]] = []
        for insert, rows in queue:
            if insert is not None and len(rows) > PIPELINE_MAX_ROWS:
                _send_pipelined(driver, pending)
                pending = []
                insert._run_postgres(driver, rows)
            else:
                pending.append((insert, rows))
        _send_pipelined(driver, pending, commit=commit)


def _send_pipelined(
    driver: Any, queue: Sequence[tuple[BulkInsert | None, Any]], *, commit: bool = False
) -> None:
    if not queue:
        return
    if pq.AVAILABLE:
        statements: list[tuple[str, Sequence[Any]]] = []
        for insert, rows in queue:
            statement = rows if insert is None else insert.statement_postgres(rows)
            if statement is None:
                break
            statements.append(statement)
        else:
            if pq.try_run(driver, statements, commit=commit) is not None:
                return
    # Everything in it prepared, statements like inserts: the engine's wake-up
    # NOTIFY, parsed anew, cost PostgreSQL 57 µs of every ingest commit.
    with prepared(driver), driver.pipeline(), driver.cursor() as cursor:
        for insert, rows in queue:
            if insert is None:
                cursor.execute(*rows)
            else:
                insert._send_postgres(cursor, rows)


@contextmanager
def prepared_in(session: Session) -> Iterator[None]:
    """``prepared`` on the session's PostgreSQL connection; nothing on SQLite.

    For statements built by SQLAlchemy whose text is the same on every run
    and whose generic plan is checked (the engine's outbox read and cursor:
    tests/escalation/test_outbox_read_plan.py) or cannot go wrong (a probe of
    a small configuration table).
    """
    dialect, driver = driver_of(session)
    if dialect != "postgresql":
        yield
        return
    with prepared(driver):
        yield


@contextmanager
def prepared(driver: Any) -> Iterator[None]:
    """Let psycopg prepare the statements run inside (once per connection).

    Connections are made with preparing off (see db/engine.py: a generic plan
    costed on young tables can turn lookups into scans), and with it off
    psycopg ignores even ``execute(..., prepare=True)``. A plain INSERT …
    VALUES has one plan whatever the values, and so do lookups written to
    probe an index per key: preparing them saves the server parsing and
    planning them on every commit.
    """
    before = driver.prepare_threshold
    driver.prepare_threshold = 0
    try:
        yield
    finally:
        driver.prepare_threshold = before
