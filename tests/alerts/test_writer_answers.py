"""How the ingest writer answers requests that wait on an event loop.

A commit answers all its requests waiting on one loop with a single call
into that loop; each still gets its own result or error, and a request that
gave up (its sender went away) does not stop the others' answers.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.alerts.conftest import pagerduty_gate, pagerduty_job
from tests.conftest import Account
from watchkeeper.alerts import store, writer
from watchkeeper.alerts.ingest import Reply, error_reply
from watchkeeper.alerts.models import Alert
from watchkeeper.alerts.writer import IngestJob, IngestWriter
from watchkeeper.api.context import AppContext
from watchkeeper.clock import FixedClock


class CountingLoop:
    """Runs a loop on its own thread and counts the calls other threads make into it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.calls = 0
        real = self.loop.call_soon_threadsafe

        def counted(callback: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            return real(callback, *args, **kwargs)

        self.loop.call_soon_threadsafe = counted  # type: ignore[method-assign,assignment]
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=10)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


@pytest.fixture
def loop() -> Any:
    counting = CountingLoop()
    yield counting
    counting.close()


def _waiting(loop: CountingLoop, writers: IngestWriter, jobs: Sequence[IngestJob]) -> list[Any]:
    """Give each job a waiter on ``loop`` as ``submit_async`` does, without queueing it."""

    async def make() -> list[Any]:
        for job in jobs:
            job.waiter = asyncio.get_running_loop().create_future()
        return [job.waiter for job in jobs]

    return list(loop.run(make()))


def test_one_commit_answers_its_requests_with_one_call_into_their_loop(
    app: FastAPI, clock: FixedClock, loop: CountingLoop
) -> None:
    gate = pagerduty_gate(app, clock)
    jobs = [pagerduty_job(gate, key) for key in ("a", "b", "c", "d")]
    waiters = _waiting(loop, gate.writer, jobs)
    before = loop.calls

    gate.writer._commit(jobs)  # as a writer thread does with the jobs it drained
    assert loop.calls - before == 1

    async def results() -> list[store.IngestResult]:
        return list(await asyncio.gather(*waiters))

    answered = loop.run(results())
    assert [result.new_alerts for result in answered] == [1, 1, 1, 1]
    assert len({result.payload_id for result in answered}) == 4
    assert not any(job.future.done() for job in jobs)  # thread futures are not used


def test_a_request_that_gave_up_does_not_stop_the_others_answers(
    app: FastAPI, clock: FixedClock, loop: CountingLoop
) -> None:
    gate = pagerduty_gate(app, clock)
    jobs = [pagerduty_job(gate, key) for key in ("gone", "kept")]
    gone, kept = _waiting(loop, gate.writer, jobs)
    loop.loop.call_soon_threadsafe(gone.cancel)

    gate.writer._commit(jobs)

    async def result() -> store.IngestResult:
        value: store.IngestResult = await kept
        return value

    assert loop.run(result()).new_alerts == 1
    assert gone.cancelled()
    with app.state.ctx.db.read() as session:  # stored all the same: it was accepted
        assert session.scalar(select(func.count()).select_from(Alert)) == 2


def test_an_error_reaches_every_request_of_the_commit(
    app: FastAPI, clock: FixedClock, loop: CountingLoop, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = pagerduty_gate(app, clock)
    jobs = [pagerduty_job(gate, key) for key in ("a", "b")]
    waiters = _waiting(loop, gate.writer, jobs)

    def down(session: Session, batch: Sequence[IngestJob], ctx: AppContext) -> Any:
        raise app.state.ctx.db.engine.dialect.dbapi.OperationalError("database is gone")

    monkeypatch.setattr(writer, "write_jobs", down)
    gate.writer._commit(jobs)

    async def errors() -> list[BaseException]:
        return list(await asyncio.gather(*waiters, return_exceptions=True))

    replies = [error_reply(error) for error in loop.run(errors())]
    assert [reply.status for reply in replies] == [503, 503]


def test_the_http_answers_come_from_the_running_writers(
    app: FastAPI, client: TestClient, admin: Account
) -> None:
    """Through the server: several events at once, each answered with its own dedup key."""
    made = client.post(
        "/api/v1/integrations", headers=admin.headers, json={"name": "pd", "kind": "pagerduty"}
    )
    token = made.json()["token"]
    writers: IngestWriter = app.state.ctx.services["ingest"].writer
    writers.start()
    keys = [f"event-{n}" for n in range(12)]
    answers: dict[str, Any] = {}

    def send(key: str) -> None:
        answers[key] = client.post(
            "/v2/enqueue",
            json={
                "routing_key": token,
                "event_action": "trigger",
                "dedup_key": key,
                "payload": {"summary": key, "source": "test", "severity": "critical"},
            },
        )

    threads = [threading.Thread(target=send, args=(key,)) for key in keys]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    writers.stop()
    assert {key: answers[key].status_code for key in keys} == dict.fromkeys(keys, 202)
    assert {key: answers[key].json()["dedup_key"] for key in keys} == {key: key for key in keys}


def test_a_lone_surrogate_in_an_answer_is_escaped_not_a_500() -> None:
    """orjson refuses lone surrogates; such an answer goes out escaped by the stdlib instead."""
    reply = Reply(400, {"message": "unknown field 'k\ud800'"})
    assert json.loads(reply.encode()) == {"message": "unknown field 'k\ud800'"}
    assert Reply(202, {"status": "success"}).encode() == b'{"status":"success"}'
