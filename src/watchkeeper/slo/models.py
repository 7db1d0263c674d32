"""SLO tables: definitions, their latest evaluation, evaluation history, alert integrations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from watchkeeper.db.base import Base
from watchkeeper.db.types import JSONType, UTCDateTime
from watchkeeper.identity.models import Team


class Slo(Base):
    """One SLO definition owned by a team; `spec` is the validated spec minus its team."""

    __tablename__ = "slos"
    __table_args__ = (UniqueConstraint("service", "name", name="uq_slos_service_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    service: Mapped[str] = mapped_column(String(200), index=True)
    name: Mapped[str] = mapped_column(String(200))
    spec: Mapped[dict[str, Any]] = mapped_column(JSONType)
    native_evaluation: Mapped[bool] = mapped_column(default=False, index=True)
    prometheus_url: Mapped[str | None] = mapped_column(String(2000))
    # Credentials are never returned by the API; only which kind is set.
    prometheus_bearer_token: Mapped[str | None] = mapped_column(String(2000))
    prometheus_basic_auth: Mapped[str | None] = mapped_column(String(2000))
    no_data_alert: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    team: Mapped[Team] = relationship(lazy="joined")
    status: Mapped[SloStatusRow | None] = relationship(
        back_populates="slo", cascade="all, delete-orphan", passive_deletes=True
    )


class SloStatusRow(Base):
    """The latest native evaluation of one SLO, and which of its alerts are open."""

    __tablename__ = "slo_status"

    slo_id: Mapped[int] = mapped_column(ForeignKey("slos.id", ondelete="CASCADE"), primary_key=True)
    evaluated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    period_start: Mapped[datetime | None] = mapped_column(UTCDateTime())
    error_ratio: Mapped[float | None] = mapped_column()
    sli: Mapped[float | None] = mapped_column()
    budget_remaining: Mapped[float | None] = mapped_column()
    budget_remaining_seconds: Mapped[float | None] = mapped_column()
    burn_rates: Mapped[dict[str, float | None]] = mapped_column(JSONType, default=dict)
    firing: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    # Fingerprint suffixes ("page", "ticket", "nodata") of alerts this SLO has open.
    open_alerts: Mapped[list[str]] = mapped_column(JSONType, default=list)
    error: Mapped[str | None] = mapped_column(Text)
    error_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    slo: Mapped[Slo] = relationship(back_populates="status")


class SloHistoryPoint(Base):
    """One evaluation kept for charts; thinned to a bounded number per period."""

    __tablename__ = "slo_history"
    __table_args__ = (Index("ix_slo_history_slo_id_at", "slo_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slo_id: Mapped[int] = mapped_column(ForeignKey("slos.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    error_ratio: Mapped[float | None] = mapped_column()
    sli: Mapped[float | None] = mapped_column()
    budget_remaining: Mapped[float | None] = mapped_column()
    burn_rates: Mapped[dict[str, float | None]] = mapped_column(JSONType, default=dict)


class SloAlertIntegration(Base):
    """The internal integration a team's SLO burn alerts enter the alert pipeline through."""

    __tablename__ = "slo_alert_integrations"

    team_id: Mapped[int] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True
    )
    integration_id: Mapped[int] = mapped_column(
        ForeignKey("integrations.id", ondelete="CASCADE"), unique=True
    )
