"""Native SLO evaluation: query Prometheus, store status and history, raise burn alerts.

The periodic task works in three steps so that no database write lock is held
while Prometheus answers (SQLite has one writer; a slow Prometheus must not
stall ingest):

1. read the SLOs to evaluate in a separate read-only session;
2. query Prometheus for each, outside any transaction;
3. write statuses, history and alerts in the task's own write transaction,
   which on SQLite takes the lock only at its first statement. On PostgreSQL
   the worker's advisory lock, taken before step 1, keeps two processes from
   evaluating (and alerting) at the same time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, selectinload

from watchkeeper.db.engine import WRITE_OPTION
from watchkeeper.notify.netguard import UnsafeUrl
from watchkeeper.settings import Settings
from watchkeeper.slo import pipeline
from watchkeeper.slo.burn_alerts import plan_alerts
from watchkeeper.slo.connect import NoPrometheus, PrometheusTarget, open_client, resolve_target
from watchkeeper.slo.models import Slo, SloHistoryPoint, SloStatusRow
from watchkeeper.slo.prometheus import PrometheusClient, PrometheusError, SloStatus, evaluate
from watchkeeper.slo.service import spec_of
from watchkeeper.slo.spec import CALENDAR_MONTH, SloSpec

log = logging.getLogger("watchkeeper.slo")

ClientFactory = Callable[[PrometheusTarget, Settings], PrometheusClient]
# History keeps about this many points per period: enough for a smooth chart, and
# bounded whatever the evaluation interval (older points are deleted).
HISTORY_POINTS_PER_PERIOD = 1440
CALENDAR_MONTH_HORIZON = timedelta(days=31)
MAX_PARALLEL = 8


@dataclass(frozen=True)
class Job:
    """What step 2 needs about one SLO, read in step 1."""

    slo_id: int
    spec: SloSpec
    target: PrometheusTarget | None
    problem: str | None


@dataclass(frozen=True)
class Outcome:
    slo_id: int
    spec: SloSpec
    status: SloStatus | None
    error: str | None


def history_spacing(spec: SloSpec) -> timedelta:
    return spec.period_length / HISTORY_POINTS_PER_PERIOD


def history_horizon(spec: SloSpec) -> timedelta:
    return CALENDAR_MONTH_HORIZON if spec.period == CALENDAR_MONTH else spec.period_length


def load_jobs(session: Session, *, settings: Settings) -> list[Job]:
    """Step 1: the SLOs with native evaluation enabled, with their Prometheus."""
    slos = session.scalars(
        select(Slo).where(Slo.native_evaluation.is_(True)).order_by(Slo.id)
    ).all()
    jobs = []
    for slo in slos:
        spec = spec_of(slo)
        try:
            target = resolve_target(
                settings=settings,
                url=slo.prometheus_url,
                bearer_token=slo.prometheus_bearer_token,
                basic_auth=slo.prometheus_basic_auth,
            )
        except ValueError as exc:
            jobs.append(Job(slo.id, spec, None, str(exc)))
            continue
        jobs.append(Job(slo.id, spec, target, None))
    return jobs


def run_job(job: Job, *, settings: Settings, now: datetime, clients: ClientFactory) -> Outcome:
    """Step 2: evaluate one SLO against Prometheus; every failure becomes a recorded error."""
    if job.target is None:
        return Outcome(job.slo_id, job.spec, None, job.problem)
    try:
        with clients(job.target, settings) as client:
            return Outcome(job.slo_id, job.spec, evaluate(job.spec, client, now), None)
    except (PrometheusError, NoPrometheus) as exc:
        error = str(exc)
    except UnsafeUrl as exc:
        error = f"Prometheus URL {job.target.url} refused: {exc.message}"
    except Exception as exc:  # a bad SLO must not stop the others
        log.exception("evaluating SLO %s failed", job.spec.key)
        error = f"unexpected error: {exc}"
    return Outcome(job.slo_id, job.spec, None, error)


def store_outcome(session: Session, outcome: Outcome, *, settings: Settings, now: datetime) -> None:
    """Step 3: status row, history point and alerts of one SLO."""
    slo = session.get(Slo, outcome.slo_id, options=[selectinload(Slo.status)])
    if slo is None or not slo.native_evaluation:
        return  # deleted or switched off while Prometheus was being asked
    row = slo.status
    if row is None:
        row = SloStatusRow(slo_id=slo.id, burn_rates={}, firing=[], open_alerts=[])
        slo.status = row
    status = outcome.status
    if status is None:
        row.error, row.error_at = outcome.error, now
        log.warning("SLO %s not evaluated: %s", outcome.spec.key, outcome.error)
    else:
        _record(session, row, outcome.spec, status, now)
    plan = plan_alerts(
        spec=outcome.spec,
        slo_id=slo.id,
        open_kinds=row.open_alerts or [],
        status=status,
        error=outcome.error,
        no_data_enabled=slo.no_data_alert,
        now=now,
        source_url=f"{settings.base_url}/api/v1/slos/{slo.id}/status",
    )
    pipeline.send(session, slo=slo, alerts=plan.alerts, now=now)
    row.open_alerts = plan.open_kinds


def _record(
    session: Session, row: SloStatusRow, spec: SloSpec, status: SloStatus, now: datetime
) -> None:
    remaining = status.budget_remaining_time
    row.evaluated_at = status.evaluated_at
    row.period_start = status.period_start
    row.error_ratio = status.error_ratio
    row.sli = status.sli
    row.budget_remaining = status.budget_remaining
    row.budget_remaining_seconds = None if remaining is None else remaining.total_seconds()
    row.burn_rates = dict(status.burn_rates)
    row.firing = [tier.model_dump() for tier in status.firing]
    row.error = None
    row.last_success_at = now
    last = session.scalar(
        select(func.max(SloHistoryPoint.at)).where(SloHistoryPoint.slo_id == row.slo_id)
    )
    if last is None or now - last >= history_spacing(spec):
        session.add(
            SloHistoryPoint(
                slo_id=row.slo_id,
                at=now,
                error_ratio=status.error_ratio,
                sli=status.sli,
                budget_remaining=status.budget_remaining,
                burn_rates=dict(status.burn_rates),
            )
        )
        session.execute(
            delete(SloHistoryPoint).where(
                SloHistoryPoint.slo_id == row.slo_id,
                SloHistoryPoint.at < now - history_horizon(spec),
            )
        )


def evaluate_slos(
    session: Session,
    now: datetime,
    *,
    settings: Settings,
    clients: ClientFactory = open_client,
) -> int:
    """The periodic task: evaluate every natively evaluated SLO; returns how many."""
    reader = Session(
        bind=session.get_bind().execution_options(**{WRITE_OPTION: False}),
        expire_on_commit=False,
    )
    try:
        jobs = load_jobs(reader, settings=settings)
    finally:
        reader.close()
    # In parallel: one slow or black-holed Prometheus must not hold up the other SLOs,
    # nor the housekeeping tasks that share this worker thread.
    with ThreadPoolExecutor(max_workers=max(1, min(MAX_PARALLEL, len(jobs)))) as pool:
        outcomes = list(
            pool.map(lambda job: run_job(job, settings=settings, now=now, clients=clients), jobs)
        )
    for outcome in outcomes:
        store_outcome(session, outcome, settings=settings, now=now)
    return len(outcomes)
