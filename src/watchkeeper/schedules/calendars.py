"""iCal sources of a schedule: uploaded text, or a URL polled with ETag/If-Modified-Since.

A calendar row keeps the last good copy of the feed. Polling never replaces it
with something worse: a 404/500, a timeout, an oversized or unreadable body, or
a feed that suddenly has no on-call shifts while the last copy had some, keeps
the last copy and records the reason in ``last_error``, which the API shows as
a warning on the schedule. Nothing here raises out of the periodic task.

Outgoing requests go through ``notify.netguard``: link-local and cloud metadata
addresses are refused (also after redirects and DNS resolution) unless an admin
allow-lists them with ``WATCHKEEPER_ICAL_URL_ALLOW``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import httpx
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import select
from sqlalchemy.orm import Session

from watchkeeper.db.engine import WRITE_OPTION
from watchkeeper.errors import BadRequest, Invalid, NotFound
from watchkeeper.identity import audit
from watchkeeper.identity.principal import Principal
from watchkeeper.notify.netguard import AllowList, UnsafeUrl, check_url, safe_client
from watchkeeper.schedules import definitions
from watchkeeper.schedules import service as svc
from watchkeeper.schedules.ical_import import IcalError, IcalImport
from watchkeeper.schedules.models import Schedule, ScheduleCalendar

log = logging.getLogger("watchkeeper.schedules.calendars")

# Unknown names and "no shifts" are judged over this window around now.
CHECK_BEFORE = CHECK_AFTER = timedelta(days=400)
POLL_BATCH = 20


class IcalSourceSettings(BaseSettings):
    """Limits for polled calendars (``WATCHKEEPER_ICAL_*`` environment variables)."""

    model_config = SettingsConfigDict(env_prefix="WATCHKEEPER_ICAL_", extra="ignore")

    url_allow: str = ""  # comma-separated hosts or networks always allowed
    deny_private: bool = False  # also refuse loopback and private networks
    max_bytes: int = 5 * 1024 * 1024
    timeout_seconds: float = 15.0

    def allow_list(self) -> AllowList:
        return AllowList.parse(self.url_allow.split(","), deny_private=self.deny_private)


def redact_url(url: str | None) -> str | None:
    """Scheme and host only: secret calendar addresses carry their secret in the path."""
    if not url:
        return url
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}/…"


def _get_calendar(session: Session, schedule_id: int, kind: str) -> ScheduleCalendar | None:
    return session.scalar(
        select(ScheduleCalendar).where(
            ScheduleCalendar.schedule_id == schedule_id, ScheduleCalendar.kind == kind
        )
    )


def _check_content(session: Session, schedule: Schedule, text: str, now: datetime) -> IcalImport:
    return definitions.import_calendar(
        session,
        text,
        time_zone=schedule.time_zone,
        start=now - CHECK_BEFORE,
        end=now + CHECK_AFTER,
    )


def _store(calendar: ScheduleCalendar, text: str, imported: IcalImport, now: datetime) -> None:
    calendar.content = text
    calendar.content_updated_at = now
    calendar.unknown_names = definitions.unknown_names_json(imported)
    calendar.events_without_users = imported.events_without_users
    calendar.last_error = None
    calendar.last_error_at = None


def upload(
    session: Session,
    *,
    actor: Principal,
    schedule_id: int,
    kind: str,
    data: bytes,
    now: datetime,
) -> ScheduleCalendar:
    """Make uploaded .ics text the schedule's ``kind`` calendar (replacing any URL)."""
    schedule = svc.get_schedule(session, schedule_id=schedule_id)
    if not data.strip():
        raise BadRequest("the request body is empty; send the .ics file as text/calendar")
    try:
        text = data.decode("utf-8-sig")
        imported = _check_content(session, schedule, text, now)
    except UnicodeDecodeError as exc:
        raise BadRequest(f"the calendar is not UTF-8 text (byte {exc.start})") from exc
    except IcalError as exc:
        raise BadRequest(f"the calendar could not be read: {exc.message}") from exc
    calendar = _get_calendar(session, schedule_id, kind) or ScheduleCalendar(
        schedule_id=schedule_id, kind=kind
    )
    calendar.source, calendar.url, calendar.next_poll_at = "upload", None, None
    calendar.etag = calendar.last_modified = None
    _store(calendar, text, imported, now)
    session.add(calendar)
    session.flush()
    svc.touch(session, schedule_id=schedule_id, now=now)
    _audit(session, actor, "schedule.ical_upload", schedule_id, now, kind, len(data))
    return calendar


