"""The FastAPI application factory."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Protocol

from fastapi import Depends, FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool

from watchkeeper import __version__
from watchkeeper.alerts.api import router as alerts_router
from watchkeeper.alerts.fastpath import IngestFastPath
from watchkeeper.alerts.ingest import IngestGate
from watchkeeper.alerts.ingest import router as ingest_router
from watchkeeper.api.context import AppContext
from watchkeeper.api.deps import ids_in_range
from watchkeeper.api.errors import install_error_handlers
from watchkeeper.api.observability import RequestObserver, configure_logging
from watchkeeper.api.text_guard import UnstorableTextGuard
from watchkeeper.clock import Clock, SystemClock
from watchkeeper.db.checkpoint import WalCheckpointer
from watchkeeper.db.engine import Database, sqlite_write_lock
from watchkeeper.escalation.api import router as escalation_router
from watchkeeper.escalation.engine import Engine
from watchkeeper.identity.api import router as identity_router
from watchkeeper.incidents.api import router as incidents_router
from watchkeeper.notify.api import ack_router
from watchkeeper.notify.api import router as notify_router
from watchkeeper.schedules.api import router as schedules_router
from watchkeeper.settings import Settings
from watchkeeper.slo.api import router as slo_router
from watchkeeper.ui.routes import install_ui
from watchkeeper.worker import PeriodicTask, PeriodicWorker

DESCRIPTION = """
Watchkeeper receives alerts, groups them, pages whoever is on call and runs the
incident. Authenticate API calls with `Authorization: Bearer <token>`; create a
token with `watchkeeper token create --email you@example.com`. Errors always
have the shape `{"error": {"code": "...", "message": "..."}}`.
"""


# Python's cyclic collector runs after every 700 new container objects by
# default. An ingest request makes thousands (a dict or two per alert), so it
# ran many times per request and, every so often, walked every long-lived
# object of the process: measured on the 100-alert prometheus load, 15-18% of
# the server's CPU and the slowest requests (p99 200+ ms instead of 90 ms).
SERVING_GC_THRESHOLDS = (50_000, 20, 100)


def tune_gc_for_serving() -> None:
    """Collect less often, and never again scan what exists at startup.

    Called once a serving process has built its app: ``gc.freeze`` moves the
    modules, tables and routes loaded so far out of the collector's sight.
    Garbage cycles are still collected, only in bigger batches.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*SERVING_GC_THRESHOLDS)


class Lifecycle(Protocol):
    """Something started with the app and stopped with it."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


def housekeeping_tasks(settings: Settings) -> list[PeriodicTask]:
    """The periodic upkeep every Watchkeeper process runs."""
    from functools import partial

    from watchkeeper.alerts import housekeeping
    from watchkeeper.incidents import feed, reminders
    from watchkeeper.schedules import calendars, notices
    from watchkeeper.slo import evaluation as slo_evaluation

    return [
        PeriodicTask("alerts.expire", 5, housekeeping.expire_alerts),
        PeriodicTask("alerts.heartbeats", 10, housekeeping.check_heartbeats),
        PeriodicTask("alerts.silences", 10, housekeeping.expire_silences),
        PeriodicTask("alerts.auto_resolve", 60, housekeeping.auto_resolve),
        PeriodicTask(
            "alerts.prune",
            3600,
            partial(housekeeping.prune, retention_days=settings.retention_days),
            backlog_seconds=1,
        ),
        PeriodicTask("schedules.poll_calendars", 60, calendars.poll_task),
        PeriodicTask("schedules.notices", 60, notices.write_notices),
        PeriodicTask("incidents.feed", 3, feed.consume),
        PeriodicTask("incidents.update_reminders", 30, reminders.update_reminders),
        PeriodicTask("incidents.review_reminders", 300, reminders.review_reminders),
        PeriodicTask(
            "slo.evaluate",
            settings.slo_evaluation_interval_seconds,
            partial(slo_evaluation.evaluate_slos, settings=settings),
        ),
    ]


def serving_app() -> FastAPI:
    """The app of one `watchkeeper serve --workers N` process, configured from the environment."""
    settings = Settings()
    configure_logging(settings.log_level)
    app = create_app(settings)
    tune_gc_for_serving()
    return app


def create_app(
    settings: Settings | None = None,
    *,
    db: Database | None = None,
    clock: Clock | None = None,
    background: bool = True,
) -> FastAPI:
    """Build the application; tests pass their own database and clock."""
    settings = settings or Settings()
    db = db or Database(settings.resolved_database_url)
    ctx = AppContext(
        settings=settings,
        db=db,
        clock=clock or SystemClock(),
        secret_key=settings.resolved_secret_key(),
    )
    db.clock = ctx.clock
    lifecycles: list[Lifecycle] = []

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if background:
            for item in lifecycles:
                item.start()
        try:
            yield
        finally:
            for item in reversed(lifecycles):
                item.stop()

    app = FastAPI(
        title="Watchkeeper",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        dependencies=[Depends(ids_in_range)],
        # FastAPI's OpenTelemetry hooks look up three global providers on every
        # request to see whether an SDK was configured in this process; none
        # ever is here (metrics are Prometheus', see api/observability.py).
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.ctx = ctx
    app.state.lifecycles = lifecycles
    install_error_handlers(app)

    @app.get("/healthz", tags=["meta"], summary="200 when the database answers, else 503")
    async def healthz() -> JSONResponse:
        ok = await run_in_threadpool(ctx.db.ping)
        if ok:
            return JSONResponse({"status": "ok", "database": "ok"})
        return JSONResponse(
            {"error": {"code": "unavailable", "message": "the database does not answer"}},
            status_code=503,
        )

    @app.get("/metrics", tags=["meta"], summary="Prometheus metrics")
    def metrics() -> Response:
        return Response(generate_latest(ctx.registry), media_type=CONTENT_TYPE_LATEST)

    if db.is_sqlite:
        lifecycles.append(WalCheckpointer(db.url, write_lock=sqlite_write_lock(db.engine)))
    gate = IngestGate(ctx)
    ctx.services["ingest"] = gate
    lifecycles.append(gate.writer)
    engine = Engine(ctx)
    ctx.services["engine"] = engine
    if settings.run_engine:
        lifecycles.append(engine)
    lifecycles.append(PeriodicWorker(ctx, housekeeping_tasks(settings)))
    app.include_router(identity_router)
    app.include_router(incidents_router)
    app.include_router(escalation_router)
    app.include_router(notify_router)
    app.include_router(ack_router)
    app.include_router(alerts_router)
    app.include_router(schedules_router)
    app.include_router(slo_router)
    app.include_router(ingest_router)
    install_ui(app)
    # Added last = outermost: metrics see every request, the ingest fast path
    # answers its routes before sessions, routing and dependencies run, and
    # everything else is checked for text no database can store.
    app.add_middleware(UnstorableTextGuard)
    app.add_middleware(IngestFastPath, gate=gate)
    app.add_middleware(RequestObserver, registry=ctx.registry)
    return app
