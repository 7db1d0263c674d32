"""Error-budget and burn-rate arithmetic: pure functions over plain numbers.

The multi-window, multi-burn-rate scheme is the one in chapter 5 of the Google SRE
Workbook ("Alerting on SLOs"). A tier fires when the error ratio over *both* its long
and its short window exceeds `factor × error budget`: the long window proves the burn
is significant, the short one proves it is still happening, so the alert resets soon
after the burn stops.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

Route = Literal["page", "ticket"]

WORKBOOK_PERIOD = timedelta(days=30)
PAGE_FACTORS = (14.4, 6.0)
TICKET_FACTORS = (3.0, 1.0)
# (route, long window, short window) for a 30-day period, in workbook order.
WORKBOOK_WINDOWS: tuple[tuple[Route, timedelta, timedelta], ...] = (
    ("page", timedelta(hours=1), timedelta(minutes=5)),
    ("page", timedelta(hours=6), timedelta(minutes=30)),
    ("ticket", timedelta(days=1), timedelta(hours=2)),
    ("ticket", timedelta(days=3), timedelta(hours=6)),
)
# Below a minute a rate() window rarely holds two scrapes, so scaled windows stop here.
MIN_WINDOW = timedelta(minutes=1)


@dataclass(frozen=True)
class BurnTier:
    """One alert condition: both windows burn faster than `factor` times the budget."""

    route: Route
    factor: float
    long_window: timedelta
    short_window: timedelta

    def budget_consumed(self, period: timedelta) -> float:
        """Fraction of the period's budget spent by the time the long window trips."""
        return self.factor * (self.long_window / period)


def scale_window(window: timedelta, period: timedelta) -> timedelta:
    """Scale a 30-day workbook window to `period`, to whole seconds, at least a minute."""
    seconds = round(window.total_seconds() * (period / WORKBOOK_PERIOD))
    return max(timedelta(seconds=seconds), MIN_WINDOW)


def workbook_tiers(
    period: timedelta,
    page_factors: tuple[float, float] = PAGE_FACTORS,
    ticket_factors: tuple[float, float] = TICKET_FACTORS,
) -> tuple[BurnTier, ...]:
    """The workbook's four tiers with windows scaled to `period` and the given factors."""
    factors = (*page_factors, *ticket_factors)
    return tuple(
        BurnTier(route, factor, scale_window(long, period), scale_window(short, period))
        for (route, long, short), factor in zip(WORKBOOK_WINDOWS, factors, strict=True)
    )


def required_windows(tiers: Iterable[BurnTier]) -> list[timedelta]:
    """Every window the tiers read, shortest first."""
    windows = {w for tier in tiers for w in (tier.long_window, tier.short_window)}
    return sorted(windows)


def error_budget(objective: float) -> float:
    """Allowed error ratio for an objective in percent: 99.9 → 0.001."""
    if not 0 < objective < 100:
        raise ValueError(f"objective must be strictly between 0 and 100, got {objective}")
    # Rounding keeps 1 - 0.999 from printing as 0.0010000000000000009.
    return round(1 - objective / 100, 12)


def burn_rate(error_ratio: float, objective: float) -> float:
    """How many times faster than sustainable the budget is being spent."""
    return error_ratio / error_budget(objective)


def budget_remaining(error_ratio: float, objective: float) -> float:
    """Fraction of the period's error budget left; negative once overspent."""
    return 1 - burn_rate(error_ratio, objective)


def remaining_downtime(error_ratio: float, objective: float, period: timedelta) -> timedelta:
    """Budget left expressed as minutes of total outage still affordable this period."""
    left = budget_remaining(error_ratio, objective) * error_budget(objective) * period
    return max(left, timedelta(0))


def time_to_exhaustion(
    remaining_fraction: float, current_burn: float, period: timedelta
) -> timedelta | None:
    """How long until the budget runs out at `current_burn`; None if it never does."""
    if remaining_fraction <= 0:
        return timedelta(0)
    if current_burn <= 0 or not math.isfinite(current_burn):
        return None
    return remaining_fraction * period / current_burn


def tier_fires(
    tier: BurnTier, long_ratio: float | None, short_ratio: float | None, objective: float
) -> bool:
    """The alert condition of one tier; a missing or NaN ratio never fires."""
    threshold = tier.factor * error_budget(objective)
    return _above(long_ratio, threshold) and _above(short_ratio, threshold)


def firing_tiers(
    window_ratios: Mapping[timedelta, float | None],
    tiers: Iterable[BurnTier],
    objective: float,
) -> list[BurnTier]:
    """The tiers whose alert condition holds for the given per-window error ratios."""
    return [
        tier
        for tier in tiers
        if tier_fires(
            tier,
            window_ratios.get(tier.long_window),
            window_ratios.get(tier.short_window),
            objective,
        )
    ]


def firing_routes(
    window_ratios: Mapping[timedelta, float | None],
    tiers: Iterable[BurnTier],
    objective: float,
) -> set[Route]:
    """`page` and/or `ticket`, whichever have at least one firing tier."""
    return {tier.route for tier in firing_tiers(window_ratios, tiers, objective)}


def _above(value: float | None, threshold: float) -> bool:
    return value is not None and not math.isnan(value) and value > threshold
