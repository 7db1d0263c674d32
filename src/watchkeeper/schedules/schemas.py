"""Request and response bodies of the schedules API."""

from __future__ import annotations

from datetime import datetime, time
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from watchkeeper.identity.schemas import check_time_zone

ShiftUnitName = Literal["hours", "days", "weeks"]
CalendarKind = Literal["primary", "overrides"]
SwapStatus = Literal["open", "taken", "cancelled"]


class UserBrief(BaseModel):
    """A person as schedules show them."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    name: str
    username: str | None
    time_zone: str


class ScheduleCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    time_zone: str = Field(default="UTC", description="IANA time zone, e.g. Europe/Berlin.")
    team_id: int | None = None

    _tz = field_validator("time_zone")(check_time_zone)


class ScheduleUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    time_zone: str | None = None
    team_id: int | None = None

    @field_validator("time_zone")
    @classmethod
    def _tz(cls, value: str | None) -> str | None:
        return None if value is None else check_time_zone(value)


class RestrictionIn(BaseModel):
    """A weekly window: opens on each weekday (0 = Monday) at start, closes at end."""

    weekdays: list[int] = Field(min_length=1, max_length=7)
    start: time
    end: time

    @field_validator("weekdays")
    @classmethod
    def _days(cls, value: list[int]) -> list[int]:
        if not all(0 <= day <= 6 for day in value):
            raise ValueError("weekdays are 0 (Monday) to 6 (Sunday)")
        return sorted(set(value))


class RotationIn(BaseModel):
    name: str = Field(default="", max_length=200)
    user_ids: list[int] = Field(
        min_length=1, max_length=500, description="Users in turn order; repeats allowed."
    )
    start: AwareDatetime = Field(description="First handoff; the first user's shift contains it.")
    shift_count: int = Field(default=1, ge=1, le=1000)
    shift_unit: ShiftUnitName = "weeks"
    handoff_time: time | None = Field(
        default=None, description="Local handoff time for day/week shifts (default: start's)."
    )
    restrictions: list[RestrictionIn] = Field(default_factory=list, max_length=50)
    end: AwareDatetime | None = None

    @model_validator(mode="after")
    def _span(self) -> RotationIn:
        if self.end is not None and self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class RotationOut(RotationIn):
    model_config = ConfigDict(from_attributes=True)

    id: int
    layer_id: int


class LayerCreate(BaseModel):
    name: str = Field(default="", max_length=200)
    position: int | None = Field(
        default=None, description="Higher wins where layers overlap; default: on top."
    )
    rotations: list[RotationIn] = Field(default_factory=list, max_length=50)


class LayerUpdate(BaseModel):
    name: str | None = Field(default=None, max_length=200)
    position: int | None = None


class LayerOut(BaseModel):
    id: int
    schedule_id: int
    name: str
    position: int
    rotations: list[RotationOut]


class OverrideCreate(BaseModel):
    start: AwareDatetime
    end: AwareDatetime
    user_ids: list[int] = Field(
        max_length=100, description="Who is on call instead; empty means nobody (a gap)."
    )
    reason: str = Field(default="", max_length=2000)

    @model_validator(mode="after")
    def _span(self) -> OverrideCreate:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class OverrideOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    schedule_id: int
    start: datetime
    end: datetime
    user_ids: list[int]
    reason: str
    created_by: int | None
    created_at: datetime


class SwapCreate(BaseModel):
    start: AwareDatetime
    end: AwareDatetime
    reason: str = Field(default="", max_length=2000)

    @model_validator(mode="after")
    def _span(self) -> SwapCreate:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class SwapOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    schedule_id: int
    requester_id: int
    start: datetime
    end: datetime
    status: SwapStatus
    reason: str
    taker_id: int | None
    override_ids: list[int]
    created_at: datetime
    updated_at: datetime


class UnknownNameOut(BaseModel):
    name: str
    count: int
    examples: list[str]


class CalendarUrlIn(BaseModel):
    url: str = Field(min_length=1, max_length=4000, description="http(s) URL of an .ics feed.")
    poll_interval_seconds: int = Field(default=300, ge=60, le=86400)


class CalendarOut(BaseModel):
    """An iCal source of a schedule and how its last import went."""

    model_config = ConfigDict(from_attributes=True)

    kind: CalendarKind
    source: Literal["upload", "url"]
    url: str | None
    poll_interval_seconds: int
    has_content: bool
    content_updated_at: datetime | None
    last_polled_at: datetime | None
    next_poll_at: datetime | None
    last_error: str | None = Field(
        description="Why the last poll failed; the last good copy is kept."
    )
    last_error_at: datetime | None
    unknown_names: list[UnknownNameOut]
    events_without_users: int


class ScheduleOut(BaseModel):
    id: int
    name: str
    time_zone: str
    team_id: int | None
    version: int
    created_at: datetime
    updated_at: datetime
    layers: list[LayerOut]
    calendars: list[CalendarOut]
    warnings: list[str] = Field(description="Problems with the schedule's iCal sources.")


class OnCallOut(BaseModel):
    schedule_id: int
    at: datetime
    until: datetime | None = Field(description="End of the current shift (null: beyond 35 days).")
    is_gap: bool
    source: str
    users: list[UserBrief]


class ShiftOut(BaseModel):
    start: datetime
    end: datetime
    is_gap: bool
    source: str
    users: list[UserBrief]


class ShiftsOut(BaseModel):
    schedule_id: int
    start: datetime
    end: datetime
    items: list[ShiftOut]


class FindingOut(BaseModel):
    severity: str
    code: str
    message: str


class GapOut(BaseModel):
    start: datetime
    end: datetime
    hours: float
    urgent: bool


class MemberLoadOut(BaseModel):
    user: UserBrief | None
    time_zone: str
    hours: float
    vs_average: float
    night_hours: float
    weekend_hours: float
    off_hours: float
    longest_stretch_hours: float


class QualityOut(BaseModel):
    schedule_id: int
    start: datetime
    end: datetime
    score: int = Field(description="0-100; see docs/schedules.md for the formula.")
    coverage: float
    balance: float
    resilience: float
    findings: list[FindingOut]
    gaps: list[GapOut]
    members: list[MemberLoadOut]


class FeedUrlOut(BaseModel):
    url: str
