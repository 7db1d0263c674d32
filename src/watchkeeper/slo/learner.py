"""What-if learner: which SLO target and burn-rate factors suit this service's history?

Two questions are answered from the same SLI history:

1. *How likely is each target to be met?* A block bootstrap strings whole days of
   history (blocks of `block_days` consecutive days, wrapping around) into many
   synthetic periods; the share of periods whose SLI reaches a target estimates the
   probability of meeting it. Whole days keep daily cycles and incidents intact.
2. *How would the alerts have behaved?* The burn-rate rules are replayed over the
   history exactly as Prometheus would evaluate them (the same windows, factors and
   strict `>`), counting pages and tickets (an alert that starts firing counts once)
   and how quickly each real burn was paged. A real burn is a stretch in which at least
   2% of the period's budget went within an hour or 5% within six hours (windows scaled
   to the period): what the workbook's page tiers are meant to catch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from statistics import median

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel

from watchkeeper.slo import burn
from watchkeeper.slo.history import FloatArray, HistoryError, SliHistory

BoolArray = npt.NDArray[np.bool_]

DEFAULT_TARGETS = (99.0, 99.5, 99.9, 99.95, 99.99)
DEFAULT_PAGE_SCALES = (0.75, 1.0, 1.25, 1.5, 2.0)
# (window at 30 days, fraction of the period's budget): a burn worth waking someone for.
REAL_BURNS = ((timedelta(hours=1), 0.02), (timedelta(hours=6), 0.05))


@dataclass(frozen=True)
class LearnerSettings:
    """Knobs of one learner run; the defaults suit a 30-day SLO."""

    period: timedelta = timedelta(days=30)
    targets: tuple[float, ...] = DEFAULT_TARGETS
    confidence: float = 0.9
    samples: int = 2000
    block_days: int = 1
    seed: int = 0
    max_pages_per_period: float = 2.0
    page_scales: tuple[float, ...] = DEFAULT_PAGE_SCALES
    page_factors: tuple[float, float] = burn.PAGE_FACTORS
    ticket_factors: tuple[float, float] = burn.TICKET_FACTORS


@dataclass(frozen=True)
class Replay:
    """The alerts' behaviour over a history."""

    pages: int
    tickets: int
    page_active: BoolArray = field(repr=False)
    ticket_active: BoolArray = field(repr=False)


class AlertAssessment(BaseModel):
    """How one target and factor choice would have alerted over the history."""

    target: float
    page_factors: tuple[float, float]
    ticket_factors: tuple[float, float]
    pages: int
    tickets: int
    pages_per_period: float
    tickets_per_period: float
    real_burns: int
    missed_burns: int
    median_detection_minutes: float | None
    max_detection_minutes: float | None


class TargetAssessment(BaseModel):
    """One candidate target: chance of meeting it and its alerts with workbook factors."""

    target: float
    probability_met: float
    alerts: AlertAssessment


class LearnerReport(BaseModel):
    """The learner's findings and recommendation."""

    history_days: float
    period_days: float
    samples: int
    seed: int
    confidence: float
    observed_sli: float
    achievable_target: float
    recommended_target: float
    recommended_page_factors: tuple[float, float]
    recommended_ticket_factors: tuple[float, float]
    targets: list[TargetAssessment]
    factor_choices: list[AlertAssessment]
    explanation: list[str]


def daily_counts(history: SliHistory) -> tuple[FloatArray, FloatArray]:
    """(bad, total) per whole day from the start of the history; a partial last day is dropped."""
    per_day = round(timedelta(days=1) / history.step)
    if per_day < 1 or not math.isclose(per_day * history.step.total_seconds(), 86400):
        raise HistoryError(f"a history step of {history.step} does not divide a day")
    days = len(history.total) // per_day
    if days < 2:
        raise HistoryError("need at least two whole days of SLI history")
    shape = (days, per_day)
    bad = history.bad[: days * per_day].reshape(shape).sum(axis=1)
    total = history.total[: days * per_day].reshape(shape).sum(axis=1)
    return bad, total


def bootstrap_period_sli(
    history: SliHistory, period_days: int, samples: int, block_days: int, seed: int
) -> FloatArray:
    """SLI (0..1) of `samples` synthetic periods built from blocks of whole days."""
    bad, total = daily_counts(history)
    days = len(total)
    rng = np.random.default_rng(seed)
    blocks = math.ceil(period_days / block_days)
    starts = rng.integers(0, days, size=(samples, blocks))
    index = (starts[..., None] + np.arange(block_days)) % days
    index = index.reshape(samples, blocks * block_days)[:, :period_days]
    bad_sum, total_sum = bad[index].sum(axis=1), total[index].sum(axis=1)
    safe = np.where(total_sum > 0, total_sum, 1.0)
    result: FloatArray = np.where(total_sum > 0, 1 - bad_sum / safe, 1.0)
    return result


