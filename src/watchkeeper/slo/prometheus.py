"""A small client for the Prometheus HTTP API and live SLO evaluation on top of it."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Self

import httpx
from pydantic import BaseModel

from watchkeeper.slo import burn
from watchkeeper.slo.rules import error_ratio_expr
from watchkeeper.slo.spec import CALENDAR_MONTH, SloSpec, format_duration


class PrometheusError(Exception):
    """Prometheus could not answer a query."""


class PrometheusUnavailable(PrometheusError):
    """Prometheus could not be reached or answered with a server error."""


class PrometheusQueryError(PrometheusError):
    """Prometheus rejected a query or returned something unusable."""


@dataclass(frozen=True)
class Sample:
    """One series of an instant-query result."""

    labels: dict[str, str]
    value: float


@dataclass(frozen=True)
class RangeSeries:
    """One series of a range-query result, as (unix seconds, value) points."""

    labels: dict[str, str]
    points: list[tuple[float, float]]


class PrometheusClient:
    """Blocking client for `/api/v1/query` and `/api/v1/query_range`."""

    def __init__(
        self,
        base_url: str,
        *,
        bearer_token: str | None = None,
        basic_auth: tuple[str, str] | None = None,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if bearer_token and basic_auth:
            raise ValueError("give a bearer token or basic auth, not both")
        headers = {"Authorization": f"Bearer {bearer_token}"} if bearer_token else {}
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.base_url,
            headers=headers,
            auth=httpx.BasicAuth(*basic_auth) if basic_auth else None,
            timeout=timeout,
            transport=transport,
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def query(self, expr: str, at: datetime) -> list[Sample]:
        """Evaluate `expr` at `at`; a scalar result comes back as one label-less sample."""
        data = self._get("/api/v1/query", {"query": expr, "time": _unix(at)})
        kind, result = data.get("resultType"), data.get("result")
        if kind == "scalar" and isinstance(result, list):
            return [Sample({}, _float(result[1]))]
        if kind != "vector" or not isinstance(result, list):
            raise PrometheusQueryError(f"expected an instant vector, got {kind}")
        return [Sample(dict(item.get("metric", {})), _float(item["value"][1])) for item in result]

    def query_range(
        self, expr: str, start: datetime, end: datetime, step: timedelta
    ) -> list[RangeSeries]:
        """Evaluate `expr` every `step` from `start` to `end`."""
        params = {
            "query": expr,
            "start": _unix(start),
            "end": _unix(end),
            "step": f"{step.total_seconds():g}",
        }
        data = self._get("/api/v1/query_range", params)
        if data.get("resultType") != "matrix" or not isinstance(data.get("result"), list):
            raise PrometheusQueryError(f"expected a range vector, got {data.get('resultType')}")
        return [
            RangeSeries(
                dict(item.get("metric", {})),
                [(float(t), _float(v)) for t, v in item.get("values", [])],
            )
            for item in data["result"]
        ]

    def _get(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        url = f"{self.base_url}{path}"
        try:
            response = self._http.get(path, params=params)
        except httpx.TransportError as exc:
            raise PrometheusUnavailable(f"cannot reach Prometheus at {url}: {exc}") from exc
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and body.get("status") == "error":
            raise PrometheusQueryError(
                f"Prometheus rejected the query ({body.get('errorType', 'error')}): "
                f"{body.get('error', '')}"
            )
        if response.status_code in (401, 403):
            raise PrometheusUnavailable(
                f"Prometheus at {url} refused the credentials (HTTP {response.status_code})"
            )
        if response.status_code >= 400 or not isinstance(body, dict):
            raise PrometheusUnavailable(
                f"Prometheus at {url} answered HTTP {response.status_code}: {response.text[:200]}"
            )
        data = body.get("data")
        if body.get("status") != "success" or not isinstance(data, dict):
            raise PrometheusQueryError(f"unexpected answer from {url}: {response.text[:200]}")
        return data


class FiringTier(BaseModel):
    """A burn-rate tier whose alert condition holds."""

    route: burn.Route
    factor: float
    long_window: str
    short_window: str


class SloStatus(BaseModel):
    """Where one SLO stands at `evaluated_at`. Ratio fields are None without traffic."""

    service: str
    slo: str
    objective: float
    period: str
    period_start: datetime
    evaluated_at: datetime
    error_ratio: float | None
    sli: float | None
    budget_remaining: float | None
    budget_remaining_time: timedelta | None
    burn_rates: dict[str, float | None]
    firing: list[FiringTier]

    @property
    def exhausted(self) -> bool:
        return self.budget_remaining is not None and self.budget_remaining <= 0

    @property
    def routes(self) -> set[burn.Route]:
        return {tier.route for tier in self.firing}


def period_start(spec: SloSpec, now: datetime) -> datetime:
    """Start of the SLO period that contains `now` (rolling, or the calendar month in UTC)."""
    if spec.period == CALENDAR_MONTH:
        return now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return now - spec.period_length


def evaluate(
    spec: SloSpec,
    client: PrometheusClient,
    now: datetime,
    *,
    extra_windows: Iterable[timedelta] = (),
) -> SloStatus:
    """Query Prometheus for the SLO's error ratios and work out budget, burn and alerts.

    Burn rates are reported for every window the alert tiers read plus `extra_windows`.
    """
    start = period_start(spec, now)
    # A range window under a minute holds too few scrapes to mean anything.
    elapsed = max(timedelta(seconds=round((now - start).total_seconds())), burn.MIN_WINDOW)
    period_ratio = _ratio(spec, client, elapsed, now)
    windows = sorted({*burn.required_windows(spec.tiers), *extra_windows})
    ratios = {w: _ratio(spec, client, w, now) for w in windows}
    remaining = (
        None if period_ratio is None else burn.budget_remaining(period_ratio, spec.objective)
    )
    downtime = (
        None
        if period_ratio is None
        else burn.remaining_downtime(period_ratio, spec.objective, spec.period_length)
    )
    return SloStatus(
        service=spec.service,
        slo=spec.name,
        objective=spec.objective,
        period=spec.period,
        period_start=start,
        evaluated_at=now,
        error_ratio=period_ratio,
        sli=None if period_ratio is None else 100 * (1 - period_ratio),
        budget_remaining=remaining,
        budget_remaining_time=downtime,
        burn_rates={
            format_duration(w): None if r is None else burn.burn_rate(r, spec.objective)
            for w, r in ratios.items()
        },
        firing=[
            FiringTier(
                route=t.route,
                factor=t.factor,
                long_window=format_duration(t.long_window),
                short_window=format_duration(t.short_window),
            )
            for t in burn.firing_tiers(ratios, spec.tiers, spec.objective)
        ],
    )


def _ratio(
    spec: SloSpec, client: PrometheusClient, window: timedelta, now: datetime
) -> float | None:
    samples = client.query(error_ratio_expr(spec.sli, window), now)
    if len(samples) > 1:
        raise PrometheusQueryError(
            f"the SLI of {spec.key} returned {len(samples)} series over {format_duration(window)}; "
            "its queries must aggregate to one series (wrap them in sum(...))"
        )
    if not samples or math.isnan(samples[0].value):
        return None
    return samples[0].value


def _unix(at: datetime) -> str:
    if at.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return f"{at.timestamp():.3f}"


def _float(value: Any) -> float:
    # Prometheus encodes sample values as strings, including "NaN" and "+Inf".
    return float(value)
