"""SLO definitions: the validated shape every accepted spec format is loaded into."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from watchkeeper.slo.burn import (
    PAGE_FACTORS,
    TICKET_FACTORS,
    BurnTier,
    error_budget,
    workbook_tiers,
)

CALENDAR_MONTH = "calendar_month"
# Prometheus rules cannot follow calendar months; they (and window scaling) use 30 days.
CALENDAR_MONTH_NOMINAL = timedelta(days=30)

# Sloth and OpenSLO write the placeholder as Go template text; both spellings are accepted.
WINDOW_PLACEHOLDER = re.compile(r"\{\{\s*\.window\s*\}\}")

_DURATION = re.compile(r"^(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_UNITS = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
_METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class SpecError(ValueError):
    """An SLO spec is invalid; the message names the file and the field."""

    def __init__(self, message: str, *, file: str | None = None, field: str | None = None):
        self.file = file
        self.field = field
        self.reason = message
        where = ": ".join(part for part in (file, field) if part)
        super().__init__(f"{where}: {message}" if where else message)


def parse_duration(text: str) -> timedelta:
    """Parse a Prometheus-style duration such as `5m`, `1h30m`, `28d` or `4w`."""
    match = _DURATION.match(text.strip())
    if not text.strip() or match is None:
        raise ValueError(f"{text!r} is not a duration (use e.g. 5m, 1h30m, 28d, 4w)")
    weeks, days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
    value = timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=seconds)
    if value <= timedelta(0):
        raise ValueError(f"duration {text!r} must be positive")
    return value


def format_duration(value: timedelta) -> str:
    """Format a whole-second duration the way Prometheus accepts it, e.g. `2d19h12m`."""
    remaining = round(value.total_seconds())
    if remaining <= 0:
        raise ValueError(f"cannot format non-positive duration {value}")
    parts = []
    for unit, size in _UNITS:
        count, remaining = divmod(remaining, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def _check_window_placeholder(query: str, field: str) -> str:
    if not WINDOW_PLACEHOLDER.search(query):
        raise ValueError(
            f"{field} has no {{{{.window}}}} placeholder; write the range window as "
            f"[{{{{.window}}}}], e.g. sum(rate(http_requests_total[{{{{.window}}}}]))"
        )
    return query


class RatioSli(BaseModel):
    """Events SLI: bad (or good) events over total events, as Prometheus queries."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    error_query: str | None = None
    good_query: str | None = None
    total_query: str

    @field_validator("error_query", "good_query", "total_query")
    @classmethod
    def _placeholder(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None:
            _check_window_placeholder(value, str(info.field_name))
        return value

    @model_validator(mode="after")
    def _one_numerator(self) -> Self:
        if (self.error_query is None) == (self.good_query is None):
            raise ValueError("give exactly one of error_query or good_query (with total_query)")
        return self


class LatencySli(BaseModel):
    """Latency SLI: requests faster than `threshold` seconds, read from a histogram."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    metric: str = Field(description="histogram base name, without _bucket/_count")
    threshold: float = Field(gt=0, description="seconds; must be one of the histogram's buckets")
    selector: str = Field(default="", description='label matchers, e.g. job="api",route="/pay"')
    le: str | None = Field(default=None, description="exact `le` label value if it differs")

    @field_validator("metric")
    @classmethod
    def _base_name(cls, value: str) -> str:
        if not _METRIC_NAME.match(value):
            raise ValueError(f"{value!r} is not a Prometheus metric name")
        for suffix in ("_bucket", "_count", "_sum"):
            if value.endswith(suffix):
                raise ValueError(f"give the histogram base name, without {suffix}")
        return value

    @field_validator("selector")
    @classmethod
    def _strip_braces(cls, value: str) -> str:
        return value.strip().removeprefix("{").removesuffix("}").strip()

    @property
    def bucket_matcher(self) -> str:
        """The `le` matcher; whole numbers match both Go (`1`) and Python/Prometheus 3 (`1.0`)."""
        if self.le is not None:
            return f'le="{self.le}"'
        if float(self.threshold).is_integer():
            whole = int(self.threshold)
            return f'le=~"{whole}|{whole}.0"'
        return f'le="{float(self.threshold)!r}"'


class Sli(BaseModel):
    """Exactly one kind of SLI."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ratio: RatioSli | None = None
    latency: LatencySli | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if (self.ratio is None) == (self.latency is None):
            raise ValueError("give exactly one of sli.ratio or sli.latency")
        return self


class TierSpec(BaseModel):
    """One explicit burn-rate alert: fires when both windows burn faster than `factor`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    route: Literal["page", "ticket"]
    factor: float = Field(gt=0)
    long: str
    short: str

    @field_validator("long", "short")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)
        return value


class AlertingSpec(BaseModel):
    """Burn-rate alerting policy; the defaults are the Google SRE Workbook's."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str | None = Field(default=None, description="alertname; derived from service and SLO")
    page_factors: tuple[float, float] = PAGE_FACTORS
    ticket_factors: tuple[float, float] = TICKET_FACTORS
    windows: tuple[TierSpec, ...] | None = Field(
        default=None, description="explicit tiers; replaces the scaled workbook windows"
    )
    page: bool = True
    ticket: bool = True
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    page_labels: dict[str, str] = Field(default_factory=dict)
    ticket_labels: dict[str, str] = Field(default_factory=dict)

    @field_validator("page_factors", "ticket_factors")
    @classmethod
    def _positive(cls, value: tuple[float, float]) -> tuple[float, float]:
        if min(value) <= 0:
            raise ValueError("burn-rate factors must be positive")
        return value

    @field_validator("name")
    @classmethod
    def _alertname(cls, value: str | None) -> str | None:
        if value is not None and not _METRIC_NAME.match(value):
            raise ValueError(f"{value!r} is not a valid alert name")
        return value


class SloSpec(BaseModel):
    """One service level objective, whatever format it was written in."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    service: str
    name: str
    objective: float = Field(description="percent of good events, strictly between 0 and 100")
    period: str = Field(default="30d", description="rolling `28d`/`30d`/… or `calendar_month`")
    sli: Sli
    description: str = ""
    team: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    alerting: AlertingSpec = Field(default_factory=AlertingSpec)

    @field_validator("service", "name")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not _SLUG.match(value):
            raise ValueError(f"{value!r} must start with a letter or digit and use [A-Za-z0-9_.-]")
        return value

    @field_validator("objective")
    @classmethod
    def _objective(cls, value: float) -> float:
        if not 0 < value < 100:
            raise ValueError(
                f"objective must be a percentage strictly between 0 and 100 (got {value}); "
                "write 99.9 for 99.9%"
            )
        return value

    @field_validator("period")
    @classmethod
    def _period(cls, value: str) -> str:
        if value == CALENDAR_MONTH:
            return value
        length = parse_duration(value)
        if length % timedelta(days=1):
            raise ValueError(
                f"period {value!r} must be whole days (e.g. 28d, 30d) or calendar_month"
            )
        return value

    @field_validator("labels")
    @classmethod
    def _label_names(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if not _LABEL_NAME.match(key):
                raise ValueError(f"{key!r} is not a valid Prometheus label name")
        return value

    @model_validator(mode="after")
    def _tiers_fit(self) -> Self:
        tiers = self.tiers
        longest = max((tier.long_window for tier in tiers), default=timedelta(0))
        if longest > self.period_length:
            raise ValueError(
                f"period {self.period} is shorter than the longest alert window "
                f"{format_duration(longest)}; use a longer period or shorter windows"
            )
        for tier in tiers:
            if tier.factor * self.error_budget >= 1:
                raise ValueError(
                    f"{tier.route} factor {tier.factor} × error budget {self.error_budget:.6g} "
                    "is ≥ 1, so that alert could never fire; lower the factor"
                )
        return self

    @property
    def key(self) -> str:
        return f"{self.service}/{self.name}"

    @property
    def period_length(self) -> timedelta:
        """The period as a duration; calendar months count as 30 days."""
        if self.period == CALENDAR_MONTH:
            return CALENDAR_MONTH_NOMINAL
        return parse_duration(self.period)

    @property
    def error_budget(self) -> float:
        return error_budget(self.objective)

    @property
    def tiers(self) -> tuple[BurnTier, ...]:
        """The burn-rate alert tiers this SLO alerts with (disabled routes left out)."""
        policy = self.alerting
        if policy.windows is not None:
            tiers = tuple(
                BurnTier(t.route, t.factor, parse_duration(t.long), parse_duration(t.short))
                for t in policy.windows
            )
        else:
            tiers = workbook_tiers(self.period_length, policy.page_factors, policy.ticket_factors)
        enabled = {"page": policy.page, "ticket": policy.ticket}
        return tuple(tier for tier in tiers if enabled[tier.route])

    @property
    def routing_team(self) -> str | None:
        """The owning team: `team`, else a `team` or `owner` label."""
        return self.team or self.labels.get("team") or self.labels.get("owner")
