"""Read queries the pages need beyond the domain services: a few rows, by index, never per row."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from watchkeeper.alerts.models import AlertGroup, Integration, RawPayload
from watchkeeper.identity.models import Team, User
from watchkeeper.schedules import definitions, reports
from watchkeeper.schedules import service as schedule_svc
from watchkeeper.schedules.models import Schedule
from watchkeeper.ui.web import Me

OPEN_STATUSES = ("firing", "acknowledged")
NEXT_SHIFT_HORIZON = timedelta(days=30)


def team_scope(me: Me, column: InstrumentedAttribute[int | None]) -> ColumnElement[bool] | None:
    """Rows for my teams plus rows of no team; None (everything) when I am in no team."""
    if not me.principal.team_ids:
        return None
    return or_(column.in_(sorted(me.principal.team_ids)), column.is_(None))


def open_groups(session: Session, me: Me, *, limit: int = 25) -> list[AlertGroup]:
    """Firing groups first, then acknowledged, newest first within each (by the status index)."""
    rows: list[AlertGroup] = []
    scope = team_scope(me, AlertGroup.team_id)
    for status in OPEN_STATUSES:
        query = (
            select(AlertGroup)
            .where(AlertGroup.status == status)
            .order_by(AlertGroup.id.desc())
            .limit(limit)
        )
        if scope is not None:
            query = query.where(scope)
        rows.extend(session.scalars(query).all())
    return rows


def open_counts(session: Session, me: Me) -> dict[str, int]:
    query = (
        select(AlertGroup.status, func.count())
        .where(AlertGroup.status.in_(OPEN_STATUSES))
        .group_by(AlertGroup.status)
    )
    scope = team_scope(me, AlertGroup.team_id)
    if scope is not None:
        query = query.where(scope)
    counts = dict.fromkeys(OPEN_STATUSES, 0)
    counts.update({str(s): int(n) for s, n in session.execute(query).all()})
    return counts


def integration_names(session: Session, ids: Iterable[int]) -> dict[int, str]:
    wanted = set(ids)
    if not wanted:
        return {}
    rows = session.execute(
        select(Integration.id, Integration.name).where(Integration.id.in_(wanted))
    ).all()
    return {int(i): str(n) for i, n in rows}


def team_names(session: Session) -> dict[int, str]:
    return {int(i): str(n) for i, n in session.execute(select(Team.id, Team.name)).all()}


def user_choices(session: Session) -> Sequence[tuple[int, str, str]]:
    """(id, name, email) of every active user, by name, for pickers."""
    rows = session.execute(
        select(User.id, User.name, User.email).where(User.is_active).order_by(User.name, User.id)
    ).all()
    return [(int(i), str(n), str(e)) for i, n, e in rows]


def has_any(session: Session, model: type[Integration] | type[Schedule]) -> bool:
    return session.scalar(select(model.id).limit(1)) is not None


def recent_payloads(session: Session, *, integration_id: int, limit: int = 10) -> list[RawPayload]:
    return list(
        session.scalars(
            select(RawPayload)
            .where(RawPayload.integration_id == integration_id)
            .order_by(RawPayload.id.desc())
            .limit(limit)
        ).all()
    )


@dataclass(frozen=True)
class OnCallRow:
    """Who is on call now in one schedule, and until when."""

    schedule: Schedule
    users: list[User]
    until: datetime | None
    is_gap: bool


@dataclass(frozen=True)
class MyShift:
    schedule: Schedule
    start: datetime
    end: datetime


def visible_schedules(schedules: Sequence[Schedule], me: Me) -> Sequence[Schedule]:
    teams = me.principal.team_ids
    if not teams:
        return schedules
    return [s for s in schedules if s.team_id is None or s.team_id in teams]


def on_call_now(session: Session, schedules: Sequence[Schedule], now: datetime) -> list[OnCallRow]:
    answers = [(s, reports.on_call(session, schedule=s, at=now)) for s in schedules]
    people = reports.users_by_id(session, {u for _, a in answers for u in a.users})
    return [
        OnCallRow(s, [people[u] for u in a.users if u in people], a.until, a.is_gap)
        for s, a in answers
    ]


def my_next_shift(
    session: Session, me: Me, schedules: Sequence[Schedule], now: datetime
) -> MyShift | None:
    """My current or next shift in any of ``schedules`` within the next 30 days.

    Looks 2 days ahead first, then 30: resolving a month of shifts for every
    schedule on every poll of Home is the costly part of the page.
    """
    key = str(me.user.id)
    mine = [s for s in schedules if me.user.id in definitions.member_ids(s) or s.calendars]
    for horizon in (timedelta(days=2), NEXT_SHIFT_HORIZON):
        best: MyShift | None = None
        for schedule in mine:
            for shift in reports.shifts(session, schedule=schedule, start=now, end=now + horizon):
                if key in shift.users:
                    if best is None or shift.start < best.start:
                        best = MyShift(schedule, shift.start, shift.end)
                    break
        if best is not None:
            return best
    return None


def all_schedules(session: Session) -> Sequence[Schedule]:
    return schedule_svc.list_schedules(session)
