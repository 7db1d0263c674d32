"""Ingest's pipelined statements sent through libpq itself (``psycopg.pq``).

A single PagerDuty event's commit sends about eight small statements in two
libpq pipelines. Through psycopg's cursors each cost the writer 70-95 µs of
Python (a cursor, query conversion, parameter dumpers, prepared-statement
bookkeeping, result objects), more than PostgreSQL spends running it, and
the writer's CPU is what bounds a process's single events: it shares the
GIL with the event loop. Here the same statements go to psycopg's libpq
wrapper directly: parameters as text, each statement prepared once per
connection under its own name, results read as text.

Prepared statements and psycopg: psycopg deallocates every prepared
statement of a connection (``DEALLOCATE ALL``) when it rolls a transaction
back, ours included (only when psycopg had prepared some of its own).
Rollbacks seen by the engine's events (db/engine.py) and any error in a
pipeline here empty the set of statements known to exist on that
connection; a statement not in it is closed (closing one that does not
exist is no error) and prepared again before it runs, in the same round
trip.

Only what ingest sends goes this way: values are None, bool, int, str,
aware datetimes and lists of str (text arrays); results are ints and text.
"""

from __future__ import annotations

import hashlib
import select
import weakref
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import psycopg
from psycopg import pq
from psycopg.errors import error_from_result
from psycopg.pq.abc import PGconn, PGresult

ExecStatus = pq.ExecStatus
_IDLE = pq.TransactionStatus.IDLE
# Columns returned as Python ints; every other type comes back as text.
_INTEGER_TYPES = frozenset({20, 21, 23})  # int8, int2, int4
# Closing a prepared statement inside a pipeline needs libpq 17.
AVAILABLE = pq.version() >= 170000 and hasattr(pq.PGconn, "send_close_prepared")


class Unsupported(TypeError):
    """A value this module cannot send; raised before anything is sent."""


# The statements surely prepared on each connection (a rollback empties it).
_KNOWN: weakref.WeakKeyDictionary[Any, set[bytes]] = weakref.WeakKeyDictionary()
_TEXTS: dict[str, tuple[bytes, bytes]] = {}


def forget(driver: Any) -> None:
    """Statements of this connection may be gone (a rollback): prepare them again."""
    known = _KNOWN.get(driver)
    if known is not None:
        known.clear()


def _statement(sql: str) -> tuple[bytes, bytes]:
    """Name and PostgreSQL text ($1, $2, ...) of a statement written with %s."""
    found = _TEXTS.get(sql)
    if found is None:
        parts = sql.split("%s")
        text = parts[0] + "".join(f"${n}{part}" for n, part in enumerate(parts[1:], 1))
        name = "wk_" + hashlib.blake2b(sql.encode(), digest_size=10).hexdigest()
        found = _TEXTS[sql] = (name.encode(), text.encode())
    return found


def _text(value: str) -> bytes:
    if "\x00" in value:
        raise psycopg.DataError("PostgreSQL text fields cannot contain NUL (0x00) bytes")
    return value.encode()


def _array_item(value: str | None) -> str:
    if value is None:
        return "NULL"
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def encode(value: Any) -> bytes | None:
    """A parameter as PostgreSQL's text input takes it."""
    if value is None:
        return None
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, bool):
        return b"t" if value else b"f"
    if isinstance(value, int):
        return str(value).encode()
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a libpq statement")
        return value.isoformat().encode()
    if isinstance(value, list | tuple):
        return _text("{" + ",".join(_array_item(item) for item in value) + "}")
    raise Unsupported(f"cannot send {type(value).__name__} through libpq here")


def _rows(result: PGresult) -> list[tuple[Any, ...]]:
    columns = range(result.nfields)
    integers = [result.ftype(column) in _INTEGER_TYPES for column in columns]
    rows: list[tuple[Any, ...]] = []
    for row in range(result.ntuples):
        values: list[Any] = []
        for column in columns:
            raw = result.get_value(row, column)
            if raw is None:
                values.append(None)
            elif integers[column]:
                values.append(int(raw))
            else:
                values.append(bytes(raw).decode())
        rows.append(tuple(values))
    return rows


