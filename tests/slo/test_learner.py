"""The what-if learner on a synthetic 90-day history whose answers can be worked out by hand."""

from __future__ import annotations

import math
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.slo import synthetic
from watchkeeper.slo import burn
from watchkeeper.slo.history import HistoryError, SliHistory, read_history_csv
from watchkeeper.slo.learner import (
    LearnerSettings,
    assess_alerts,
    learn,
    real_burns,
    window_ratios,
)

PERIOD_DAYS = 30


def _p_at_most(k: int) -> float:
    """P(at most k of the 30 resampled days are bad days), days drawn uniformly from 90."""
    p = len(synthetic.BAD_DAYS) / synthetic.DAYS
    return sum(
        math.comb(PERIOD_DAYS, i) * p**i * (1 - p) ** (PERIOD_DAYS - i) for i in range(k + 1)
    )


def _sli_with_bad_days(k: int) -> float:
    errors = (PERIOD_DAYS - k) * synthetic.BASE_ERROR + k * synthetic.bad_day_error_ratio()
    return 100 * (1 - errors / PERIOD_DAYS)


@pytest.fixture(scope="module")
def history() -> SliHistory:
    return synthetic.ninety_days()


@pytest.fixture(scope="module")
def report(history: SliHistory):  # type: ignore[no-untyped-def]
    return learn(history, LearnerSettings(seed=7))


def test_probabilities_match_the_binomial_by_hand(report) -> None:  # type: ignore[no-untyped-def]
    for assessment in report.targets:
        # The most bad days a 30-day period can hold and still meet the target.
        allowed = max(
            (
                k
                for k in range(PERIOD_DAYS + 1)
                if _sli_with_bad_days(k) >= assessment.target - 1e-9
            ),
            default=-1,
        )
        expected = _p_at_most(allowed) if allowed >= 0 else 0.0
        assert assessment.probability_met == pytest.approx(expected, abs=0.03), assessment.target


def test_recommends_the_target_derivable_by_hand(report) -> None:  # type: ignore[no-untyped-def]
    # The 10th percentile of period SLI: the fewest bad days k with P(≤ k bad days) ≥ 90%.
    k = next(k for k in range(PERIOD_DAYS + 1) if _p_at_most(k) >= 0.9)
    assert report.achievable_target == pytest.approx(_sli_with_bad_days(k), abs=0.05)
    by_hand = max(t for t in LearnerSettings().targets if t <= _sli_with_bad_days(k))
    assert report.recommended_target == pytest.approx(by_hand, abs=0.05)
    assert report.recommended_target == 99.5
    assert report.recommended_page_factors == burn.PAGE_FACTORS
    assert any("99.5%" in line for line in report.explanation)


def _brute_force_replay(history: SliHistory, objective: float) -> tuple[int, int]:
    """Apply the alert rules step by step with plain window sums, as Prometheus would."""
    tiers = burn.workbook_tiers(timedelta(days=PERIOD_DAYS))
    windows = burn.required_windows(tiers)
    steps = {w: round(w / history.step) for w in windows}
    bad, total = history.bad, history.total
    counts = {"page": 0, "ticket": 0}
    before: set[burn.Route] = set()
    for i in range(len(total)):
        ratios: dict[timedelta, float | None] = {}
        for window, n in steps.items():
            if i + 1 < n:
                ratios[window] = None
                continue
            ratios[window] = float(bad[i + 1 - n : i + 1].sum() / total[i + 1 - n : i + 1].sum())
        now = burn.firing_routes(ratios, tiers, objective)
        for route in now - before:
            counts[route] += 1
        before = now
    return counts["page"], counts["ticket"]


@pytest.mark.parametrize("target", [99.5, 99.9])
def test_page_counts_match_replaying_the_rules_directly(
    report, history: SliHistory, target: float
) -> None:  # type: ignore[no-untyped-def]
    pages, tickets = _brute_force_replay(history, target)
    assessment = next(t.alerts for t in report.targets if t.target == target)
    assert (assessment.pages, assessment.tickets) == (pages, tickets)
    # Each of the three two-hour bursts is one page and is caught within a quarter hour.
    assert pages == 3
    assert assessment.real_burns == 3 and assessment.missed_burns == 0
    assert assessment.max_detection_minutes is not None and assessment.max_detection_minutes <= 15