def set_url(
    session: Session,
    *,
    actor: Principal,
    schedule_id: int,
    kind: str,
    url: str,
    poll_interval_seconds: int,
    allow: AllowList,
    now: datetime,
) -> ScheduleCalendar:
    """Poll ``url`` for the ``kind`` calendar; the first poll is due at once."""
    svc.get_schedule(session, schedule_id=schedule_id)
    try:
        # No DNS here: a resolver hiccup must not block saving; each poll re-checks.
        check_url(url.strip(), allow, resolve=False)
    except UnsafeUrl as exc:
        raise Invalid(f"url: {exc.message}") from exc
    calendar = _get_calendar(session, schedule_id, kind) or ScheduleCalendar(
        schedule_id=schedule_id, kind=kind, unknown_names=[], events_without_users=0
    )
    if calendar.url != url.strip():
        calendar.etag = calendar.last_modified = None
    calendar.source, calendar.url = "url", url.strip()
    calendar.poll_interval_seconds = poll_interval_seconds
    calendar.next_poll_at = now
    session.add(calendar)
    session.flush()
    svc.touch(session, schedule_id=schedule_id, now=now)
    _audit(session, actor, "schedule.ical_url", schedule_id, now, kind, redact_url(url))
    return calendar


def request_poll(session: Session, *, schedule_id: int, kind: str, now: datetime) -> None:
    calendar = _get_calendar(session, schedule_id, kind)
    if calendar is None or calendar.source != "url":
        raise NotFound(f"schedule {schedule_id} has no {kind} calendar URL")
    calendar.next_poll_at = now


def remove(
    session: Session, *, actor: Principal, schedule_id: int, kind: str, now: datetime
) -> None:
    calendar = _get_calendar(session, schedule_id, kind)
    if calendar is None:
        raise NotFound(f"schedule {schedule_id} has no {kind} calendar")
    session.delete(calendar)
    session.flush()
    svc.touch(session, schedule_id=schedule_id, now=now)
    _audit(session, actor, "schedule.ical_remove", schedule_id, now, kind, None)


def _audit(
    session: Session,
    actor: Principal,
    action: str,
    schedule_id: int,
    now: datetime,
    kind: str,
    detail: object,
) -> None:
    audit.record(
        session,
        actor=actor,
        action=action,
        object_type="schedule",
        object_id=schedule_id,
        at=now,
        details={"kind": kind, "detail": detail},
    )


def warnings(schedule: Schedule) -> list[str]:
    """Plain-words problems with a schedule's calendars, for the API and UI."""
    out: list[str] = []
    for calendar in sorted(schedule.calendars, key=lambda c: c.kind):
        if calendar.last_error:
            kept = (
                f"using the copy from {calendar.content_updated_at.isoformat()}"
                if calendar.content_updated_at
                else "no copy was ever loaded, so it adds no shifts"
            )
            out.append(
                f"The {calendar.kind} calendar failed to update: {calendar.last_error}; {kept}."
            )
        if calendar.unknown_names:
            names = ", ".join(
                f"{u['name']!r} ({u['count']} event{'s' if u['count'] != 1 else ''})"
                for u in calendar.unknown_names
            )
            out.append(
                f"The {calendar.kind} calendar names people who are not users: {names}. "
                "Use their email address or username in the event title."
            )
    return out


# -- polling -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DueCalendar:
    id: int
    schedule_id: int
    url: str
    etag: str | None
    last_modified: str | None


@dataclass(frozen=True, slots=True)
class Fetched:
    """What one poll got: new text, ``not_modified``, or an ``error``."""

    text: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False
    error: str | None = None


