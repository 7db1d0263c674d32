"""Request and response bodies of the SLO API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from watchkeeper.slo.burn import Route
from watchkeeper.slo.prometheus import FiringTier
from watchkeeper.slo.spec import AlertingSpec, Sli

AuthKind = Literal["bearer", "basic"]


class EvaluationIn(BaseModel):
    """Native evaluation: Watchkeeper queries Prometheus itself and raises burn alerts."""

    enabled: bool = Field(default=False, description="evaluate this SLO every interval")
    prometheus_url: str | None = Field(
        default=None,
        max_length=2000,
        description="Prometheus base URL; default: the WATCHKEEPER_PROMETHEUS_URL setting",
    )
    bearer_token: str | None = Field(default=None, max_length=2000, repr=False)
    basic_auth: str | None = Field(
        default=None, max_length=2000, repr=False, description="USER:PASSWORD"
    )
    no_data_alert: bool = Field(
        default=False,
        description="raise a warning (ticket) alert while Prometheus fails or the SLI has no data",
    )


class EvaluationUpdate(BaseModel):
    """Fields left out keep their value; an empty string clears a URL or credential."""

    enabled: bool | None = None
    prometheus_url: str | None = Field(default=None, max_length=2000)
    bearer_token: str | None = Field(default=None, max_length=2000, repr=False)
    basic_auth: str | None = Field(default=None, max_length=2000, repr=False)
    no_data_alert: bool | None = None


class EvaluationOut(BaseModel):
    enabled: bool
    prometheus_url: str | None
    auth: AuthKind | None = Field(description="which credential is set; secrets are never shown")
    no_data_alert: bool


class SloFields(BaseModel):
    """The Watchkeeper spec fields of one SLO (see docs/slo.md); the team is `team_id`."""

    service: str = Field(min_length=1, max_length=200)
    name: str = Field(min_length=1, max_length=200)
    objective: float = Field(description="percent of good events, strictly between 0 and 100")
    period: str = Field(default="30d", description="`28d`, `30d`, `4w`, … or `calendar_month`")
    sli: Sli
    description: str = Field(default="", max_length=5000)
    labels: dict[str, str] = Field(default_factory=dict)
    alerting: AlertingSpec = Field(default_factory=AlertingSpec)


class SloCreate(SloFields):
    team_id: int = Field(description="the owning team; its name becomes the `team` alert label")
    evaluation: EvaluationIn = Field(default_factory=EvaluationIn)


class SloUpdate(BaseModel):
    """Change some fields; the result is validated as a whole spec again."""

    team_id: int | None = None
    service: str | None = Field(default=None, min_length=1, max_length=200)
    name: str | None = Field(default=None, min_length=1, max_length=200)
    objective: float | None = None
    period: str | None = None
    sli: Sli | None = None
    description: str | None = Field(default=None, max_length=5000)
    labels: dict[str, str] | None = None
    alerting: AlertingSpec | None = None
    evaluation: EvaluationUpdate | None = None


class TierOut(BaseModel):
    route: Route
    factor: float
    long_window: str
    short_window: str
    budget_consumed: float = Field(description="share of the period's budget spent when it fires")


class SloOut(BaseModel):
    id: int
    team_id: int
    team: str
    service: str
    name: str
    objective: float
    period: str
    description: str
    labels: dict[str, str]
    sli: dict[str, Any]
    alerting: dict[str, Any]
    alert_name: str
    tiers: list[TierOut]
    evaluation: EvaluationOut
    created_at: datetime
    updated_at: datetime


class ImportResult(BaseModel):
    items: list[SloOut]
    created: list[int]
    updated: list[int]


class BudgetConsumer(BaseModel):
    """An alert group of this SLO's service, and the budget spent while it fired."""

    group_id: int
    title: str
    status: str
    integration_id: int
    started_at: datetime
    ended_at: datetime | None
    budget_consumed: float | None = Field(
        description="fraction of the period's budget; approximate, see docs/slo.md"
    )


class SloStatusOut(BaseModel):
    slo_id: int
    service: str
    name: str
    objective: float
    period: str
    native_evaluation: bool
    evaluated_at: datetime | None
    period_start: datetime | None
    sli: float | None = Field(description="percent of good events over the period so far")
    error_ratio: float | None
    budget_remaining: float | None = Field(description="fraction; negative once overspent")
    budget_remaining_seconds: float | None = Field(
        description="seconds of full outage still affordable this period"
    )
    budget_remaining_time: str | None = Field(description="the same as a duration, e.g. 31m6s")
    burn_rates: dict[str, float | None]
    firing: list[FiringTier]
    open_alerts: list[str]
    error: str | None = Field(description="why the last evaluation failed; null after a success")
    error_at: datetime | None
    last_success_at: datetime | None
    budget_consumers: list[BudgetConsumer]


class HistoryPointOut(BaseModel):
    at: datetime
    sli: float | None
    error_ratio: float | None
    budget_remaining: float | None
    burn_rates: dict[str, float | None]


class HistoryOut(BaseModel):
    items: list[HistoryPointOut]


class PrometheusHistoryIn(BaseModel):
    """SLI history from Prometheus range queries; `{{.window}}` becomes `step`."""

    slo_id: int | None = Field(default=None, description="take queries and Prometheus from it")
    prometheus_url: str | None = Field(default=None, max_length=2000)
    total_query: str | None = None
    error_query: str | None = None
    good_query: str | None = None
    days: float = Field(default=30, gt=0, le=400)
    end: datetime | None = Field(default=None, description="default: now")
    step: str = "5m"


class LearnRequest(BaseModel):
    """Give `csv` (timestamp,good,total rows with a header) or `prometheus`."""

    csv: str | None = Field(default=None, max_length=20_000_000)
    prometheus: PrometheusHistoryIn | None = None
    period: str = "30d"
    targets: list[float] | None = Field(default=None, min_length=1, max_length=20)
    confidence: float = Field(default=0.9, gt=0, lt=1)
    samples: int = Field(default=2000, ge=100, le=20_000)
    block_days: int = Field(default=1, ge=1, le=30)
    seed: int = 0
    max_pages: float = Field(default=2.0, ge=0)