def test_real_burn_onsets_are_the_burst_starts(history: SliHistory) -> None:
    per_day = 288
    onsets = [onset for onset, _ in real_burns(history, 99.5, timedelta(days=30))]
    assert onsets == [day * per_day + 36 for day in synthetic.BAD_DAYS]


def test_factors_too_high_miss_a_small_burn() -> None:
    # Ten minutes at 40% errors, then fifty at 2%: 2.3% of a 99.5% budget within the hour,
    # a real burn. By the time the hour's ratio passes 14.4× the 5-minute window has calmed
    # down, so the workbook factors never page; scaled by 0.75 (10.8×) they page at once.
    history = synthetic.ninety_days()
    total = history.total.copy()
    good = total * (1 - synthetic.BASE_ERROR)
    start = 20 * 288
    good[start : start + 2] = total[start : start + 2] * (1 - 0.4)
    good[start + 2 : start + 12] = total[start + 2 : start + 12] * (1 - 0.02)
    quiet = SliHistory(start=history.start, step=history.step, good=good, total=total)
    period = timedelta(days=30)
    workbook = assess_alerts(quiet, 99.5, period, burn.PAGE_FACTORS, burn.TICKET_FACTORS)
    sensitive = assess_alerts(quiet, 99.5, period, (10.8, 4.5), burn.TICKET_FACTORS)
    assert workbook.real_burns == 1 and workbook.missed_burns == 1 and workbook.pages == 0
    assert sensitive.missed_burns == 0 and sensitive.pages == 1
    assert sensitive.median_detection_minutes == 5
    report = learn(quiet, LearnerSettings(seed=1, targets=(99.5,)))
    assert report.recommended_page_factors == pytest.approx((10.8, 4.5))
    assert any("would have paged 0 times and missed 1" in line for line in report.explanation)


def test_same_seed_same_report(history: SliHistory) -> None:
    a = learn(history, LearnerSettings(seed=3, samples=500))
    b = learn(history, LearnerSettings(seed=3, samples=500))
    assert a.model_dump() == b.model_dump()


def test_csv_round_trip(tmp_path: Path, history: SliHistory) -> None:
    path = tmp_path / "sli.csv"
    lines = ["timestamp,good,total"]
    for i in range(len(history.total)):
        stamp = history.time_of(i).isoformat() if i % 2 else str(history.time_of(i).timestamp())
        lines.append(f"{stamp},{float(history.good[i])!r},{float(history.total[i])!r}")
    path.write_text("\n".join(lines) + "\n")
    loaded = read_history_csv(path)
    assert loaded.step == history.step and loaded.start == history.start
    np.testing.assert_allclose(loaded.good, history.good)
    np.testing.assert_allclose(loaded.total, history.total)


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("when,good,total\n1,1,1\n", "need columns"),
        ("timestamp,good,total\n0,5,4\n300,1,1\n", "good exceeds total"),
        ("timestamp,good,total\nyesterday,1,1\n300,1,1\n", ":2:"),
        ("timestamp,good,total\n0,1,1\n", "at least two points"),
    ],
)
def test_bad_csv_is_explained(tmp_path: Path, content: str, fragment: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(HistoryError, match=fragment):
        read_history_csv(path)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 50), st.integers(0, 50)), min_size=1, max_size=60),
    st.integers(1, 20),
)
def test_window_ratios_match_naive_sums(rows: list[tuple[int, int]], steps: int) -> None:
    total = np.array([float(a + b) for a, b in rows])
    good = np.array([float(a) for a, _ in rows])
    history = SliHistory(start=synthetic.START, step=synthetic.STEP, good=good, total=total)
    ratios = window_ratios(history, synthetic.STEP * steps)
    for i in range(len(rows)):
        if i + 1 < steps or total[i + 1 - steps : i + 1].sum() == 0:
            assert math.isnan(ratios[i])
        else:
            window = slice(i + 1 - steps, i + 1)
            expected = (total[window] - good[window]).sum() / total[window].sum()
            assert ratios[i] == pytest.approx(expected)
