"""A 90-day SLI history with known properties, for the learner tests and bench."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from watchkeeper.slo.history import SliHistory

STEP = timedelta(minutes=5)
DAYS = 90
PER_STEP = 1000.0  # events every 5 minutes
BASE_ERROR = 0.0005  # 0.05% errors on ordinary days
BAD_DAYS = (10, 40, 70)  # each has a two-hour 50% error burst starting at 03:00
BURST_STEPS = 24
BURST_ERROR = 0.5
START = datetime(2026, 1, 1, tzinfo=UTC)


def ninety_days() -> SliHistory:
    per_day = round(timedelta(days=1) / STEP)
    total = np.full(DAYS * per_day, PER_STEP)
    bad = total * BASE_ERROR
    for day in BAD_DAYS:
        first = day * per_day + 36
        bad[first : first + BURST_STEPS] = PER_STEP * BURST_ERROR
    return SliHistory(start=START, step=STEP, good=total - bad, total=total)


def bad_day_error_ratio() -> float:
    per_day = round(timedelta(days=1) / STEP)
    errors = (per_day - BURST_STEPS) * BASE_ERROR + BURST_STEPS * BURST_ERROR
    return errors / per_day
