"""Shift swaps: someone offers a span of their shift, a teammate takes it.

Taking a swap writes overrides in which the taker replaces the requester, and
only the requester: where the requester shares a shift with others, those
others stay on call. Requests, takes and cancellations go to the audit log.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from watchkeeper.errors import Conflict, Forbidden, Invalid, NotFound
from watchkeeper.identity import audit
from watchkeeper.identity.principal import Principal
from watchkeeper.schedules import reports
from watchkeeper.schedules import service as svc
from watchkeeper.schedules.models import Schedule, SwapRequest
from watchkeeper.schedules.schemas import OverrideCreate, SwapCreate


def _user_id(actor: Principal) -> int:
    if actor.kind != "user" or actor.id is None:
        raise Forbidden("only people can swap shifts")
    return actor.id


def _require_member(actor: Principal, schedule: Schedule) -> None:
    if (
        schedule.team_id is not None
        and not actor.is_admin
        and schedule.team_id not in actor.team_ids
    ):
        raise Forbidden(f"only members of team {schedule.team_id} can swap shifts of this schedule")


def _record(
    session: Session, actor: Principal, action: str, swap: SwapRequest, now: datetime
) -> None:
    audit.record(
        session,
        actor=actor,
        action=action,
        object_type="schedule_swap",
        object_id=swap.id,
        at=now,
        details={
            "schedule_id": swap.schedule_id,
            "requester_id": swap.requester_id,
            "taker_id": swap.taker_id,
            "start": swap.start.isoformat(),
            "end": swap.end.isoformat(),
            "override_ids": list(swap.override_ids),
        },
    )


def get_swap(session: Session, *, schedule_id: int, swap_id: int) -> SwapRequest:
    swap = session.get(SwapRequest, swap_id)
    if swap is None or swap.schedule_id != schedule_id:
        raise NotFound(f"swap request {swap_id} does not exist in schedule {schedule_id}")
    return swap


def list_swaps(
    session: Session, *, schedule_id: int, status: str | None = None
) -> Sequence[SwapRequest]:
    svc.get_schedule(session, schedule_id=schedule_id)
    query = select(SwapRequest).where(SwapRequest.schedule_id == schedule_id)
    if status:
        query = query.where(SwapRequest.status == status)
    return session.scalars(query.order_by(SwapRequest.start, SwapRequest.id)).all()


def _pieces_of(
    session: Session, schedule: Schedule, user_id: int, start: datetime, end: datetime
) -> list[tuple[datetime, datetime, tuple[int, ...]]]:
    """The parts of [start, end) in which ``user_id`` is on call, with everyone on call."""
    key = str(user_id)
    return [
        (s.start, s.end, tuple(int(k) for k in s.users))
        for s in reports.shifts(session, schedule=schedule, start=start, end=end)
        if key in s.users
    ]


def request_swap(
    session: Session, *, actor: Principal, schedule_id: int, data: SwapCreate, now: datetime
) -> SwapRequest:
    """Offer [start, end) of your own on-call time to teammates."""
    requester = _user_id(actor)
    schedule = svc.get_schedule(session, schedule_id=schedule_id)
    _require_member(actor, schedule)
    if data.end <= now:
        raise Invalid("that span is already over")
    if not _pieces_of(session, schedule, requester, data.start, data.end):
        raise Invalid("you are not on call at any time in that span")
    swap = SwapRequest(
        schedule_id=schedule_id,
        requester_id=requester,
        start=data.start,
        end=data.end,
        status="open",
        reason=data.reason,
        override_ids=[],
        created_at=now,
        updated_at=now,
    )
    session.add(swap)
    session.flush()
    _record(session, actor, "schedule.swap_request", swap, now)
    return swap


def take_swap(
    session: Session, *, actor: Principal, schedule_id: int, swap_id: int, now: datetime
) -> SwapRequest:
    """Take an open swap: overrides put the taker where the requester was."""
    taker = _user_id(actor)
    schedule = svc.get_schedule(session, schedule_id=schedule_id)
    swap = get_swap(session, schedule_id=schedule_id, swap_id=swap_id)
    _require_member(actor, schedule)
    if swap.status != "open":
        raise Conflict(f"swap request {swap_id} is {swap.status}")
    if taker == swap.requester_id:
        raise Invalid("you cannot take your own swap request")
    if swap.end <= now:
        raise Invalid("that span is already over")
    pieces = _pieces_of(session, schedule, swap.requester_id, swap.start, swap.end)
    if not pieces:
        raise Conflict("the requester is no longer on call in that span")
    override_ids: list[int] = []
    for start, end, users in pieces:
        replaced = list(dict.fromkeys(taker if u == swap.requester_id else u for u in users))
        override = svc.add_override(
            session,
            actor=actor,
            schedule_id=schedule_id,
            data=OverrideCreate(
                start=start,
                end=end,
                user_ids=replaced,
                reason=f"swap request {swap.id}: user {taker} covers user {swap.requester_id}",
            ),
            now=now,
        )
        override_ids.append(override.id)
    swap.status, swap.taker_id, swap.override_ids = "taken", taker, override_ids
    swap.updated_at = now
    _record(session, actor, "schedule.swap_take", swap, now)
    return swap


def cancel_swap(
    session: Session, *, actor: Principal, schedule_id: int, swap_id: int, now: datetime
) -> SwapRequest:
    """Withdraw an open swap request (the requester, a team editor or an admin)."""
    schedule = svc.get_schedule(session, schedule_id=schedule_id)
    swap = get_swap(session, schedule_id=schedule_id, swap_id=swap_id)
    if actor.id != swap.requester_id:
        actor.require_team_editor(schedule.team_id)
    if swap.status != "open":
        raise Conflict(f"swap request {swap_id} is {swap.status}")
    swap.status, swap.updated_at = "cancelled", now
    _record(session, actor, "schedule.swap_cancel", swap, now)
    return swap