def fetch(due: DueCalendar, config: IcalSourceSettings) -> Fetched:
    """GET the feed with conditional headers, within the size and time limits."""
    headers = {"Accept": "text/calendar, text/plain;q=0.5, */*;q=0.1"}
    if due.etag:
        headers["If-None-Match"] = due.etag
    if due.last_modified:
        headers["If-Modified-Since"] = due.last_modified
    try:
        with safe_client(
            config.allow_list(),
            config.timeout_seconds,
            max_response_bytes=config.max_bytes + 1,
            headers=headers,
        ) as client:
            response = client.get(due.url)
    except UnsafeUrl as exc:
        return Fetched(error=f"refused: {exc.message}")
    except httpx.TimeoutException:
        return Fetched(error=f"no complete answer within {config.timeout_seconds:g} s")
    except httpx.TooManyRedirects:
        return Fetched(error="too many redirects")
    except (httpx.HTTPError, OSError) as exc:
        return Fetched(error=f"could not fetch the calendar: {exc}")
    if response.status_code == 304:
        return Fetched(not_modified=True)
    if response.status_code != 200:
        return Fetched(error=f"the server answered HTTP {response.status_code}")
    if len(response.content) > config.max_bytes:
        return Fetched(error=f"the calendar is larger than {config.max_bytes} bytes")
    try:
        text = response.content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return Fetched(error=f"the calendar is not UTF-8 text (byte {exc.start})")
    return Fetched(
        text=text,
        etag=response.headers.get("etag"),
        last_modified=response.headers.get("last-modified"),
    )


def apply(session: Session, due: DueCalendar, fetched: Fetched, now: datetime) -> None:
    """Record one poll's outcome; a failure keeps the last good copy."""
    calendar = session.get(ScheduleCalendar, due.id)
    if calendar is None or calendar.source != "url" or calendar.url != due.url:
        return  # removed or changed while we were fetching
    calendar.last_polled_at = now
    calendar.next_poll_at = now + timedelta(seconds=calendar.poll_interval_seconds)
    error = fetched.error
    if fetched.text is not None:
        schedule = svc.get_schedule(session, schedule_id=calendar.schedule_id)
        try:
            imported = _check_content(session, schedule, fetched.text, now)
        except IcalError as exc:
            error = f"the calendar could not be read: {exc.message}"
        else:
            if not imported.shifts and _had_shifts(session, schedule, calendar, now):
                error = "the calendar now has no on-call events; it looks emptied by mistake"
            else:
                _store(calendar, fetched.text, imported, now)
                calendar.etag, calendar.last_modified = fetched.etag, fetched.last_modified
                svc.touch(session, schedule_id=schedule.id, now=now)
    if error is not None:
        calendar.last_error, calendar.last_error_at = error, now
        log.warning("calendar %s of schedule %s: %s", calendar.kind, calendar.schedule_id, error)
    elif fetched.not_modified:
        calendar.last_error = calendar.last_error_at = None


def _had_shifts(
    session: Session, schedule: Schedule, calendar: ScheduleCalendar, now: datetime
) -> bool:
    if not calendar.content:
        return False
    try:
        return bool(_check_content(session, schedule, calendar.content, now).shifts)
    except IcalError:
        return False


def due_calendars(session: Session, now: datetime, limit: int = POLL_BATCH) -> list[DueCalendar]:
    rows = session.scalars(
        select(ScheduleCalendar)
        .where(ScheduleCalendar.source == "url", ScheduleCalendar.next_poll_at <= now)
        .order_by(ScheduleCalendar.next_poll_at)
        .limit(limit)
    ).all()
    return [DueCalendar(r.id, r.schedule_id, r.url or "", r.etag, r.last_modified) for r in rows]


def poll_calendars(session: Session, now: datetime, *, config: IcalSourceSettings) -> None:
    """Periodic task: poll the calendars that are due."""
    # Find and fetch outside the task's write transaction: on SQLite the first
    # statement in ``session`` takes the database write lock, and holding it
    # through slow HTTP requests would stall alert ingestion.
    bind = session.get_bind()
    with Session(bind=bind.execution_options(**{WRITE_OPTION: False})) as reader:
        due = due_calendars(reader, now)
    outcomes = [(item, _safe_fetch(item, config)) for item in due]
    for item, fetched in outcomes:
        try:
            with session.begin_nested():
                apply(session, item, fetched, now)
        except Exception:
            log.exception("recording the poll of calendar %s failed", item.id)


def _safe_fetch(due: DueCalendar, config: IcalSourceSettings) -> Fetched:
    try:
        return fetch(due, config)
    except Exception as exc:  # never let one odd server stop the others
        log.exception("polling calendar %s failed", due.id)
        return Fetched(error=f"unexpected error: {exc}")


def poll_task(session: Session, now: datetime) -> None:
    """The periodic task, with limits from the environment."""
    poll_calendars(session, now, config=IcalSourceSettings())
