"""Schedule tables: schedules, layers, rotations, overrides, swaps, calendars, feed tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from watchkeeper.db.base import Base
from watchkeeper.db.types import JSONType, UTCDateTime

CALENDAR_KINDS = ("primary", "overrides")
SWAP_STATUSES = ("open", "taken", "cancelled")


class Schedule(Base):
    __tablename__ = "schedules"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    team_id: Mapped[int | None] = mapped_column(
        ForeignKey("teams.id", ondelete="SET NULL"), index=True
    )
    # Secret part of the public iCal export URL (/ical/schedules/<token>.ics).
    ical_token: Mapped[str] = mapped_column(String(64), unique=True)
    # Bumped (in SQL, so concurrent writers never reuse a value) on every change
    # to the schedule or anything in it; the in-process definition cache keys on it.
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    layers: Mapped[list[ScheduleLayer]] = relationship(
        back_populates="schedule",
        cascade="all, delete-orphan",
        order_by="ScheduleLayer.position, ScheduleLayer.id",
    )
    calendars: Mapped[list[ScheduleCalendar]] = relationship(
        back_populates="schedule", cascade="all, delete-orphan"
    )


class ScheduleLayer(Base):
    __tablename__ = "schedule_layers"

    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[int] = mapped_column(
        ForeignKey("schedules.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200), default="")
    # Higher positions win where layers overlap.
    position: Mapped[int] = mapped_column(default=0)

    schedule: Mapped[Schedule] = relationship(back_populates="layers")
    rotations: Mapped[list[ScheduleRotation]] = relationship(
        back_populates="layer", cascade="all, delete-orphan", order_by="ScheduleRotation.id"
    )


class ScheduleRotation(Base):
    __tablename__ = "schedule_rotations"

    id: Mapped[int] = mapped_column(primary_key=True)
    layer_id: Mapped[int] = mapped_column(
        ForeignKey("schedule_layers.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200), default="")
    # User ids in turn order; repeats are meaningful ([a, b, a, c]).
    user_ids: Mapped[list[int]] = mapped_column(JSONType, default=list)
    start: Mapped[datetime] = mapped_column(UTCDateTime())
    shift_count: Mapped[int] = mapped_column(default=1)
    shift_unit: Mapped[str] = mapped_column(String(8), default="weeks")
    handoff_time: Mapped[str | None] = mapped_column(String(8))  # "HH:MM" local
    # [{"weekdays": [0..6], "start": "HH:MM", "end": "HH:MM"}]
    restrictions: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    end: Mapped[datetime | None] = mapped_column(UTCDateTime())

    layer: Mapped[ScheduleLayer] = relationship(back_populates="rotations")


class ScheduleOverride(Base):
    __tablename__ = "schedule_overrides"
    __table_args__ = (Index("ix_schedule_overrides_span", "schedule_id", "end"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("schedules.id", ondelete="CASCADE"))
    start: Mapped[datetime] = mapped_column(UTCDateTime())
    end: Mapped[datetime] = mapped_column(UTCDateTime())
    # Empty means "nobody": the time is a deliberate gap.
    user_ids: Mapped[list[int]] = mapped_column(JSONType, default=list)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SwapRequest(Base):
    __tablename__ = "schedule_swaps"

    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[int] = mapped_column(
        ForeignKey("schedules.id", ondelete="CASCADE"), index=True
    )
    requester_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    start: Mapped[datetime] = mapped_column(UTCDateTime())
    end: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    taker_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    override_ids: Mapped[list[int]] = mapped_column(JSONType, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ScheduleCalendar(Base):
    """An iCal source of a schedule: its primary shifts or its overrides.

    ``source`` is ``upload`` (the text was PUT) or ``url`` (polled). ``content``
    is the last good copy; a failing poll keeps it and fills ``last_error``.
    """

    __tablename__ = "schedule_calendars"
    __table_args__ = (UniqueConstraint("schedule_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("schedules.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # primary | overrides
    source: Mapped[str] = mapped_column(String(8), default="upload")  # upload | url
    url: Mapped[str | None] = mapped_column(Text)
    poll_interval_seconds: Mapped[int] = mapped_column(default=300)
    etag: Mapped[str | None] = mapped_column(String(500))
    last_modified: Mapped[str | None] = mapped_column(String(100))
    content: Mapped[str | None] = mapped_column(Text)
    content_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    next_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    last_polled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # [{"name", "count", "examples": [...]}] from the last import of ``content``.
    unknown_names: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    events_without_users: Mapped[int] = mapped_column(default=0)

    schedule: Mapped[Schedule] = relationship(back_populates="calendars")


class UserFeedToken(Base):
    """The secret of a user's "my shifts" iCal feed (/ical/users/<token>.ics)."""

    __tablename__ = "schedule_user_feeds"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    token: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ScheduleNotice(Base):
    """Keys of schedule notifications already written to the outbox (sent once)."""

    __tablename__ = "schedule_notices"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 hex
    topic: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
