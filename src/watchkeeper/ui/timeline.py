"""The schedule timeline: layers, overrides and final shifts as bars over a range (pure).

Bars are positioned in percent of the range, so the same HTML fits a phone and
a desktop without JavaScript. Each layer is resolved on its own (the layer
alone, no overrides) to show what it contributes; the final row is the real
answer, with gaps marked.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from watchkeeper.schedules.model import ScheduleDefinition
from watchkeeper.schedules.resolve import FinalShift, final_shifts

RANGES = {"day": 1, "week": 7, "month": 30}


@dataclass(frozen=True)
class Bar:
    left: float  # percent of the range
    width: float
    label: str
    kind: str  # "shift" | "override" | "gap"
    start: datetime
    end: datetime
    alt: bool = False


@dataclass(frozen=True)
class Row:
    label: str
    bars: list[Bar]


@dataclass(frozen=True)
class Tick:
    left: float
    label: str


@dataclass(frozen=True)
class Timeline:
    start: datetime
    end: datetime
    rows: list[Row]
    ticks: list[Tick]
    now_left: float | None
    final: list[FinalShift]


def window(time_zone: str, view: str, first_day: date) -> tuple[datetime, datetime]:
    """[local midnight of ``first_day``, + the view's days) in the schedule's zone."""
    zone = ZoneInfo(time_zone)
    start = datetime.combine(first_day, time(0), tzinfo=zone)
    end = datetime.combine(first_day + timedelta(days=RANGES[view]), time(0), tzinfo=zone)
    return start, end


def _pct(moment: datetime, start: datetime, span: float) -> float:
    return max(0.0, min(100.0, (moment - start).total_seconds() / span * 100))


def _bars(
    spans: Sequence[tuple[datetime, datetime, str, str]], start: datetime, end: datetime
) -> list[Bar]:
    span = (end - start).total_seconds()
    bars = []
    for index, (lo, hi, label, kind) in enumerate(spans):
        left = _pct(max(lo, start), start, span)
        right = _pct(min(hi, end), start, span)
        if right > left:
            bars.append(Bar(left, right - left, label, kind, lo, hi, alt=index % 2 == 1))
    return bars


def _ticks(view: str, start: datetime, end: datetime, zone: ZoneInfo) -> list[Tick]:
    span = (end - start).total_seconds()
    ticks = []
    if view == "day":
        for hour in range(0, 24, 3):
            moment = datetime.combine(start.date(), time(hour), tzinfo=zone)
            ticks.append(Tick(_pct(moment, start, span), f"{hour:02d}:00"))
        return ticks
    step = 1 if view == "week" else 7
    day = start.date()
    while True:
        moment = datetime.combine(day, time(0), tzinfo=zone)
        if moment >= end:
            return ticks
        pattern = "%a %-d" if view == "week" else "%-d %b"
        ticks.append(Tick(_pct(moment, start, span), moment.strftime(pattern)))
        day += timedelta(days=step)


def build(
    definition: ScheduleDefinition,
    *,
    view: str,
    start: datetime,
    end: datetime,
    now: datetime,
    name_of: Callable[[str], str],
    layer_names: Mapping[str, str],
) -> Timeline:
    """Rows for each layer, the overrides and the final schedule over [start, end)."""

    def names(keys: Sequence[str]) -> str:
        return ", ".join(name_of(k) for k in keys) or "nobody"

    rows = []
    for layer in definition.layers:
        alone = ScheduleDefinition(definition.time_zone, (layer,), ())
        pieces = [s for s in final_shifts(alone, start, end) if not s.is_gap]
        rows.append(
            Row(
                layer_names.get(layer.id, layer.name) or "Layer",
                _bars([(s.start, s.end, names(s.users), "shift") for s in pieces], start, end),
            )
        )
    overrides = [o for o in definition.overrides if o.end > start and o.start < end]
    if overrides:
        spans = [(o.start, o.end, names(o.users), "override") for o in overrides]
        rows.append(Row("Overrides", _bars(spans, start, end)))
    final = final_shifts(definition, start, end)
    rows.append(
        Row(
            "Final",
            _bars(
                [
                    (
                        s.start,
                        s.end,
                        "gap" if s.is_gap else names(s.users),
                        "gap" if s.is_gap else "shift",
                    )
                    for s in final
                ],
                start,
                end,
            ),
        )
    )
    span = (end - start).total_seconds()
    now_left = _pct(now, start, span) if start <= now < end else None
    return Timeline(start, end, rows, _ticks(view, start, end, definition.zone), now_left, final)