def window_ratios(history: SliHistory, window: timedelta) -> FloatArray:
    """Error ratio over the trailing `window` at each step; NaN until the window is full."""
    steps = max(1, round(window / history.step))
    bad = np.concatenate(([0.0], np.cumsum(history.bad)))
    total = np.concatenate(([0.0], np.cumsum(history.total)))
    out = np.full(len(history.total), np.nan)
    if steps <= len(history.total):
        wb = bad[steps:] - bad[:-steps]
        wt = total[steps:] - total[:-steps]
        out[steps - 1 :] = np.divide(wb, wt, out=np.full(len(wt), np.nan), where=wt > 0)
    return out


def replay(history: SliHistory, objective: float, tiers: Sequence[burn.BurnTier]) -> Replay:
    """Evaluate the burn-rate alert conditions at every step of the history."""
    cache: dict[timedelta, FloatArray] = {}

    def ratios(window: timedelta) -> FloatArray:
        if window not in cache:
            cache[window] = window_ratios(history, window)
        return cache[window]

    active = {route: np.zeros(len(history.total), dtype=bool) for route in ("page", "ticket")}
    for tier in tiers:
        threshold = tier.factor * burn.error_budget(objective)
        with np.errstate(invalid="ignore"):
            fires = (ratios(tier.long_window) > threshold) & (ratios(tier.short_window) > threshold)
        active[tier.route] |= fires
    return Replay(
        pages=_starts(active["page"]),
        tickets=_starts(active["ticket"]),
        page_active=active["page"],
        ticket_active=active["ticket"],
    )


def real_burns(history: SliHistory, objective: float, period: timedelta) -> list[tuple[int, int]]:
    """(onset, end) step indices of each real burn; onset walks back to where it began."""
    budget = burn.error_budget(objective)
    threatening = np.zeros(len(history.total), dtype=bool)
    for window, fraction in REAL_BURNS:
        scaled = burn.scale_window(window, period)
        threshold = fraction * budget * (period / scaled)
        with np.errstate(invalid="ignore"):
            threatening |= window_ratios(history, scaled) >= threshold
    step_ratio = np.divide(
        history.bad, history.total, out=np.zeros(len(history.total)), where=history.total > 0
    )
    lookback = max(1, round(burn.scale_window(REAL_BURNS[-1][0], period) / history.step))
    episodes = []
    for first, last in _runs(threatening):
        onset = first
        while onset > 0 and first - onset < lookback and step_ratio[onset - 1] > budget:
            onset -= 1
        episodes.append((onset, last))
    return episodes


def assess_alerts(
    history: SliHistory,
    target: float,
    period: timedelta,
    page_factors: tuple[float, float],
    ticket_factors: tuple[float, float],
) -> AlertAssessment:
    """Replay one target and factor choice and score it against the real burns."""
    tiers = burn.workbook_tiers(period, page_factors, ticket_factors)
    result = replay(history, target, tiers)
    grace = max(1, round(tiers[0].long_window / history.step))
    delays: list[float] = []
    episodes = real_burns(history, target, period)
    for onset, end in episodes:
        paged = np.flatnonzero(result.page_active[onset : end + grace + 1])
        if len(paged):
            delays.append(paged[0] * history.step.total_seconds() / 60)
    periods = history.duration / period
    return AlertAssessment(
        target=target,
        page_factors=page_factors,
        ticket_factors=ticket_factors,
        pages=result.pages,
        tickets=result.tickets,
        pages_per_period=result.pages / periods,
        tickets_per_period=result.tickets / periods,
        real_burns=len(episodes),
        missed_burns=len(episodes) - len(delays),
        median_detection_minutes=median(delays) if delays else None,
        max_detection_minutes=max(delays) if delays else None,
    )


