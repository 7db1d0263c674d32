"""Alert tables: integrations, raw payloads, alert groups, alerts, timeline, outbox."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from watchkeeper.db.base import Base
from watchkeeper.db.types import JSONType, UTCDateTime


class Integration(Base):
    __tablename__ = "integrations"

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int | None] = mapped_column(
        ForeignKey("teams.id", ondelete="SET NULL"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    token: Mapped[str] = mapped_column(String(64), unique=True)
    templates: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    options: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    maintenance: Mapped[bool] = mapped_column(default=False)
    rate_limit_per_minute: Mapped[int | None] = mapped_column()
    template_errors: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    heartbeat_interval_seconds: Mapped[int | None] = mapped_column()
    last_heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    heartbeat_expired: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RawPayload(Base):
    """Exactly what a sender posted, kept for debugging and template previews."""

    __tablename__ = "raw_payloads"

    id: Mapped[int] = mapped_column(primary_key=True)
    # No foreign key (0014), as on alert_groups.integration_id: the integration
    # deletes its payloads itself (integrations.delete_integration).
    integration_id: Mapped[int] = mapped_column(index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    body: Mapped[str] = mapped_column(Text)


# The rows ix_alert_groups_merged_into_id holds.
MERGED = "merged_into_id IS NOT NULL"


class AlertGroup(Base):
    __tablename__ = "alert_groups"
    __table_args__ = (
        # open_key is the group key while the group is open and NULL once it is
        # resolved or merged: the unique index then allows one open group per key
        # and any number of closed ones, on SQLite and PostgreSQL alike.
        UniqueConstraint("integration_id", "open_key", name="uq_alert_groups_open_key"),
        Index("ix_alert_groups_status_id", "status", "id"),
        # Deleting a group checks the groups merged into it (the foreign key below).
        # Unindexed, that check was a scan of every group per deleted row: pruning
        # 5,000 groups took 10 minutes at 400,000. Few groups are ever merged.
        Index(
            "ix_alert_groups_merged_into_id",
            "merged_into_id",
            postgresql_where=text(MERGED),
            sqlite_where=text(MERGED),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Indexed by uq_alert_groups_open_key, which leads with it (see 0008). No
    # foreign key (0014): checking it locked the integration's row in every
    # ingest transaction, and concurrent ones sharing that lock made PostgreSQL
    # create a MultiXact for each. integrations.delete_integration deletes the
    # groups; a group stored by a request in flight meanwhile is deleted by the
    # next housekeeping.prune.
    integration_id: Mapped[int] = mapped_column()
    team_id: Mapped[int | None] = mapped_column(index=True)
    group_key: Mapped[str] = mapped_column(String(255))
    open_key: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(500))
    message: Mapped[str] = mapped_column(Text, default="")
    severity: Mapped[str] = mapped_column(String(16))
    labels: Mapped[dict[str, str]] = mapped_column(JSONType, default=dict)
    source_url: Mapped[str | None] = mapped_column(String(2000))
    links: Mapped[list[dict[str, str]]] = mapped_column(JSONType, default=list)
    alerts_count: Mapped[int] = mapped_column(default=0)
    firing_count: Mapped[int] = mapped_column(default=0)
    maintenance: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_alert_at: Mapped[datetime] = mapped_column(UTCDateTime())
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acknowledged_by: Mapped[str | None] = mapped_column(String(320))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    resolved_by: Mapped[str | None] = mapped_column(String(320))
    silenced_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    merged_into_id: Mapped[int | None] = mapped_column(
        ForeignKey("alert_groups.id", ondelete="SET NULL")
    )


@dataclass(frozen=True, slots=True)
class GroupRow:
    """An alert group's values as the engine reads them: a plain row, no ORM state.

    An engine pass reads thousands of groups to start or step their
    escalations and changes none of them through the object; building ORM
    instances for them cost more than the steps themselves. Field names and
    types are AlertGroup's columns.
    """

    id: int
    integration_id: int
    team_id: int | None
    group_key: str
    open_key: str | None
    status: str
    title: str
    message: str
    severity: str
    labels: dict[str, str]
    source_url: str | None
    links: list[dict[str, str]]
    alerts_count: int
    firing_count: int
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

    @classmethod
    def of(cls, group: AlertGroup) -> GroupRow:
        return cls(*(getattr(group, name) for name in GROUP_ROW_FIELDS))


GROUP_ROW_FIELDS = tuple(f.name for f in fields(GroupRow))


# The rows ix_alerts_firing_ends_at holds; a query uses it only if its WHERE says as much.
FIRING_WITH_ENDS_AT = "status = 'firing' AND ends_at IS NOT NULL"
# The rows uq_alerts_open_fingerprint holds; "open_fingerprint = x" or "IN (…)" implies it.
OPEN_ALERT = "open_fingerprint IS NOT NULL"


class Alert(Base):
    __tablename__ = "alerts"
    __table_args__ = (
        # One row per alert identity while it fires; NULL once resolved so the
        # same fingerprint can fire again later as a new row. Partial: only
        # open alerts are in it, so it grows with what fires now, not with the
        # history kept (one dead entry per resolved alert before 0012).
        Index(
            "uq_alerts_open_fingerprint",
            "integration_id",
            "open_fingerprint",
            unique=True,
            postgresql_where=text(OPEN_ALERT),
            sqlite_where=text(OPEN_ALERT),
        ),
        # The endsAt sweep (housekeeping.expire_alerts, every 5 s) reads firing
        # alerts whose endsAt passed. Indexing only those keeps it an index probe:
        # over every alert's endsAt, resolved ones included, it became a scan of
        # the whole history (62 ms at 500,000 alerts on PostgreSQL), and alerts
        # without an endsAt (PagerDuty, webhooks) cost an index entry each.
        Index(
            "ix_alerts_firing_ends_at",
            "ends_at",
            postgresql_where=text(FIRING_WITH_ENDS_AT),
            sqlite_where=text(FIRING_WITH_ENDS_AT),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # No foreign keys on the two columns below: checking them was the largest
    # single cost of an ingested alert on PostgreSQL (0007, 0011). Only the
    # ingest paths insert alerts, into groups found open or created in the same
    # transaction (a merge moves them to a group it holds locked), and the two
    # places that delete groups delete their alerts first (housekeeping.prune,
    # integrations.delete_integration), alerts merged in from elsewhere too.
    group_id: Mapped[int] = mapped_column(index=True)
    integration_id: Mapped[int] = mapped_column()
    fingerprint: Mapped[str] = mapped_column(String(255))
    open_fingerprint: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(500))
    message: Mapped[str] = mapped_column(Text, default="")
    severity: Mapped[str] = mapped_column(String(16))
    labels: Mapped[dict[str, str]] = mapped_column(JSONType, default=dict)
    annotations: Mapped[dict[str, str]] = mapped_column(JSONType, default=dict)
    source_url: Mapped[str | None] = mapped_column(String(2000))
    links: Mapped[list[dict[str, str]]] = mapped_column(JSONType, default=list)
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    repeat_count: Mapped[int] = mapped_column(default=0)
    payload_id: Mapped[int | None] = mapped_column()


class GroupEvent(Base):
    """A timeline entry of an alert group, with its actor."""

    __tablename__ = "alert_group_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(
        ForeignKey("alert_groups.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(String(32))
    actor_type: Mapped[str] = mapped_column(String(16))
    actor_name: Mapped[str] = mapped_column(String(320))
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class OutboxEvent(Base):
    """Domain events written with the change that caused them, for later consumers."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    topic: Mapped[str] = mapped_column(String(64), index=True)
    group_id: Mapped[int | None] = mapped_column(index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class OutboxCursor(Base):
    """How far each consumer has read the outbox."""

    __tablename__ = "outbox_cursors"

    consumer: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_id: Mapped[int] = mapped_column(default=0)
