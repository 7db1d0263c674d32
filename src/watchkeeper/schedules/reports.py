"""Questions about a stored schedule: who is on call, the final shifts, the health report."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from watchkeeper.errors import Invalid
from watchkeeper.identity.models import User
from watchkeeper.schedules import definitions
from watchkeeper.schedules import service as svc
from watchkeeper.schedules.models import Schedule
from watchkeeper.schedules.quality import QualityReport, quality_report
from watchkeeper.schedules.resolve import FinalShift, final_shifts, on_call_at

MAX_RANGE = timedelta(days=400)
# How far ahead "until" looks for the end of the current shift.
UNTIL_HORIZON = timedelta(days=35)


@dataclass(frozen=True, slots=True)
class OnCall:
    """Who is on call at one instant, and until when."""

    at: datetime
    until: datetime | None
    users: tuple[int, ...]
    is_gap: bool
    source: str


def users_by_id(session: Session, ids: Iterable[int]) -> dict[int, User]:
    wanted = set(ids)
    if not wanted:
        return {}
    return {u.id: u for u in session.scalars(select(User).where(User.id.in_(wanted))).all()}


def who_is_on_call(session: Session, *, schedule_id: int, at: datetime) -> tuple[int, ...]:
    """User ids on call at ``at``; the fast path for paging (cached per week)."""
    schedule = svc.get_schedule(session, schedule_id=schedule_id)
    definition = definitions.definition_for(session, schedule, at, at)
    return tuple(int(k) for k in on_call_at(definition, at))


def on_call(session: Session, *, schedule: Schedule, at: datetime) -> OnCall:
    """Who is on call at ``at`` and until the end of the current shift."""
    definition = definitions.definition_for(session, schedule, at, at + UNTIL_HORIZON)
    # The first week almost always holds the handoff; look further only if not.
    for horizon in (timedelta(days=7), UNTIL_HORIZON):
        shifts = final_shifts(definition, at, at + horizon)
        first = shifts[0]
        if first.end < at + horizon:
            break
    until = first.end if first.end < at + UNTIL_HORIZON else None
    return OnCall(at, until, tuple(int(k) for k in first.users), first.is_gap, first.source)


def shifts(
    session: Session, *, schedule: Schedule, start: datetime, end: datetime
) -> list[FinalShift]:
    """The final shifts of [start, end), gaps included; at most ``MAX_RANGE`` long."""
    if end <= start:
        raise Invalid("end must be after start")
    if end - start > MAX_RANGE:
        raise Invalid(f"the range may be at most {MAX_RANGE.days} days long")
    definition = definitions.definition_for(session, schedule, start, end)
    return final_shifts(definition, start, end)


def _labels(users: Mapping[int, User]) -> dict[int, str]:
    """Names for plain-words findings; the email is added where two names clash."""
    names = [u.name for u in users.values()]
    return {
        uid: (u.name if names.count(u.name) == 1 else f"{u.name} <{u.email}>")
        for uid, u in users.items()
    }


def _relabel(shifts: Sequence[FinalShift], labels: Mapping[int, str]) -> list[FinalShift]:
    return [
        FinalShift(
            s.start,
            s.end,
            tuple(labels.get(int(k), k) for k in s.users),
            s.source,
            s.is_gap,
        )
        for s in shifts
    ]


@dataclass(frozen=True, slots=True)
class Quality:
    report: QualityReport
    # label in the report → user id (member loads are keyed by label)
    user_of_label: dict[str, int]


def quality(session: Session, *, schedule: Schedule, now: datetime, days: int) -> Quality:
    """The health report of the next ``days`` days, in plain words with people's names."""
    start, end = now, now + timedelta(days=days)
    own = shifts(session, schedule=schedule, start=start, end=end)
    others: dict[str, list[FinalShift]] = {}
    for other in svc.list_schedules(session):
        if other.id != schedule.id:
            others[other.name] = shifts(session, schedule=other, start=start, end=end)
    ids = definitions.member_ids(schedule)
    ids |= {int(k) for s in own for k in s.users}
    ids |= {int(k) for spans in others.values() for s in spans for k in s.users}
    people = users_by_id(session, ids)
    labels = _labels(people)
    members = [labels[u] for u in definitions.member_ids(schedule) if u in labels]
    report = quality_report(
        _relabel(own, labels),
        now=now,
        days=days,
        member_time_zones={labels[uid]: u.time_zone for uid, u in people.items()},
        other_schedules={name: _relabel(s, labels) for name, s in others.items()},
        members=members,
        time_zone=schedule.time_zone,
    )
    return Quality(report, {label: uid for uid, label in labels.items()})
