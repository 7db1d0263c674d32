"""Burn-rate arithmetic: fixed cases and hypothesis properties."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from watchkeeper.slo import burn

objectives = st.floats(min_value=50, max_value=99.999)
ratios = st.floats(min_value=0, max_value=1)
periods = st.integers(min_value=7, max_value=365).map(lambda d: timedelta(days=d))


def test_workbook_numbers() -> None:
    assert burn.error_budget(99.9) == 0.001
    assert burn.burn_rate(0.0144, 99.9) == pytest.approx(14.4)
    tiers = burn.workbook_tiers(timedelta(days=30))
    consumed = [t.budget_consumed(timedelta(days=30)) for t in tiers]
    assert consumed == pytest.approx([0.02, 0.05, 0.10, 0.10])
    assert burn.remaining_downtime(0.0, 99.9, timedelta(days=30)) == timedelta(minutes=43.2)
    assert burn.remaining_downtime(0.0005, 99.9, timedelta(days=30)) == timedelta(minutes=21.6)


@given(objectives, ratios)
def test_remaining_plus_burn_is_one(objective: float, ratio: float) -> None:
    assert burn.budget_remaining(ratio, objective) + burn.burn_rate(
        ratio, objective
    ) == pytest.approx(1)
    assert burn.burn_rate(ratio, objective) * burn.error_budget(objective) == pytest.approx(ratio)


@given(objectives, ratios, ratios)
def test_more_errors_never_leave_more_budget(objective: float, a: float, b: float) -> None:
    low, high = sorted((a, b))
    assert burn.budget_remaining(high, objective) <= burn.budget_remaining(low, objective)
    period = timedelta(days=30)
    assert burn.remaining_downtime(high, objective, period) <= burn.remaining_downtime(
        low, objective, period
    )


@given(objectives)
def test_spending_exactly_the_budget_leaves_nothing(objective: float) -> None:
    budget = burn.error_budget(objective)
    assert burn.budget_remaining(budget, objective) == pytest.approx(0, abs=1e-9)
    assert burn.remaining_downtime(budget * 2, objective, timedelta(days=30)) == timedelta(0)


@given(periods)
def test_scaled_tiers_spend_the_same_budget_share(period: timedelta) -> None:
    for tier, expected in zip(burn.workbook_tiers(period), [0.02, 0.05, 0.10, 0.10], strict=True):
        assert tier.budget_consumed(period) == pytest.approx(expected, rel=0.01)
        assert tier.short_window < tier.long_window <= period


@given(st.floats(min_value=0.01, max_value=1), st.floats(min_value=0.1, max_value=100), periods)
def test_time_to_exhaustion_spends_what_is_left(
    left: float, rate: float, period: timedelta
) -> None:
    eta = burn.time_to_exhaustion(left, rate, period)
    assert eta is not None
    # Burning at `rate` for `eta` spends rate * eta / period of the budget.
    assert rate * (eta / period) == pytest.approx(left)
    assert burn.time_to_exhaustion(left, 0, period) is None
    assert burn.time_to_exhaustion(0, rate, period) == timedelta(0)


@given(objectives, ratios, ratios)
def test_tier_fires_iff_both_windows_exceed(objective: float, long: float, short: float) -> None:
    tier = burn.BurnTier("page", 2.0, timedelta(hours=1), timedelta(minutes=5))
    threshold = 2.0 * burn.error_budget(objective)
    assert burn.tier_fires(tier, long, short, objective) == (long > threshold and short > threshold)
    assert not burn.tier_fires(tier, None, short, objective)
    assert not burn.tier_fires(tier, float("nan"), short, objective)


@given(objectives, st.floats(min_value=0, max_value=1))
def test_uniform_burn_routes(objective: float, ratio: float) -> None:
    # With the same error ratio in every window, the lowest factor of a route decides it.
    tiers = burn.workbook_tiers(timedelta(days=30))
    windows = dict.fromkeys(burn.required_windows(tiers), ratio)
    budget = burn.error_budget(objective)
    routes = burn.firing_routes(windows, tiers, objective)
    assert ("page" in routes) == (ratio > 6 * budget)
    assert ("ticket" in routes) == (ratio > 1 * budget)


@given(objectives, st.dictionaries(st.sampled_from(range(7)), ratios), ratios)
def test_firing_is_monotone_in_error_ratio(
    objective: float, values: dict[int, float], bump: float
) -> None:
    tiers = burn.workbook_tiers(timedelta(days=30))
    windows = burn.required_windows(tiers)
    before = {windows[i]: v for i, v in values.items()}
    after = {w: min(1.0, v + bump) for w, v in before.items()}
    fired_before = set(burn.firing_tiers(before, tiers, objective))
    assert fired_before <= set(burn.firing_tiers(after, tiers, objective))


def test_scale_window_floors_at_a_minute() -> None:
    assert burn.scale_window(timedelta(minutes=5), timedelta(days=3)) == burn.MIN_WINDOW
    assert burn.scale_window(timedelta(hours=1), timedelta(days=28)) == timedelta(minutes=56)
    with pytest.raises(ValueError, match="strictly between"):
        burn.error_budget(100)