def learn(history: SliHistory, settings: LearnerSettings | None = None) -> LearnerReport:
    """Assess every candidate target and page-factor choice and recommend one of each."""
    s = settings or LearnerSettings()
    period_days = round(s.period / timedelta(days=1))
    slis = bootstrap_period_sli(history, period_days, s.samples, s.block_days, s.seed)
    achievable = 100 * float(np.quantile(slis, 1 - s.confidence, method="lower"))
    targets = []
    for target in sorted(s.targets):
        budget = burn.error_budget(target)
        if max(*s.page_factors, *s.ticket_factors) * budget >= 1:
            continue
        met = float(np.mean(slis >= target / 100 - 1e-12))
        alerts = assess_alerts(history, target, s.period, s.page_factors, s.ticket_factors)
        targets.append(TargetAssessment(target=target, probability_met=met, alerts=alerts))
    if not targets:
        raise HistoryError("no candidate target leaves room for the burn-rate factors")

    def best_factors(target: float) -> tuple[AlertAssessment, list[AlertAssessment]]:
        choices = []
        for scale in s.page_scales:
            factors = (s.page_factors[0] * scale, s.page_factors[1] * scale)
            if factors[0] * burn.error_budget(target) < 1:
                choices.append(assess_alerts(history, target, s.period, factors, s.ticket_factors))
        best = min(choices, key=lambda a: _factor_rank(a, s.page_factors))
        return best, choices

    eligible = [t for t in reversed(targets) if t.probability_met >= s.confidence]
    chosen: TargetAssessment | None = None
    for candidate in eligible:
        best, choices = best_factors(candidate.target)
        if best.missed_burns == 0 and best.pages_per_period <= s.max_pages_per_period:
            chosen = candidate
            break
    if chosen is None:
        pool = eligible or [max(targets, key=lambda t: (t.probability_met, -t.target))]
        chosen = min(pool, key=lambda t: _factor_rank(best_factors(t.target)[0], s.page_factors))
        best, choices = best_factors(chosen.target)
    total = history.total.sum()
    report = LearnerReport(
        history_days=history.duration / timedelta(days=1),
        period_days=period_days,
        samples=s.samples,
        seed=s.seed,
        confidence=s.confidence,
        observed_sli=100 * (1 - history.bad.sum() / total) if total else 100.0,
        achievable_target=achievable,
        recommended_target=chosen.target,
        recommended_page_factors=best.page_factors,
        recommended_ticket_factors=best.ticket_factors,
        targets=targets,
        factor_choices=choices,
        explanation=[],
    )
    report.explanation.extend(_explain(report, s, chosen in eligible))
    return report


def _factor_rank(a: AlertAssessment, workbook: tuple[float, float]) -> tuple[float, ...]:
    # Miss nothing first, then page least, then page soonest, then stay near the workbook.
    delay = a.median_detection_minutes if a.median_detection_minutes is not None else 0.0
    return (a.missed_burns, a.pages, delay, abs(math.log(a.page_factors[0] / workbook[0])))


def _starts(active: BoolArray) -> int:
    return int(np.count_nonzero(active & ~np.concatenate(([False], active[:-1]))))


def _runs(flags: BoolArray) -> list[tuple[int, int]]:
    edges = np.diff(np.concatenate(([0], flags.astype(np.int8), [0])))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def _explain(report: LearnerReport, s: LearnerSettings, confident: bool) -> list[str]:
    days, period = report.history_days, report.period_days
    lines = [
        f"Over {days:g} days of history {report.observed_sli:.3f}% of events were good.",
        f"Resampling whole days into {report.samples} simulated {period:g}-day periods, "
        + "; ".join(
            f"{t.target:g}% is met in {100 * t.probability_met:.0f}%" for t in report.targets
        )
        + " of them.",
        f"The best target you would meet in {100 * s.confidence:.0f}% of periods is about "
        f"{report.achievable_target:.3f}%.",
    ]
    chosen = next(t for t in report.targets if t.target == report.recommended_target)
    if confident:
        lines.append(
            f"Recommended target: {chosen.target:g}%, the highest candidate met in at least "
            f"{100 * s.confidence:.0f}% of periods whose alerts stay rare."
        )
    else:
        lines.append(
            f"No candidate is both met in {100 * s.confidence:.0f}% of periods and quiet enough; "
            f"{chosen.target:g}% is the least bad. Fix the biggest sources of errors first."
        )
    best = next(
        a for a in report.factor_choices if a.page_factors == report.recommended_page_factors
    )
    per = f"per {period:g} days"
    lines.append(
        f"With page factors {best.page_factors[0]:g}/{best.page_factors[1]:g} the rules would "
        f"have paged {best.pages} times ({best.pages_per_period:.1f} {per}) and opened "
        f"{best.tickets} tickets ({best.tickets_per_period:.1f} {per})."
    )
    if best.real_burns:
        caught = best.real_burns - best.missed_burns
        lines.append(
            f"They caught {caught} of {best.real_burns} real burns (at least 2% of the budget "
            f"in an hour or 5% in six hours), a median {best.median_detection_minutes:.0f} "
            f"and at most {best.max_detection_minutes:.0f} minutes after each began."
            if caught
            else f"They missed all {best.real_burns} real burns."
        )
    else:
        lines.append("The history holds no real burn (2% of the budget in an hour or 5% in six).")
    workbook = next((a for a in report.factor_choices if a.page_factors == s.page_factors), None)
    if workbook is not None and workbook is not best:
        lines.append(
            f"The workbook factors {s.page_factors[0]:g}/{s.page_factors[1]:g} would have paged "
            f"{workbook.pages} times and missed {workbook.missed_burns} real burns."
        )
    return lines
