"""Ingest and the engine leave nothing for Python's cyclic garbage collector.

What a commit or an engine pass allocates must be freed by reference
counting the moment it is done with. Objects caught in a reference cycle
wait for the cyclic collector instead, and a serving process collects its
youngest generation every 50,000 allocations (app.SERVING_GC_THRESHOLDS): with
some 40 objects of cycle per commit (a session that held its own
transaction in ``session.info``), each collection there freed 30,000-45,000
objects and held the GIL for 20-80 ms, every two seconds at 500 events/s.
Every request that arrived meanwhile waited: that was the p99 latency of
ingest.
"""

from __future__ import annotations

from fastapi import FastAPI

from tests.alerts.conftest import pagerduty_gate, pagerduty_job
from tests.garbage import cyclic_garbage, kinds
from watchkeeper.alerts.writer import IngestJob, write_jobs
from watchkeeper.clock import FixedClock
from watchkeeper.escalation.engine import Engine

COMMITS = 20


def _commit(app: FastAPI, jobs: list[IngestJob]) -> None:
    ctx = app.state.ctx
    with ctx.db.write() as session:
        write_jobs(session, jobs, ctx)


def test_ingest_commits_leave_no_cycles(app: FastAPI, clock: FixedClock) -> None:
    gate = pagerduty_gate(app, clock)
    for n in range(3):  # first runs fill caches (compiled statements, prepared names)
        warm = f"warm-{n}"
        _commit(app, [pagerduty_job(gate, warm), pagerduty_job(gate, warm, "acknowledge")])
    with cyclic_garbage() as garbage:
        for n in range(COMMITS):
            # new alerts and groups, a repeat, an acknowledgement and a resolve
            _commit(
                app,
                [
                    pagerduty_job(gate, f"new-{n}"),
                    pagerduty_job(gate, f"new-{n}"),
                    pagerduty_job(gate, f"new-{n}", "acknowledge"),
                    pagerduty_job(gate, f"warm-{n % 3}", "resolve"),
                ],
            )
    assert len(garbage) < COMMITS, kinds(garbage).most_common(10)


def test_engine_passes_leave_no_cycles(app: FastAPI, clock: FixedClock) -> None:
    engine = app.state.ctx.services["engine"]
    assert isinstance(engine, Engine)
    gate = pagerduty_gate(app, clock)
    _commit(app, [pagerduty_job(gate, "warm")])
    engine.run_once(clock.now(), timers=True)
    with cyclic_garbage() as garbage:
        for n in range(COMMITS):
            _commit(app, [pagerduty_job(gate, f"new-{n}")])
            engine.run_once(clock.now(), timers=n % 2 == 0)
    assert len(garbage) < COMMITS, kinds(garbage).most_common(10)
