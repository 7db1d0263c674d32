"""SLI history, the learner's input: good and total event counts on a regular time grid."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import numpy.typing as npt

from watchkeeper.slo.prometheus import PrometheusClient, PrometheusQueryError
from watchkeeper.slo.rules import sli_expressions
from watchkeeper.slo.spec import Sli

FloatArray = npt.NDArray[np.float64]
# Prometheus refuses range queries of more than 11,000 points per series.
MAX_POINTS_PER_QUERY = 10_000


class HistoryError(ValueError):
    """SLI history could not be read or makes no sense."""


@dataclass(frozen=True)
class SliHistory:
    """Events per interval; interval `i` ends at `start + i * step`."""

    start: datetime
    step: timedelta
    good: FloatArray
    total: FloatArray

    @property
    def bad(self) -> FloatArray:
        return self.total - self.good

    @property
    def duration(self) -> timedelta:
        return self.step * len(self.total)

    def time_of(self, index: int) -> datetime:
        return self.start + index * self.step

    @classmethod
    def from_points(
        cls,
        timestamps: Sequence[datetime],
        good: Sequence[float],
        total: Sequence[float],
        step: timedelta | None = None,
    ) -> SliHistory:
        """Put (time, good, total) points on a regular grid; gaps become zero traffic."""
        if len(timestamps) < 2:
            raise HistoryError("need at least two points of SLI history")
        if not len(timestamps) == len(good) == len(total):
            raise HistoryError("timestamps, good and total differ in length")
        seconds = np.array([t.timestamp() for t in timestamps], dtype=np.float64)
        order = np.argsort(seconds, kind="stable")
        seconds = seconds[order]
        good_arr = np.asarray(good, dtype=np.float64)[order]
        total_arr = np.asarray(total, dtype=np.float64)[order]
        if np.any(total_arr < 0) or np.any(good_arr < 0):
            raise HistoryError("good and total must not be negative")
        if np.any(good_arr > total_arr * (1 + 1e-9) + 1e-9):
            raise HistoryError("good exceeds total in some rows")
        if step is None:
            diffs = np.diff(seconds)
            diffs = diffs[diffs > 0]
            if not len(diffs):
                raise HistoryError("all timestamps are equal")
            step = timedelta(seconds=float(np.median(diffs)))
        index = np.rint((seconds - seconds[0]) / step.total_seconds()).astype(np.int64)
        grid_good = np.zeros(int(index[-1]) + 1)
        grid_total = np.zeros(int(index[-1]) + 1)
        np.add.at(grid_good, index, np.minimum(good_arr, total_arr))
        np.add.at(grid_total, index, total_arr)
        start = datetime.fromtimestamp(float(seconds[0]), tz=UTC)
        return cls(start=start, step=step, good=grid_good, total=grid_total)


def read_history_csv(path: str | Path) -> SliHistory:
    """Read `timestamp,good,total` (or `timestamp,bad,total`) rows; a header row is required.

    Timestamps are unix seconds or ISO 8601 (UTC when no offset is given); each row counts
    the events of the interval that ends at its timestamp.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise HistoryError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    return parse_history_csv(text, str(path))


def parse_history_csv(text: str, path: str = "<csv>") -> SliHistory:
    """Parse CSV text as `read_history_csv` does; `path` names it in error messages."""
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    if not rows:
        raise HistoryError(f"{path}: no rows")
    columns = set(rows[0])
    bad_column = next((c for c in ("bad", "errors", "error") if c in columns), None)
    if (
        "timestamp" not in columns
        or "total" not in columns
        or not ("good" in columns or bad_column)
    ):
        raise HistoryError(f"{path}: need columns timestamp, total and good (or bad)")
    times, good, total = [], [], []
    for line, row in enumerate(rows, start=2):
        try:
            times.append(_timestamp(row["timestamp"]))
            row_total = float(row["total"])
            row_good = (
                float(row["good"])
                if "good" in columns
                else row_total - float(row[bad_column or ""])
            )
        except (TypeError, ValueError) as exc:
            raise HistoryError(f"{path}:{line}: {exc}") from exc
        total.append(row_total)
        good.append(row_good)
    try:
        return SliHistory.from_points(times, good, total)
    except HistoryError as exc:
        raise HistoryError(f"{path}: {exc}") from exc


def fetch_history(
    client: PrometheusClient, sli: Sli, start: datetime, end: datetime, step: timedelta
) -> SliHistory:
    """Read SLI history with range queries; `{{.window}}` becomes `step`.

    Rates per second are turned into counts per step, so good/total keep their ratio.
    """
    errors_expr, total_expr = sli_expressions(sli, step)
    errors = _range(client, errors_expr, start, end, step)
    totals = _range(client, total_expr, start, end, step)
    stamps = sorted(totals)
    if len(stamps) < 2:
        raise HistoryError("Prometheus returned fewer than two points of SLI history")
    scale = step.total_seconds()
    total = [totals[t] * scale for t in stamps]
    bad = [
        min(max(errors.get(t, 0.0) * scale, 0.0), tot) for t, tot in zip(stamps, total, strict=True)
    ]
    good = [tot - b for tot, b in zip(total, bad, strict=True)]
    times = [datetime.fromtimestamp(t, tz=UTC) for t in stamps]
    return SliHistory.from_points(times, good, total, step=step)


def _range(
    client: PrometheusClient, expr: str, start: datetime, end: datetime, step: timedelta
) -> dict[float, float]:
    values: dict[float, float] = {}
    chunk = step * MAX_POINTS_PER_QUERY
    cursor = start
    while cursor <= end:
        chunk_end = min(cursor + chunk, end)
        series = client.query_range(expr, cursor, chunk_end, step)
        if len(series) > 1:
            raise PrometheusQueryError(
                f"SLI query returned {len(series)} series; wrap it in sum(...): {expr}"
            )
        for stamp, value in series[0].points if series else []:
            if math.isfinite(value):
                values[stamp] = value
        cursor = chunk_end + step
    return values


def _timestamp(text: str) -> datetime:
    text = text.strip()
    try:
        return datetime.fromtimestamp(float(text), tz=UTC)
    except ValueError:
        pass
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
