"""The learner behind `POST /api/v1/slos/learn`: SLI history from CSV text or Prometheus."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import ValidationError
from sqlalchemy.orm import Session

from watchkeeper.errors import Invalid, Unavailable
from watchkeeper.notify.netguard import UnsafeUrl
from watchkeeper.settings import Settings
from watchkeeper.slo.connect import NoPrometheus, PrometheusTarget, open_client, resolve_target
from watchkeeper.slo.history import HistoryError, SliHistory, fetch_history, parse_history_csv
from watchkeeper.slo.learner import DEFAULT_TARGETS, LearnerReport, LearnerSettings, learn
from watchkeeper.slo.prometheus import PrometheusError, PrometheusUnavailable
from watchkeeper.slo.schemas import LearnRequest, PrometheusHistoryIn
from watchkeeper.slo.service import get_slo, spec_of
from watchkeeper.slo.spec import (
    CALENDAR_MONTH,
    CALENDAR_MONTH_NOMINAL,
    RatioSli,
    Sli,
    parse_duration,
)

# Range queries beyond this many points per series are refused: use a larger step.
MAX_POINTS = 200_000


@dataclass(frozen=True)
class PrometheusSource:
    """Where and what to read, resolved before any HTTP call."""

    target: PrometheusTarget
    sli: Sli
    start: datetime
    end: datetime
    step: timedelta


def learner_settings(request: LearnRequest) -> LearnerSettings:
    if request.period == CALENDAR_MONTH:
        period = CALENDAR_MONTH_NOMINAL
    else:
        period = _duration(request.period, "period")
        if period % timedelta(days=1):
            raise Invalid(f"period: {request.period!r} must be whole days, e.g. 28d or 30d")
    targets = tuple(request.targets or DEFAULT_TARGETS)
    if any(not 0 < t < 100 for t in targets):
        raise Invalid("targets: every target must be a percentage strictly between 0 and 100")
    return LearnerSettings(
        period=period,
        targets=targets,
        confidence=request.confidence,
        samples=request.samples,
        block_days=request.block_days,
        seed=request.seed,
        max_pages_per_period=request.max_pages,
    )


def _duration(text: str, field: str) -> timedelta:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise Invalid(f"{field}: {exc}") from None


def _sli(query: PrometheusHistoryIn) -> Sli:
    if query.total_query is None:
        raise Invalid(
            "prometheus.total_query: give slo_id, or total_query with error_query or good_query"
        )
    try:
        ratio = RatioSli(
            error_query=query.error_query,
            good_query=query.good_query,
            total_query=query.total_query,
        )
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        raise Invalid(f"prometheus{'.' + where if where else ''}: {message}") from None
    return Sli(ratio=ratio)


def prometheus_source(
    session: Session, *, query: PrometheusHistoryIn, settings: Settings, now: datetime
) -> PrometheusSource:
    """Resolve queries and Prometheus (from a stored SLO or the request) without HTTP."""
    step = _duration(query.step, "prometheus.step")
    end = query.end or now
    start = end - timedelta(days=query.days)
    if (end - start) / step > MAX_POINTS:
        raise Invalid(
            f"prometheus.step: {query.days:g} days at {query.step} are more than "
            f"{MAX_POINTS} points; use a larger step"
        )
    try:
        if query.slo_id is not None:
            slo = get_slo(session, slo_id=query.slo_id)
            sli = spec_of(slo).sli
            if query.prometheus_url:
                target = resolve_target(settings=settings, url=query.prometheus_url)
            else:
                target = resolve_target(
                    settings=settings,
                    url=slo.prometheus_url,
                    bearer_token=slo.prometheus_bearer_token,
                    basic_auth=slo.prometheus_basic_auth,
                )
        else:
            sli = _sli(query)
            target = resolve_target(settings=settings, url=query.prometheus_url)
    except NoPrometheus as exc:
        raise Invalid(f"prometheus.prometheus_url: {exc}") from None
    return PrometheusSource(target=target, sli=sli, start=start, end=end, step=step)


def read_history(
    request: LearnRequest, source: PrometheusSource | None, *, settings: Settings
) -> SliHistory:
    """The SLI history: parsed CSV, or range queries against Prometheus (the slow part)."""
    try:
        if request.csv is not None:
            return parse_history_csv(request.csv, "csv")
        assert source is not None
        with open_client(source.target, settings) as client:
            return fetch_history(client, source.sli, source.start, source.end, source.step)
    except HistoryError as exc:
        raise Invalid(str(exc)) from None
    except (PrometheusUnavailable, NoPrometheus) as exc:
        raise Unavailable(str(exc)) from None
    except PrometheusError as exc:
        raise Invalid(f"prometheus: {exc}") from None
    except UnsafeUrl as exc:
        raise Invalid(f"prometheus.prometheus_url: refused: {exc.message}") from None


def report(request: LearnRequest, history: SliHistory) -> LearnerReport:
    settings = learner_settings(request)
    try:
        return learn(history, settings)
    except HistoryError as exc:
        raise Invalid(str(exc)) from None
