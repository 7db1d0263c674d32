"""Request and response bodies of the incident API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Status = Literal["investigating", "identified", "monitoring", "resolved"]
HumanKind = Literal["note", "decision", "link"]
ROLE_PATTERN = r"^[a-z][a-z0-9_-]{0,63}$"


def non_blank(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be empty")
    return value


def optional_non_blank(value: str | None) -> str | None:
    return None if value is None else non_blank(value)


def check_url(value: str | None) -> str | None:
    if value is not None and not value.startswith(("https://", "http://")):
        raise ValueError("must be an http:// or https:// URL")
    return value


class SeverityIn(BaseModel):
    rank: int = Field(ge=1, le=100, description="1 is the most severe")
    description: str = Field(default="", max_length=2000)
    update_reminder_minutes: int | None = Field(
        default=None, ge=1, le=1440, description="remind when no update was posted this long"
    )
    review_due_days: int | None = Field(
        default=None, ge=0, le=365, description="review due this many days after resolve"
    )


class SeverityOut(SeverityIn):
    model_config = ConfigDict(from_attributes=True)

    name: str


class IncidentCreate(BaseModel):
    title: str = Field(max_length=300)
    summary: str = Field(default="", max_length=20000)
    severity: str | None = Field(default=None, description="default: the least severe level")
    group_ids: list[int] = Field(default_factory=list, description="alert groups to link")
    team_id: int | None = Field(default=None, description="default: the first group's team")
    affected_services: list[str] = Field(default_factory=list, max_length=100)
    affected_team_ids: list[int] = Field(default_factory=list, max_length=100)
    labels: dict[str, str] = Field(default_factory=dict)
    commander_id: int | None = Field(default=None, description="default: whoever declares")

    _title = field_validator("title")(non_blank)


class IncidentUpdate(BaseModel):
    title: str | None = Field(default=None, max_length=300)
    summary: str | None = Field(default=None, max_length=20000)
    severity: str | None = None
    team_id: int | None = None
    affected_services: list[str] | None = Field(default=None, max_length=100)
    affected_team_ids: list[int] | None = Field(default=None, max_length=100)
    labels: dict[str, str] | None = None

    _title = field_validator("title")(optional_non_blank)


class StatusChange(BaseModel):
    status: Status
    message: str = Field(default="", max_length=10000, description="shown on the timeline")


class GroupLinks(BaseModel):
    group_ids: list[int] = Field(min_length=1, max_length=500)


class RoleAssign(BaseModel):
    user_id: int


class TimelineCreate(BaseModel):
    kind: HumanKind = "note"
    text: str = Field(max_length=20000)
    url: str | None = Field(default=None, max_length=2000, description="required for links")
    at: datetime | None = Field(default=None, description="when it happened (default: now)")
    pinned: bool = Field(default=False, description="a key moment, prefilled into the review")

    _text = field_validator("text")(non_blank)
    _url = field_validator("url")(check_url)

    @model_validator(mode="after")
    def _link_has_url(self) -> TimelineCreate:
        if self.kind == "link" and not self.url:
            raise ValueError("a link entry needs a url")
        return self


class TimelineEdit(BaseModel):
    text: str | None = Field(default=None, max_length=20000)
    at: datetime | None = None
    pinned: bool | None = None

    _text = field_validator("text")(optional_non_blank)


class StatusUpdateCreate(BaseModel):
    text: str = Field(max_length=20000)
    status: Status | None = Field(default=None, description="change the status at the same time")

    _text = field_validator("text")(non_blank)


class MetricsOut(BaseModel):
    started_at: datetime
    acknowledged_at: datetime | None
    mitigated_at: datetime | None
    resolved_at: datetime | None
    tta_seconds: int | None = Field(description="time to acknowledge")
    ttm_seconds: int | None = Field(description="time to mitigate (impact end)")
    ttr_seconds: int | None = Field(description="time to resolve")


class RoleOut(BaseModel):
    role: str
    label: str
    user_id: int
    user_name: str
    assigned_at: datetime


class ParticipantOut(BaseModel):
    user_id: int | None
    name: str
    roles: list[str]
    contributions: list[str]


class LinkedGroupOut(BaseModel):
    id: int
    title: str
    status: str
    severity: str
    created_at: datetime
    acknowledged_by: str | None
    linked_at: datetime


class IncidentOut(BaseModel):
    id: int
    title: str
    summary: str
    severity: str
    status: Status
    team_id: int | None
    team_name: str | None
    affected_services: list[str]
    affected_team_ids: list[int]
    labels: dict[str, str]
    source: str
    declared_by: str
    declared_at: datetime
    updated_at: datetime
    last_update_at: datetime | None
    group_ids: list[int]
    roles: list[RoleOut]
    metrics: MetricsOut


class IncidentDetail(IncidentOut):
    alert_groups: list[LinkedGroupOut]
    participants: list[ParticipantOut]
    subscriber_ids: list[int]


class TimelineEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    kind: str
    actor_type: str
    actor_id: int | None
    actor_name: str
    text: str
    details: dict[str, Any]
    pinned: bool
    history: list[dict[str, Any]]
