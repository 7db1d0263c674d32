"""Request and response bodies of the integrations and alert group API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

IntegrationKind = Literal[
    "alertmanager", "prometheus", "grafana", "pagerduty", "webhook", "heartbeat"
]
GroupStatus = Literal["firing", "acknowledged", "resolved", "silenced"]


class Templates(BaseModel):
    """Sandboxed Jinja2 templates; leave a field out to use the kind's default."""

    title: str | None = Field(default=None, max_length=4000)
    message: str | None = Field(default=None, max_length=4000)
    grouping_key: str | None = Field(default=None, max_length=4000)
    resolve_condition: str | None = Field(default=None, max_length=4000)
    severity: str | None = Field(default=None, max_length=4000)
    source_link: str | None = Field(default=None, max_length=4000)


class IntegrationOptions(BaseModel):
    group_by: list[str] | None = Field(
        default=None, description="prometheus kind: label names that form the group key"
    )
    resolve_timeout_minutes: int | None = Field(
        default=None,
        ge=0,
        le=10080,
        description=(
            "prometheus kind: an alert sent without endsAt resolves after this many minutes "
            "unless re-sent, as Alertmanager's resolve_timeout (default 5; 0: never)"
        ),
    )
    reopen_within_minutes: int | None = Field(
        default=None, ge=1, le=10080, description="reopen a resolved group on a new alert"
    )
    auto_resolve_minutes: int | None = Field(
        default=None, ge=1, le=43200, description="resolve a group after N minutes of quiet"
    )


class IntegrationCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    kind: IntegrationKind
    team_id: int | None = None
    templates: Templates = Field(default_factory=Templates)
    options: IntegrationOptions = Field(default_factory=IntegrationOptions)
    maintenance: bool = False
    rate_limit_per_minute: int | None = Field(default=None, ge=1, le=1_000_000)
    heartbeat_interval_seconds: int | None = Field(default=None, ge=10, le=7 * 24 * 3600)


class IntegrationUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    team_id: int | None = None
    templates: Templates | None = None
    options: IntegrationOptions | None = None
    maintenance: bool | None = None
    rate_limit_per_minute: int | None = Field(default=None, ge=1, le=1_000_000)
    heartbeat_interval_seconds: int | None = Field(default=None, ge=10, le=7 * 24 * 3600)


class IntegrationOut(BaseModel):
    id: int
    name: str
    kind: str
    team_id: int | None
    token: str
    ingest_url: str
    templates: dict[str, Any]
    options: dict[str, Any]
    maintenance: bool
    rate_limit_per_minute: int | None
    heartbeat_interval_seconds: int | None
    last_heartbeat_at: datetime | None
    template_errors: list[dict[str, Any]]
    created_at: datetime


class LinkOut(BaseModel):
    title: str
    url: str


class AlertOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    fingerprint: str
    status: str
    title: str
    message: str
    severity: str
    labels: dict[str, str]
    annotations: dict[str, str]
    source_url: str | None
    links: list[LinkOut]
    starts_at: datetime | None
    ends_at: datetime | None
    first_seen_at: datetime
    last_seen_at: datetime
    resolved_at: datetime | None
    repeat_count: int


class GroupEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    kind: str
    actor_type: str
    actor_name: str
    details: dict[str, Any]


class AlertGroupOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    status: GroupStatus
    title: str
    message: str
    severity: str
    integration_id: int
    team_id: int | None
    group_key: str
    alerts_count: int
    firing_count: int
    labels: dict[str, str]
    source_url: str | None
    links: list[LinkOut]
    maintenance: bool
    created_at: datetime
    updated_at: datetime
    last_alert_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    silenced_until: datetime | None
    merged_into_id: int | None


class AlertGroupDetail(AlertGroupOut):
    alerts: list[AlertOut]
    timeline: list[GroupEventOut]


class AlertGroupPage(BaseModel):
    items: list[AlertGroupOut]
    next_cursor: str | None


class SilenceBody(BaseModel):
    minutes: int | None = Field(default=None, ge=1, le=525600, description="silence duration")
    until: datetime | None = Field(default=None, description="or an absolute end time")


class MergeBody(BaseModel):
    into_id: int = Field(description="the group that absorbs this one")
