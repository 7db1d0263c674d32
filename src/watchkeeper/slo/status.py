"""Reading an SLO's stored status, history, and the budget each alert group consumed.

Budget per alert group is an approximation from stored history, not a fresh
Prometheus query: for a group that fired from `start` to `end`, it is the error
budget remaining (over the rolling period) at `start` minus that at `end`,
interpolated between history points and never below zero. On a rolling period
budget also comes back as old errors leave the window, so what is charged is the
burn *above* the background rate while the group fired; groups that overlap are
each charged the whole overlap. Groups count when their `service` label is the
SLO's service and their `slo` label, if any, is the SLO's name.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from watchkeeper.alerts.models import AlertGroup
from watchkeeper.slo.models import Slo, SloHistoryPoint
from watchkeeper.slo.prometheus import FiringTier, period_start
from watchkeeper.slo.schemas import BudgetConsumer, HistoryPointOut, SloStatusOut
from watchkeeper.slo.service import spec_of
from watchkeeper.slo.spec import format_duration

MAX_CONSUMERS = 50
MAX_HISTORY = 5000


def history(
    session: Session, *, slo_id: int, start: datetime, end: datetime, limit: int = MAX_HISTORY
) -> Sequence[SloHistoryPoint]:
    return session.scalars(
        select(SloHistoryPoint)
        .where(
            SloHistoryPoint.slo_id == slo_id,
            SloHistoryPoint.at >= start,
            SloHistoryPoint.at <= end,
        )
        .order_by(SloHistoryPoint.at)
        .limit(limit)
    ).all()


def history_out(points: Sequence[SloHistoryPoint]) -> list[HistoryPointOut]:
    return [
        HistoryPointOut(
            at=p.at,
            sli=p.sli,
            error_ratio=p.error_ratio,
            budget_remaining=p.budget_remaining,
            burn_rates=p.burn_rates or {},
        )
        for p in points
    ]


def remaining_at(points: Sequence[SloHistoryPoint], at: datetime) -> float | None:
    """Budget remaining at `at`, linearly interpolated; clamped to the first/last point."""
    usable = [p for p in points if p.budget_remaining is not None]
    if not usable:
        return None
    times = [p.at for p in usable]
    index = bisect_left(times, at)
    if index == 0:
        return usable[0].budget_remaining
    if index == len(usable):
        return usable[-1].budget_remaining
    before, after = usable[index - 1], usable[index]
    assert before.budget_remaining is not None
    assert after.budget_remaining is not None
    share = (at - before.at) / (after.at - before.at)
    return before.budget_remaining + share * (after.budget_remaining - before.budget_remaining)


def budget_consumers(
    session: Session, *, slo: Slo, start: datetime, now: datetime
) -> list[BudgetConsumer]:
    """Alert groups of this SLO's service that fired in the period, newest first."""
    groups = session.scalars(
        select(AlertGroup)
        .where(
            AlertGroup.labels["service"].as_string() == slo.service,
            AlertGroup.created_at <= now,
            or_(AlertGroup.resolved_at.is_(None), AlertGroup.resolved_at >= start),
            AlertGroup.merged_into_id.is_(None),
        )
        .order_by(AlertGroup.created_at.desc())
        .limit(4 * MAX_CONSUMERS)
    ).all()
    groups = [g for g in groups if (g.labels or {}).get("slo", slo.name) == slo.name]
    points = history(session, slo_id=slo.id, start=start - timedelta(days=1), end=now)
    consumers = []
    for group in groups[:MAX_CONSUMERS]:
        began = max(group.created_at, start)
        ended = min(group.resolved_at or now, now)
        before, after = remaining_at(points, began), remaining_at(points, ended)
        consumed = None if before is None or after is None else max(before - after, 0.0)
        consumers.append(
            BudgetConsumer(
                group_id=group.id,
                title=group.title,
                status=group.status,
                integration_id=group.integration_id,
                started_at=group.created_at,
                ended_at=group.resolved_at,
                budget_consumed=consumed,
            )
        )
    return consumers


def duration_text(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return format_duration(timedelta(seconds=seconds)) if seconds >= 1 else "0s"


def status_out(session: Session, *, slo: Slo, now: datetime) -> SloStatusOut:
    """What the status endpoint answers; fields are null until the first evaluation."""
    spec = spec_of(slo)
    row = slo.status
    start = row.period_start if row and row.period_start else period_start(spec, now)
    seconds = row.budget_remaining_seconds if row else None
    return SloStatusOut(
        slo_id=slo.id,
        service=slo.service,
        name=slo.name,
        objective=spec.objective,
        period=spec.period,
        native_evaluation=slo.native_evaluation,
        evaluated_at=row.evaluated_at if row else None,
        period_start=row.period_start if row else None,
        sli=row.sli if row else None,
        error_ratio=row.error_ratio if row else None,
        budget_remaining=row.budget_remaining if row else None,
        budget_remaining_seconds=seconds,
        budget_remaining_time=duration_text(seconds),
        burn_rates=row.burn_rates if row and row.burn_rates else {},
        firing=[FiringTier.model_validate(t) for t in (row.firing if row else None) or []],
        open_alerts=list(row.open_alerts or []) if row else [],
        error=row.error if row else None,
        error_at=row.error_at if row else None,
        last_success_at=row.last_success_at if row else None,
        budget_consumers=budget_consumers(session, slo=slo, start=start, now=now),
    )
