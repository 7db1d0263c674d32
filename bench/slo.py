"""SLO speed figures: run ``.venv/bin/python bench/slo.py``.

Prints:
1. rule generation for 200 SLOs (Watchkeeper YAML → Prometheus rule file);
2. the what-if learner on 90 days of 5-minute SLI history (25,920 points),
   2,000 bootstrap periods, 5 targets and 5 page-factor choices;
3. the same learner on 90 days of 1-minute history (129,600 points).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import numpy as np

from watchkeeper.slo.history import SliHistory
from watchkeeper.slo.learner import learn
from watchkeeper.slo.loaders import load_spec_text
from watchkeeper.slo.rules import render_rules


def _timed(label: str, action: Callable[[], object], repeat: int = 3) -> None:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        best = min(best, time.perf_counter() - started)
    print(f"{label}: {best * 1000:.0f} ms (best of {repeat})")


def _specs_text(count: int) -> str:
    window = "[{{.window}}]"
    entries = "".join(
        f"  - name: endpoint-{i}\n    objective: 99.9\n    sli:\n      ratio:\n"
        f'        error_query: sum(rate(http_total{{route="/r{i}",code=~"5.."}}{window}))\n'
        f'        total_query: sum(rate(http_total{{route="/r{i}"}}{window}))\n'
        for i in range(count)
    )
    return f"version: watchkeeper/v1\nservice: api\nteam: core\nslos:\n{entries}"


def _history(step: timedelta, days: int = 90) -> SliHistory:
    rng = np.random.default_rng(1)
    points = round(timedelta(days=days) / step)
    total = rng.poisson(1000, points).astype(np.float64)
    bad = rng.binomial(total.astype(np.int64), 0.0004).astype(np.float64)
    for start in rng.integers(0, points - 50, 6):
        bad[start : start + 20] = total[start : start + 20] * 0.3
    return SliHistory(datetime(2026, 1, 1, tzinfo=UTC), step, total - bad, total)


def main() -> None:
    text = _specs_text(200)
    _timed("rules for 200 SLOs (load + render)", lambda: render_rules(load_spec_text(text)))
    five = _history(timedelta(minutes=5))
    _timed("learner, 90 days at 5m", lambda: learn(five))
    one = _history(timedelta(minutes=1))
    _timed("learner, 90 days at 1m", lambda: learn(one), repeat=1)


if __name__ == "__main__":
    main()
