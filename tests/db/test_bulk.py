"""BulkInsert and Pipeline store exactly what SQLAlchemy stores, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import psycopg
import pytest
from sqlalchemy import insert, select, text, update

from watchkeeper.alerts.models import OutboxEvent
from watchkeeper.alerts.store import OUTBOX
from watchkeeper.db import bulk as db_bulk
from watchkeeper.db.bulk import PIPELINE_MAX_ROWS, BulkInsert, BulkUpdate, Pipeline
from watchkeeper.db.engine import Database

ROWS = [
    (datetime(2026, 3, 29, 1, 30, tzinfo=UTC), "a", 1, {"labels": {"x": "ü"}, "n": [1, 2.5]}),
    # Another zone, and microseconds that are zero (SQLite text must still carry them).
    (datetime(2026, 3, 29, 3, 0, 0, tzinfo=timezone(timedelta(hours=2))), "b", None, {}),
    (datetime(2026, 3, 29, 3, 0, 0, 7, tzinfo=UTC), "c", 3, None),
]
COLUMNS = ("at", "topic", "group_id", "payload")


@pytest.fixture(params=["values", "json"])
def rows_as(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """PostgreSQL gets a few rows as INSERT … VALUES, more as a JSON document: test both."""
    if request.param == "json":
        monkeypatch.setattr(db_bulk, "VALUES_MAX_PARAMETERS", 0)
    return str(request.param)


def stored(db: Database, topic_prefix: str) -> list[tuple[object, ...]]:
    with db.read() as session:
        return [
            tuple(row)
            for row in session.execute(
                text(
                    "SELECT CAST(at AS TEXT), substr(topic, 2), group_id, CAST(payload AS TEXT) "
                    "FROM outbox WHERE topic LIKE :p ORDER BY id"
                ),
                {"p": topic_prefix + "%"},
            )
        ]


def test_bulk_rows_match_what_sqlalchemy_stores(db: Database) -> None:
    with db.write() as session:
        session.execute(
            insert(OUTBOX),
            [
                {"at": at, "topic": "s" + topic, "group_id": gid, "payload": payload}
                for at, topic, gid, payload in ROWS
            ],
        )
        BulkInsert(OUTBOX, COLUMNS).run(
            session, [(at, "k" + topic, gid, payload) for at, topic, gid, payload in ROWS]
        )
    assert stored(db, "k") == stored(db, "s")
    with db.read() as session:
        events = session.scalars(
            select(OutboxEvent).where(OutboxEvent.topic.like("k%")).order_by(OutboxEvent.id)
        ).all()
    assert [(e.at, e.topic[1:], e.group_id, e.payload) for e in events] == ROWS


def test_bulk_refuses_naive_times(db: Database) -> None:
    with pytest.raises(ValueError, match="naive"), db.write() as session:
        BulkInsert(OUTBOX, COLUMNS).run(session, [(datetime(2026, 1, 1), "t", 1, {})])
    assert stored(db, "t") == []


def test_lone_surrogates_are_stored_as_question_marks(db: Database) -> None:
    # jsonb refuses them; a sender's label with one must not fail the commit.
    now = datetime(2026, 1, 1, tzinfo=UTC)
    with db.write() as session:
        BulkInsert(OUTBOX, COLUMNS).run(session, [(now, "u", 1, {"v": "a\ud800b"})])
        session.execute(insert(OUTBOX), [{"at": now, "topic": "w", "payload": ["\udfff"]}])
    with db.read() as session:
        payloads = session.scalars(
            select(OutboxEvent.payload).where(OutboxEvent.topic.in_(["u", "w"]))
        ).all()
    assert sorted(payloads, key=str) == [["?"], {"v": "a?b"}]


def test_returning_ids_come_back_in_row_order(db: Database) -> None:
    rows = [(datetime(2026, 1, 1, tzinfo=UTC), f"r{n}", n, {"n": n}) for n in range(7)]
    with db.write() as session:
        ids = BulkInsert(OUTBOX, COLUMNS).run_returning_ids(session, rows)
    assert len(set(ids)) == 7
    with db.read() as session:
        by_id = dict(session.execute(select(OutboxEvent.id, OutboxEvent.topic)).all())
    assert [by_id[i] for i in ids] == [f"r{n}" for n in range(7)]


def test_pipeline_stores_small_and_big_inserts_as_sqlalchemy_does(db: Database) -> None:
    bulk = BulkInsert(OUTBOX, COLUMNS)
    many = [
        (datetime(2026, 1, 1, tzinfo=UTC), f"big{n}", n, {"n": n})
        for n in range(PIPELINE_MAX_ROWS + 5)  # goes by COPY on PostgreSQL
    ]
    pipeline = Pipeline()
    with db.write() as session:
        session.execute(
            insert(OUTBOX),
            [
                {"at": at, "topic": "s" + topic, "group_id": gid, "payload": payload}
                for at, topic, gid, payload in ROWS
            ],
        )
        pipeline.insert(bulk, [(at, "p" + topic, gid, payload) for at, topic, gid, payload in ROWS])
        pipeline.insert(bulk, many)
        pipeline.insert(bulk, [])
        if db.is_postgres:
            pipeline.execute_postgres("SELECT pg_notify(%s, %s)", ("wk_test", "x"))
        # Nothing is sent before run, not even to this transaction.
        pending = select(OutboxEvent.id).where(OutboxEvent.topic.like("p%"))
        assert session.execute(pending).all() == []
        pipeline.run(session)
        pipeline.run(session)  # a second run has nothing left to send
    assert stored(db, "p") == stored(db, "s")
    assert len(stored(db, "big")) == len(many)


def test_a_failing_pipelined_insert_fails_the_transaction(db: Database) -> None:
    pipeline = Pipeline()
    pipeline.insert(BulkInsert(OUTBOX, COLUMNS), [(datetime(2026, 1, 1, tzinfo=UTC), None, 1, {})])
    with pytest.raises(Exception, match=r"(?i)null"), db.write() as session:
        pipeline.run(session)
    assert stored(db, "") == []


def test_pipeline_keeps_the_order_of_small_and_big_inserts(db: Database) -> None:
    # Later rows may depend on earlier ones (a new group before its alerts).
    bulk = BulkInsert(OUTBOX, COLUMNS)
    at = datetime(2026, 1, 1, tzinfo=UTC)
    pipeline = Pipeline()
    pipeline.insert(bulk, [(at, "o-first", 1, {})] * 3)
    pipeline.insert(bulk, [(at, "o-big", 2, {})] * (PIPELINE_MAX_ROWS + 1))
    pipeline.insert(bulk, [(at, "o-last", 3, {})] * 3)
    with db.write() as session:
        pipeline.run(session)
    with db.read() as session:
        topics = session.scalars(
            select(OutboxEvent.topic).where(OutboxEvent.topic.like("o-%")).order_by(OutboxEvent.id)
        ).all()
    assert topics == ["o-first"] * 3 + ["o-big"] * (PIPELINE_MAX_ROWS + 1) + ["o-last"] * 3


def test_pipelined_inserts_and_statements_are_prepared_and_nothing_else_is(db: Database) -> None:
    if not db.is_postgres:
        pytest.skip("prepared statements are PostgreSQL's")
    bulk = BulkInsert(OUTBOX, COLUMNS)
    at = datetime(2026, 1, 1, tzinfo=UTC)
    with db.write() as session:
        for _ in range(3):
            pipeline = Pipeline()
            pipeline.insert(bulk, [(at, "prep", 1, {})] * 2)
            pipeline.execute_postgres("SELECT pg_notify(%s, %s)", ("wk_test_prepared", "x"))
            pipeline.run(session)
        for _ in range(10):  # psycopg's own threshold is 5 runs; ours is "never"
            session.execute(text("SELECT count(*) FROM outbox WHERE topic = 'prep'"))
        prepared = session.scalars(text("SELECT statement FROM pg_prepared_statements")).all()
        assert session.connection().connection.driver_connection.prepare_threshold is None
    assert [s for s in prepared if s.startswith("INSERT INTO outbox")]
    assert [s for s in prepared if s.startswith("SELECT pg_notify")]  # queued statements too
    assert not [s for s in prepared if "count(*)" in s]


def test_json_orjson_cannot_read_is_read_by_json(db: Database) -> None:
    # Integers beyond 64 bits are written and read through json, not orjson.
    now = datetime(2026, 1, 1, tzinfo=UTC)
    payload = {"big": 2**70, "small": -3, "f": 1.5, "s": "ü"}
    with db.write() as session:
        session.execute(insert(OUTBOX), [{"at": now, "topic": "big", "payload": payload}])
    with db.read() as session:
        assert session.scalar(select(OutboxEvent.payload).where(OutboxEvent.topic == "big")) == (
            payload
        )


def test_bulk_updates_store_what_sqlalchemy_stores(db: Database) -> None:
    before = datetime(2026, 1, 1, tzinfo=UTC)
    with db.write() as session:
        ids = BulkInsert(OUTBOX, COLUMNS).run_returning_ids(
            session, [(before, f"{side}{n}", n, {"old": n}) for side in "sk" for n in range(3)]
        )
    olds, news = ids[:3], ids[3:]
    with db.write() as session:
        for row_id, (at, _, _, payload) in zip(olds, ROWS, strict=True):
            session.execute(
                update(OUTBOX).where(OUTBOX.c.id == row_id).values(at=at, payload=payload)
            )
        BulkUpdate(OUTBOX, ("at", "payload")).run(
            session,
            [(at, payload, row_id) for row_id, (at, _, _, payload) in zip(news, ROWS, strict=True)],
        )
        BulkUpdate(OUTBOX, ("payload",)).run(session, [])
    assert stored(db, "k") == stored(db, "s")
    with db.read() as session:
        events = session.scalars(
            select(OutboxEvent).where(OutboxEvent.id.in_(news)).order_by(OutboxEvent.id)
        ).all()
    assert [(e.at, e.group_id, e.payload) for e in events] == [
        (at, n, payload) for n, (at, _, _, payload) in enumerate(ROWS)
    ]


def test_small_pipelined_inserts_refuse_what_a_plain_insert_refuses(
    db: Database, rows_as: str
) -> None:
    # Straight to the driver, past SQLAlchemy: a value too long for VARCHAR(64)
    # must still fail the insert, and a column of only NULLs must still work.
    at = datetime(2026, 1, 1, tzinfo=UTC)
    bulk = BulkInsert(OUTBOX, COLUMNS)
    pipeline = Pipeline()
    with db.write() as session:
        pipeline.insert(bulk, [(at, "n1", None, None), (at, "n2", None, {"k": None})])
        pipeline.run(session)
    with db.read() as session:  # a column of only NULLs, JSON null
        rows = session.execute(
            select(OutboxEvent.topic, OutboxEvent.group_id, OutboxEvent.payload)
            .where(OutboxEvent.topic.in_(["n1", "n2"]))
            .order_by(OutboxEvent.id)
        ).all()
    assert [tuple(r) for r in rows] == [("n1", None, None), ("n2", None, {"k": None})]
    if not db.is_postgres:
        return  # SQLite does not enforce VARCHAR lengths at all
    pipeline.insert(bulk, [(at, "x" * 65, 1, {})])
    with pytest.raises(psycopg.DataError, match="too long"), db.write() as session:
        pipeline.run(session)


def test_several_rows_in_one_pipelined_statement_store_what_sqlalchemy_stores(
    db: Database, rows_as: str
) -> None:
    # Two to PIPELINE_MAX_ROWS rows travel as one statement on PostgreSQL (a
    # few as INSERT … VALUES, more as one JSON document); every kind of JSON
    # value must come out as a plain INSERT stores it, JSON null included, and
    # text that looks like JSON or SQL must stay text.
    at = datetime(2026, 1, 1, 12, 0, 0, 1, tzinfo=timezone(timedelta(hours=-3)))
    values: list[object] = ["text", 7, 2.5, True, None, [1, "a", None], {"n": {"m": [{}]}}, "null"]
    rows = [(at, f"{n}-null" if n % 2 else "NULL", n, v) for n, v in enumerate(values)]
    pipeline = Pipeline()
    with db.write() as session:
        session.execute(
            insert(OUTBOX),
            [{"at": a, "topic": "s" + t, "group_id": g, "payload": p} for a, t, g, p in rows],
        )
        pipeline.insert(BulkInsert(OUTBOX, COLUMNS), [(a, "j" + t, g, p) for a, t, g, p in rows])
        pipeline.run(session)
    assert stored(db, "j") == stored(db, "s")
    with db.read() as session:
        payloads = session.scalars(
            select(OutboxEvent.payload).where(OutboxEvent.topic.like("j%")).order_by(OutboxEvent.id)
        ).all()
    assert payloads == values


def test_several_rows_orjson_refuses_are_still_stored(db: Database, rows_as: str) -> None:
    # An integer beyond 64 bits or a lone surrogate cannot go in the JSON
    # document: there those rows go one statement each, and store the same.
    at = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [(at, "o1", 1, {"big": 2**70}), (at, "o2", 2, {"s": "a\ud800"}), (at, "o3", 3, {})]
    pipeline = Pipeline()
    with db.write() as session:
        pipeline.insert(BulkInsert(OUTBOX, COLUMNS), rows)
        pipeline.run(session)
    with db.read() as session:
        payloads = session.scalars(
            select(OutboxEvent.payload).where(OutboxEvent.topic.like("o%")).order_by(OutboxEvent.id)
        ).all()
    assert payloads == [{"big": 2**70}, {"s": "a?"}, {}]


def test_several_pipelined_rows_refuse_naive_times_and_overlong_text(
    db: Database, rows_as: str
) -> None:
    bulk = BulkInsert(OUTBOX, COLUMNS)
    aware = datetime(2026, 1, 1, tzinfo=UTC)
    pipeline = Pipeline()
    pipeline.insert(bulk, [(aware, "ok", 1, {}), (datetime(2026, 1, 1), "naive", 2, {})])
    with pytest.raises(ValueError, match="naive"), db.write() as session:
        pipeline.run(session)
    if not db.is_postgres:
        return  # SQLite does not enforce VARCHAR lengths at all
    pipeline = Pipeline()
    pipeline.insert(bulk, [(aware, "ok", 1, {}), (aware, "x" * 65, 2, {})])
    with pytest.raises(psycopg.DataError, match="too long"), db.write() as session:
        pipeline.run(session)
    assert stored(db, "ok") == []


def test_bulk_updates_add_fixed_assignments_and_take_what_orjson_refuses(db: Database) -> None:
    # ``also`` runs for every row (here a counter kept in group_id); a value
    # orjson cannot write (an integer beyond 64 bits) still gets stored.
    at = datetime(2026, 1, 1, tzinfo=UTC)
    later = at + timedelta(minutes=5)
    bump = BulkUpdate(OUTBOX, ("at", "payload"), also=("group_id = outbox.group_id + 1",))
    with db.write() as session:
        ids = BulkInsert(OUTBOX, COLUMNS).run_returning_ids(
            session, [(at, f"u{n}", 10 * n, {"n": n}) for n in range(4)]
        )
    with db.write() as session:
        bump.run(session, [(later, {"n": "new"}, ids[0]), (later, None, ids[1])])
        bump.run(session, [(later, {"big": 2**70}, ids[2]), (later, {"n": 3}, ids[3])])
        bump.run(session, [(later, {"again": True}, ids[0])])
    with db.read() as session:
        events = session.scalars(
            select(OutboxEvent).where(OutboxEvent.id.in_(ids)).order_by(OutboxEvent.id)
        ).all()
    assert [(e.at, e.group_id, e.payload) for e in events] == [
        (later, 2, {"again": True}),
        (later, 11, None),
        (later, 21, {"big": 2**70}),
        (later, 31, {"n": 3}),
    ]


def test_bulk_updates_combine_old_and_new_values(db: Database) -> None:
    # ``combine``: group_id here is a counter the rows add to, and ``at``
    # keeps its old value where a row gives None; several rows (one
    # statement on PostgreSQL) and a single row (a plain UPDATE) alike.
    at = datetime(2026, 1, 1, tzinfo=UTC)
    later = at + timedelta(minutes=5)
    move = BulkUpdate(
        OUTBOX,
        ("group_id", "at"),
        combine={"group_id": "{old} + {new}", "at": "coalesce({new}, {old})"},
    )
    with db.write() as session:
        ids = BulkInsert(OUTBOX, COLUMNS).run_returning_ids(
            session, [(at, f"c{n}", 10 * n, {"n": n}) for n in range(3)]
        )
    with db.write() as session:
        move.run(session, [(5, later, ids[0]), (-3, None, ids[1])])
        move.run(session, [(1, None, ids[0])])
    with db.read() as session:
        events = session.scalars(
            select(OutboxEvent).where(OutboxEvent.id.in_(ids)).order_by(OutboxEvent.id)
        ).all()
    assert [(e.group_id, e.at) for e in events] == [(6, later), (7, at), (20, at)]


def test_driver_of_follows_the_sessions_transaction(db: Database) -> None:
    """A session between transactions has no driver connection: the next one begins afresh."""
    session = db.session(write=True)
    try:
        with session.begin():
            first = db_bulk.driver_of(session)[1]
            assert db_bulk.driver_of(session)[1] is first  # remembered within it
        assert session.get_transaction() is None
        with session.begin():
            own = session.connection().connection.driver_connection
            assert db_bulk.driver_of(session)[1] is own
        # Asked between transactions it begins one, as session.connection()
        # does, instead of handing back the last transaction's connection,
        # which went back to the pool at its commit.
        driver = db_bulk.driver_of(session)[1]
        assert session.get_transaction() is not None
        assert driver is session.connection().connection.driver_connection
        session.rollback()
    finally:
        session.close()
