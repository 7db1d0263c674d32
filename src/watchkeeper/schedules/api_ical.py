"""REST API for iCal: import (upload or URL), export feed URLs, and the public feeds."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Response, status

from watchkeeper.api.deps import ContextDep, CurrentPrincipal, NowDep, SessionDep
from watchkeeper.errors import PayloadTooLarge
from watchkeeper.schedules import calendars, feeds
from watchkeeper.schedules import service as svc
from watchkeeper.schedules.models import ScheduleCalendar
from watchkeeper.schedules.schemas import CalendarOut, CalendarUrlIn, FeedUrlOut, UnknownNameOut

router = APIRouter(prefix="/api/v1", tags=["schedules: iCal"])
feeds_router = APIRouter(prefix="/ical", tags=["schedules: iCal feeds"])

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
_ICS = "text/calendar; charset=utf-8"
IcsBody = Annotated[
    bytes,
    Body(
        media_type="text/calendar",
        description="An .ics file; event titles (SUMMARY) name people by email or username.",
    ),
]
_KINDS = {"": "primary", "/overrides": "overrides"}


def calendar_out(calendar: ScheduleCalendar) -> CalendarOut:
    return CalendarOut(
        kind=calendar.kind,
        source=calendar.source,
        url=calendars.redact_url(calendar.url),
        poll_interval_seconds=calendar.poll_interval_seconds,
        has_content=bool(calendar.content),
        content_updated_at=calendar.content_updated_at,
        last_polled_at=calendar.last_polled_at,
        next_poll_at=calendar.next_poll_at,
        last_error=calendar.last_error,
        last_error_at=calendar.last_error_at,
        unknown_names=[UnknownNameOut(**u) for u in calendar.unknown_names or []],
        events_without_users=calendar.events_without_users,
    )


def _editable(session: SessionDep, principal: CurrentPrincipal, schedule_id: int) -> None:
    principal.require_team_editor(svc.get_schedule(session, schedule_id=schedule_id).team_id)


def _register(suffix: str, kind: str) -> None:
    """The upload, URL, poll and remove routes of one calendar kind."""
    what = "primary shifts" if kind == "primary" else "overrides"

    @router.put(
        f"/schedules/{{schedule_id}}/ical{suffix}",
        response_model=CalendarOut,
        summary=f"Upload an .ics calendar as the schedule's {what}",
        description="Send the file with Content-Type text/calendar. Names in event titles "
        "that match no user are reported in unknown_names, not dropped silently.",
        name=f"upload_ical_{kind}",
    )
    def upload(
        schedule_id: int,
        session: SessionDep,
        principal: CurrentPrincipal,
        now: NowDep,
        body: IcsBody = b"",
    ) -> CalendarOut:
        _editable(session, principal, schedule_id)
        if len(body) > MAX_UPLOAD_BYTES:
            raise PayloadTooLarge(f"the calendar is larger than {MAX_UPLOAD_BYTES} bytes")
        calendar = calendars.upload(
            session, actor=principal, schedule_id=schedule_id, kind=kind, data=body, now=now
        )
        return calendar_out(calendar)

    @router.put(
        f"/schedules/{{schedule_id}}/ical{suffix}/url",
        response_model=CalendarOut,
        summary=f"Poll an .ics URL for the schedule's {what}",
        description="The background worker fetches the URL within a minute, then every "
        "poll_interval_seconds with ETag/If-Modified-Since. A failing fetch keeps the last "
        "good copy and shows a warning on the schedule.",
        name=f"set_ical_url_{kind}",
    )
    def set_url(
        schedule_id: int,
        body: CalendarUrlIn,
        session: SessionDep,
        principal: CurrentPrincipal,
        now: NowDep,
    ) -> CalendarOut:
        _editable(session, principal, schedule_id)
        calendar = calendars.set_url(
            session,
            actor=principal,
            schedule_id=schedule_id,
            kind=kind,
            url=body.url,
            poll_interval_seconds=body.poll_interval_seconds,
            allow=calendars.IcalSourceSettings().allow_list(),
            now=now,
        )
        return calendar_out(calendar)

    @router.post(
        f"/schedules/{{schedule_id}}/ical{suffix}/poll",
        status_code=status.HTTP_202_ACCEPTED,
        summary=f"Poll the {what} calendar URL at the next worker run",
        name=f"poll_ical_{kind}",
    )
    def poll(
        schedule_id: int, session: SessionDep, principal: CurrentPrincipal, now: NowDep
    ) -> dict[str, str]:
        _editable(session, principal, schedule_id)
        calendars.request_poll(session, schedule_id=schedule_id, kind=kind, now=now)
        return {"status": "queued"}

    @router.delete(
        f"/schedules/{{schedule_id}}/ical{suffix}",
        status_code=status.HTTP_204_NO_CONTENT,
        summary=f"Remove the {what} calendar",
        name=f"remove_ical_{kind}",
    )
    def remove(
        schedule_id: int, session: SessionDep, principal: CurrentPrincipal, now: NowDep
    ) -> None:
        _editable(session, principal, schedule_id)
        calendars.remove(session, actor=principal, schedule_id=schedule_id, kind=kind, now=now)


for _suffix, _kind in _KINDS.items():
    _register(_suffix, _kind)


@router.get(
    "/schedules/{schedule_id}/ical-export",
    response_model=FeedUrlOut,
    summary="The secret URL of the schedule's iCal feed, for calendar apps",
)
def schedule_feed_url(
    schedule_id: int, ctx: ContextDep, session: SessionDep, principal: CurrentPrincipal
) -> FeedUrlOut:
    schedule = svc.get_schedule(session, schedule_id=schedule_id)
    return FeedUrlOut(url=feeds.schedule_feed_url(ctx.settings.base_url, schedule))


@router.post(
    "/schedules/{schedule_id}/ical-export/regenerate",
    response_model=FeedUrlOut,
    summary="Replace the schedule's feed URL; the old one stops working",
)
def regenerate_schedule_feed(
    schedule_id: int,
    ctx: ContextDep,
    session: SessionDep,
    principal: CurrentPrincipal,
    now: NowDep,
) -> FeedUrlOut:
    _editable(session, principal, schedule_id)
    schedule = svc.regenerate_ical_token(session, actor=principal, schedule_id=schedule_id, now=now)
    return FeedUrlOut(url=feeds.schedule_feed_url(ctx.settings.base_url, schedule))


@router.get(
    "/me/shifts-feed",
    summary='Your "my shifts" iCal feed URL (null until created with POST)',
)
def my_feed_url(
    ctx: ContextDep, session: SessionDep, principal: CurrentPrincipal
) -> dict[str, str | None]:
    assert principal.id is not None
    token = feeds.get_user_token(session, user_id=principal.id)
    return {"url": feeds.user_feed_url(ctx.settings.base_url, token) if token else None}


@router.post(
    "/me/shifts-feed",
    response_model=FeedUrlOut,
    summary='Create or replace your "my shifts" iCal feed URL',
)
def regenerate_my_feed(
    ctx: ContextDep, session: SessionDep, principal: CurrentPrincipal, now: NowDep
) -> FeedUrlOut:
    assert principal.id is not None
    token = feeds.regenerate_user_token(session, actor=principal, user_id=principal.id, now=now)
    return FeedUrlOut(url=feeds.user_feed_url(ctx.settings.base_url, token))


@feeds_router.get(
    "/schedules/{token}.ics",
    response_class=Response,
    summary="A schedule's shifts as iCal (the secret token is the credential)",
)
def schedule_ics(token: str, session: SessionDep, now: NowDep) -> Response:
    return Response(feeds.schedule_ics(session, token=token, now=now), media_type=_ICS)


@feeds_router.get(
    "/users/{token}.ics",
    response_class=Response,
    summary="One person's shifts across all schedules as iCal",
)
def user_ics(token: str, session: SessionDep, now: NowDep) -> Response:
    return Response(feeds.user_ics(session, token=token, now=now), media_type=_ICS)
