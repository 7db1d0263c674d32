"""Incident tables: severities, incidents, links, roles, timeline, reviews, action items."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from watchkeeper.db.base import Base
from watchkeeper.db.types import JSONType, UTCDateTime


class IncidentSeverity(Base):
    """A severity level; rank 1 is the most severe."""

    __tablename__ = "incident_severities"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    rank: Mapped[int] = mapped_column()
    description: Mapped[str] = mapped_column(Text, default="")
    # Minutes without a status update before a reminder; None = never remind.
    update_reminder_minutes: Mapped[int | None] = mapped_column()
    # Days after resolve the review is due; None = no review expected.
    review_due_days: Mapped[int | None] = mapped_column()


class Incident(Base):
    __tablename__ = "incidents"
    __table_args__ = (Index("ix_incidents_status_id", "status", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str] = mapped_column(Text, default="")
    severity: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    team_id: Mapped[int | None] = mapped_column(
        ForeignKey("teams.id", ondelete="SET NULL"), index=True
    )
    affected_services: Mapped[list[str]] = mapped_column(JSONType, default=list)
    affected_team_ids: Mapped[list[int]] = mapped_column(JSONType, default=list)
    labels: Mapped[dict[str, str]] = mapped_column(JSONType, default=dict)
    source: Mapped[str] = mapped_column(String(16), default="api")
    declared_by: Mapped[str] = mapped_column(String(320))
    declared_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Metrics, kept current by the service so the insights work can aggregate in SQL.
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    mitigated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    tta_seconds: Mapped[int | None] = mapped_column()
    ttm_seconds: Mapped[int | None] = mapped_column()
    ttr_seconds: Mapped[int | None] = mapped_column()
    # Status update reminders: the last written update and the last reminder.
    last_update_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    update_reminder_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class IncidentGroupLink(Base):
    """An alert group that belongs to an incident."""

    __tablename__ = "incident_alert_groups"

    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True
    )
    group_id: Mapped[int] = mapped_column(
        ForeignKey("alert_groups.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    linked_by: Mapped[str] = mapped_column(String(320))


class IncidentRole(Base):
    """Who holds a role (commander, communications or a custom one) now."""

    __tablename__ = "incident_roles"

    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime())


class IncidentSubscriber(Base):
    """A user who receives the incident's status updates."""

    __tablename__ = "incident_subscribers"

    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class TimelineEntry(Base):
    __tablename__ = "incident_timeline"
    __table_args__ = (
        Index("ix_incident_timeline_incident_at", "incident_id", "at"),
        # The outbox feed may see an event twice (it re-reads a recent window
        # so late commits are not skipped); this keeps one entry per event.
        UniqueConstraint("incident_id", "source_event_id", name="uq_incident_timeline_source"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(String(32))
    actor_type: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int | None] = mapped_column()
    actor_name: Mapped[str] = mapped_column(String(320))
    text: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    pinned: Mapped[bool] = mapped_column(default=False)
    # Earlier versions of text and time, oldest first: [{"at", "text", "edited_at", "by"}].
    history: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    source_event_id: Mapped[int | None] = mapped_column()


class Review(Base):
    """The blameless post-incident review; ``version`` guards concurrent edits."""

    __tablename__ = "incident_reviews"

    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(default=1)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    summary: Mapped[str] = mapped_column(Text, default="")
    customer_impact: Mapped[str] = mapped_column(Text, default="")
    impact_start: Mapped[datetime | None] = mapped_column(UTCDateTime())
    impact_end: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # None until someone edits it: until then the key moments prefill it.
    timeline: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONType)
    contributing_factors: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    what_went_well: Mapped[str] = mapped_column(Text, default="")
    where_we_got_lucky: Mapped[str] = mapped_column(Text, default="")
    what_could_be_improved: Mapped[str] = mapped_column(Text, default="")
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    reminder_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[str] = mapped_column(String(320), default="")


class ActionItem(Base):
    __tablename__ = "incident_action_items"
    __table_args__ = (Index("ix_incident_action_items_status_due", "status", "due_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(300))
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    priority: Mapped[str] = mapped_column(String(2))
    due_date: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="open")
    tracker_url: Mapped[str | None] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
