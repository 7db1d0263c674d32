"""What the machine was like during a bench run, printed beside the figures.

The shared 2-core machines these benches run on are not always equally fast:
the same Python loop has taken 1.4 s and, an hour later, 2.4 s (a 70 % swing). Every bench
prints this reference before and after its figures, so a slow figure from a
slow moment can be told apart from a regression.
"""

from __future__ import annotations

import os
import sys
import time

QUIET_SECONDS = 0.6  # seen for this loop on a quiet machine of this kind


def cpu_reference() -> float:
    """Seconds one core takes for a fixed 20-million-step Python loop."""
    started = time.perf_counter()
    total = 0
    for step in range(20_000_000):
        total += step
    return time.perf_counter() - started


def describe(when: str) -> str:
    seconds = cpu_reference()
    return (
        f"machine ({when}): {os.cpu_count()} cores; python {sys.version.split()[0]}; "
        f"CPU reference loop {seconds:.2f} s ({seconds / QUIET_SECONDS:.1f}x a quiet machine)"
    )
