"""REST API: who is on call, the final shifts, and the schedule health report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from watchkeeper.api.deps import CurrentPrincipal, NowDep, SessionDep
from watchkeeper.identity.models import User
from watchkeeper.schedules import reports
from watchkeeper.schedules import service as svc
from watchkeeper.schedules.resolve import FinalShift
from watchkeeper.schedules.schemas import (
    FindingOut,
    GapOut,
    MemberLoadOut,
    OnCallOut,
    QualityOut,
    ShiftOut,
    ShiftsOut,
    UserBrief,
)

router = APIRouter(prefix="/api/v1", tags=["schedules"])

Instant = Annotated[
    datetime | None,
    Query(description="ISO 8601 instant, e.g. 2026-03-02T10:00:00Z (default: now; naive = UTC)."),
]


def aware(value: datetime) -> datetime:
    """Naive query times are read as UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _utc(value: datetime | None, default: datetime) -> datetime:
    return default if value is None else aware(value)


def _briefs(users: dict[int, User], keys: tuple[str, ...]) -> list[UserBrief]:
    return [UserBrief.model_validate(users[int(k)]) for k in keys if int(k) in users]


@router.get(
    "/schedules/{schedule_id}/oncall",
    response_model=OnCallOut,
    summary="Who is on call at an instant (past or future), and until when",
)
def oncall(
    schedule_id: int,
    session: SessionDep,
    principal: CurrentPrincipal,
    now: NowDep,
    at: Instant = None,
) -> OnCallOut:
    schedule = svc.get_schedule(session, schedule_id=schedule_id)
    result = reports.on_call(session, schedule=schedule, at=_utc(at, now))
    people = reports.users_by_id(session, result.users)
    return OnCallOut(
        schedule_id=schedule_id,
        at=result.at,
        until=result.until,
        is_gap=result.is_gap,
        source=result.source,
        users=[UserBrief.model_validate(people[u]) for u in result.users if u in people],
    )


@router.get(
    "/schedules/{schedule_id}/shifts",
    response_model=ShiftsOut,
    summary="Final shifts of a range (default: the next 7 days), gaps included; at most 400 days",
)
def shifts(
    schedule_id: int,
    session: SessionDep,
    principal: CurrentPrincipal,
    now: NowDep,
    start: Instant = None,
    end: Instant = None,
) -> ShiftsOut:
    schedule = svc.get_schedule(session, schedule_id=schedule_id)
    lo = _utc(start, now)
    hi = _utc(end, lo + timedelta(days=7))
    pieces: list[FinalShift] = reports.shifts(session, schedule=schedule, start=lo, end=hi)
    people = reports.users_by_id(session, {int(k) for p in pieces for k in p.users})
    items = [
        ShiftOut(
            start=p.start,
            end=p.end,
            is_gap=p.is_gap,
            source=p.source,
            users=_briefs(people, p.users),
        )
        for p in pieces
    ]
    return ShiftsOut(schedule_id=schedule_id, start=lo, end=hi, items=items)


@router.get(
    "/schedules/{schedule_id}/quality",
    response_model=QualityOut,
    summary="Health report of the next N days: score, findings in plain words, gaps, loads",
)
def quality(
    schedule_id: int,
    session: SessionDep,
    principal: CurrentPrincipal,
    now: NowDep,
    days: Annotated[int, Query(ge=1, le=365)] = 30,
) -> QualityOut:
    schedule = svc.get_schedule(session, schedule_id=schedule_id)
    result = reports.quality(session, schedule=schedule, now=now, days=days)
    report = result.report
    people = reports.users_by_id(session, result.user_of_label.values())
    return QualityOut(
        schedule_id=schedule_id,
        start=report.start,
        end=report.end,
        score=report.score,
        coverage=report.coverage,
        balance=report.balance,
        resilience=report.resilience,
        findings=[
            FindingOut(severity=f.severity, code=f.code, message=f.message) for f in report.findings
        ],
        gaps=[
            GapOut(
                start=g.start,
                end=g.end,
                hours=(g.end - g.start).total_seconds() / 3600,
                urgent=g.urgent,
            )
            for g in report.gaps
        ],
        members=[
            MemberLoadOut(
                user=(
                    UserBrief.model_validate(people[result.user_of_label[m.user]])
                    if m.user in result.user_of_label
                    else None
                ),
                time_zone=m.time_zone,
                hours=m.hours,
                vs_average=m.vs_average,
                night_hours=m.night_hours,
                weekend_hours=m.weekend_hours,
                off_hours=m.off_hours,
                longest_stretch_hours=m.longest_stretch_hours,
            )
            for m in report.members
        ],
    )
