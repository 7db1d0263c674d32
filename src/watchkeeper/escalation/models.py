"""Escalation tables: chains, routes, and the durable state of running escalations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from watchkeeper.db.base import Base
from watchkeeper.db.types import JSONType, UTCDateTime


class EscalationChain(Base):
    __tablename__ = "escalation_chains"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    team_id: Mapped[int | None] = mapped_column(
        ForeignKey("teams.id", ondelete="SET NULL"), index=True
    )
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    ack_timeout_minutes: Mapped[int | None] = mapped_column()
    # Round robin continues across alert groups: the next escalation starts here.
    round_robin_offset: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Route(Base):
    """One ordered route of an integration: a match, then where alerts go."""

    __tablename__ = "routes"

    id: Mapped[int] = mapped_column(primary_key=True)
    integration_id: Mapped[int] = mapped_column(
        ForeignKey("integrations.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(default=0)
    name: Mapped[str] = mapped_column(String(200), default="")
    matchers: Mapped[str] = mapped_column(Text, default="")
    condition_template: Mapped[str | None] = mapped_column(Text)
    escalation_chain_id: Mapped[int | None] = mapped_column(
        ForeignKey("escalation_chains.id", ondelete="SET NULL"), index=True
    )
    chat_destination_ids: Mapped[list[int]] = mapped_column(JSONType, default=list)
    is_default: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Escalation(Base):
    """A running (or finished) escalation of one alert group, driven by durable timers."""

    __tablename__ = "escalations"
    __table_args__ = (Index("ix_escalations_due", "status", "wake_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(
        ForeignKey("alert_groups.id", ondelete="CASCADE"), unique=True
    )
    chain_id: Mapped[int | None] = mapped_column()
    route_id: Mapped[int | None] = mapped_column()
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSONType)
    state: Mapped[dict[str, Any]] = mapped_column(JSONType)
    # active: waiting for wake_at; paused: acknowledged or silenced; finished.
    status: Mapped[str] = mapped_column(String(16))
    wake_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ack_timeout_minutes: Mapped[int | None] = mapped_column()
    finished_reason: Mapped[str | None] = mapped_column(String(200))
    nobody_notified: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