def run(
    driver: psycopg.Connection[Any],
    statements: Sequence[tuple[str, Sequence[Any]]],
    *,
    commit: bool = False,
) -> list[list[tuple[Any, ...]]]:
    """Run statements in one pipeline inside the connection's transaction; their rows.

    Starts the transaction (BEGIN) if psycopg has not yet; psycopg's commit
    or rollback ends it as usual. With ``commit`` the pipeline ends with
    COMMIT instead: the transaction is over when this returns (psycopg's own
    commit then has nothing left to do), one round trip fewer. Raises the
    psycopg error of the first statement that failed, after reading the
    pipeline to its end; nothing was committed then.
    """
    pgconn = driver.pgconn
    known = _KNOWN.get(driver)
    if known is None:
        known = _KNOWN[driver] = set()
    params = [[encode(value) for value in values] for _, values in statements]
    # What each result answers: "begin", "close", "prepare", "query" or "commit".
    expect: list[str] = []
    pgconn.enter_pipeline_mode()
    try:
        if pgconn.transaction_status == _IDLE:
            pgconn.send_query_params(b"BEGIN", None)
            expect.append("begin")
        for (sql, _), values in zip(statements, params, strict=True):
            name, text = _statement(sql)
            if name not in known:
                # It may still exist (the rollback that emptied ``known`` did
                # not always deallocate): closing one that does not is no error.
                pgconn.send_close_prepared(name)
                expect.append("close")
                pgconn.send_prepare(name, text)
                expect.append("prepare")
                known.add(name)  # all forgotten below if anything failed
            pgconn.send_query_prepared(name, values)
            expect.append("query")
        if commit:
            pgconn.send_query_params(b"COMMIT", None)
            expect.append("commit")
        pgconn.pipeline_sync()
        results = _read(pgconn, len(expect))
        pgconn.exit_pipeline_mode()
    except BaseException:
        # A lost connection or an interrupt: nothing here is known any more.
        known.clear()
        if pgconn.pipeline_status != pq.PipelineStatus.OFF:
            driver.close()  # cannot leave pipeline mode with results pending
        raise
    out: list[list[tuple[Any, ...]]] = []
    error: Exception | None = None
    for what, result in zip(expect, results, strict=True):
        if result.status == ExecStatus.FATAL_ERROR or result.status == ExecStatus.PIPELINE_ABORTED:
            if error is None:
                error = (
                    error_from_result(result, encoding=driver.info.encoding)
                    if result.status == ExecStatus.FATAL_ERROR
                    else psycopg.errors.PipelineAborted("pipeline aborted")
                )
            continue
        if what == "query":
            out.append(_rows(result) if result.status == ExecStatus.TUPLES_OK else [])
    if error is not None:
        known.clear()  # a rollback follows
        raise error
    return out


def try_run(
    driver: psycopg.Connection[Any],
    statements: Sequence[tuple[str, Sequence[Any]]],
    *,
    commit: bool = False,
) -> list[list[tuple[Any, ...]]] | None:
    """``run``, or None when a value is one only psycopg's dumpers take (nothing was sent)."""
    try:
        return run(driver, statements, commit=commit)
    except Unsupported:
        return None


def _wait(pgconn: PGconn, *, write: bool) -> None:
    """Block (without the GIL) until the server sent something, or can take more."""
    poller = select.poll()
    poller.register(pgconn.socket, select.POLLIN | select.POLLOUT if write else select.POLLIN)
    poller.poll()


def _read(pgconn: PGconn, count: int) -> list[PGresult]:
    """The first result of each of ``count`` commands, then the pipeline's sync."""
    while pgconn.flush():
        _wait(pgconn, write=True)
        pgconn.consume_input()
    results: list[PGresult] = []
    current: PGresult | None = None
    while True:
        while pgconn.is_busy():
            _wait(pgconn, write=False)
            pgconn.consume_input()
        result = pgconn.get_result()
        if result is None:  # the end of one command's results
            if current is None:
                raise psycopg.InterfaceError("libpq pipeline lost a result")
            results.append(current)
            current = None
            continue
        if result.status == ExecStatus.PIPELINE_SYNC:
            if len(results) != count:
                raise psycopg.InterfaceError("libpq pipeline ended early")
            return results
        if current is None:
            current = result
