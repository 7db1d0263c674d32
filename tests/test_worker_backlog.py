"""A batch task with a backlog runs again soon instead of waiting for its interval."""

from __future__ import annotations

import threading
from datetime import datetime

from fastapi import FastAPI
from sqlalchemy.orm import Session

from watchkeeper.worker import Backlog, PeriodicTask, PeriodicWorker


def test_a_task_that_returns_a_backlog_runs_again_until_it_is_done(app: FastAPI) -> None:
    batches = [Backlog(5), Backlog(5), 2, 0]
    runs: list[object] = []
    done = threading.Event()

    def batch(_session: Session, _now: datetime) -> object:
        result = batches[len(runs)] if len(runs) < len(batches) else 0
        runs.append(result)
        if len(runs) == 3:
            done.set()
        return result

    # An hour's interval: without the backlog rule the second run is an hour away.
    task = PeriodicTask("test.batch", 3600, batch, backlog_seconds=0.01)
    worker = PeriodicWorker(app.state.ctx, [task])
    worker.start()
    try:
        assert done.wait(timeout=30), runs
    finally:
        worker.stop()
    assert runs == [5, 5, 2]  # the run that finished the backlog waits its interval again
