"""The final schedule: who is on call when, from a ``ScheduleDefinition``.

``final_shifts(definition, start, end) -> list[FinalShift]``
    Partitions [start, end) exactly: ordered, no overlap, no hole. Each piece is a
    ``FinalShift(start, end, users, source, is_gap)`` with UTC datetimes, where
    ``source`` is ``"override:<id>"``, ``"layer:<id>"`` or ``"gap"``. Overrides beat
    layers, higher layers beat lower ones, and time nobody covers is a gap
    (``users == ()``, ``is_gap``; an override naming nobody is also ``is_gap`` but
    keeps its override source). Neighbouring pieces with the same users and source
    are merged, so the result does not depend on how a range is split.

``on_call_at(definition, at) -> tuple[str, ...]``
    Users on call at one instant. Results are cached per (definition, UTC week) in
    a bounded LRU so "who is on call now" for many schedules is a bisect per
    schedule; ``clear_cache()`` empties it (definitions are immutable, so a changed
    schedule is a new key and stale entries simply age out).

How: every rotation, calendar shift and override becomes a UTC interval; each
layer is flattened with a boundary sweep (union of users where its rotations
overlap), then one more sweep over all layers and overrides keeps the
highest-priority interval at each instant. Cost is O(n log n) in the number of
shifts in the range, independent of its length in minutes.
"""

from __future__ import annotations

import threading
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from watchkeeper.schedules.model import (
    AnyLayer,
    CalendarLayer,
    Restriction,
    Rotation,
    ScheduleDefinition,
    ShiftUnit,
)

GAP_SOURCE = "gap"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_WEEK = timedelta(days=7)
_CACHE_SIZE = 4096

# (start, end, users, source) in UTC; the building block of every sweep.
_Interval = tuple[datetime, datetime, tuple[str, ...], str]


@dataclass(frozen=True, slots=True)
class FinalShift:
    """One piece of the final schedule."""

    start: datetime
    end: datetime
    users: tuple[str, ...]
    source: str
    is_gap: bool


def _utc(name: str, value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {value!r}")
    return value.astimezone(UTC)


def _local(day: date, at: time, zone: ZoneInfo) -> datetime:
    # A wall time that does not exist (spring-forward gap) resolves with fold=0 to
    # the pre-transition offset, i.e. one hour later on the new clock; an ambiguous
    # one (fall-back) means its first occurrence. Both are deterministic.
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def _rotation_shifts(
    rot: Rotation, zone: ZoneInfo, start: datetime, end: datetime
) -> list[tuple[datetime, datetime, tuple[str, ...]]]:
    """Shifts of one rotation clipped to [start, end), before restrictions."""
    lo = max(start, rot.start.astimezone(UTC))
    hi = end if rot.end is None else min(end, rot.end.astimezone(UTC))
    if lo >= hi:
        return []
    users = rot.users
    n = len(users)
    out: list[tuple[datetime, datetime, tuple[str, ...]]] = []
    if rot.shift_length.unit is ShiftUnit.HOURS:
        # Absolute durations: a 12-hour shift is 12 real hours even on DST nights.
        origin = rot.start.astimezone(UTC)
        step = timedelta(hours=rot.shift_length.count)
        k = (lo - origin) // step
        while True:
            s = origin + k * step
            if s >= hi:
                break
            out.append((max(s, lo), min(s + step, hi), (users[k % n],)))
            k += 1
        return out

    days = rot.shift_length.count * (7 if rot.shift_length.unit is ShiftUnit.WEEKS else 1)
    local_start = rot.start.astimezone(zone)
    handoff = rot.handoff_time or local_start.time().replace(tzinfo=None)
    anchor = local_start.date()

    def boundary(k: int) -> datetime:
        return _local(anchor + timedelta(days=k * days), handoff, zone)

    def index_of(t: datetime) -> int:
        k = (t.astimezone(zone).date() - anchor).days // days
        while boundary(k) > t:
            k -= 1
        while boundary(k + 1) <= t:
            k += 1
        return k

    # The shift containing the rotation start belongs to users[0], even when the
    # rotation starts before that day's handoff.
    first = index_of(rot.start.astimezone(UTC))
    k = index_of(lo)
    s = boundary(k)
    while s < hi:
        e = boundary(k + 1)
        out.append((max(s, lo), min(e, hi), (users[(k - first) % n],)))
        k, s = k + 1, e
    return out


def _restriction_windows(
    restrictions: Sequence[Restriction], zone: ZoneInfo, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """Union of the restriction windows overlapping [start, end), sorted."""
    windows: list[tuple[datetime, datetime]] = []
    # Start a day early: a window opening the previous evening may cross midnight.
    day = start.astimezone(zone).date() - timedelta(days=1)
    last = end.astimezone(zone).date()
    while day <= last:
        weekday = day.weekday()
        for r in restrictions:
            if weekday not in r.weekdays:
                continue
            ws = _local(day, r.start, zone)
            we = _local(day + timedelta(days=1) if r.end <= r.start else day, r.end, zone)
            if ws < we and ws < end and we > start:
                windows.append((ws, we))
        day += timedelta(days=1)
    windows.sort()
    merged: list[tuple[datetime, datetime]] = []
    for ws, we in windows:
        if merged and ws <= merged[-1][1]:
            if we > merged[-1][1]:
                merged[-1] = (merged[-1][0], we)
        else:
            merged.append((ws, we))
    return merged


def _restrict(
    shifts: list[tuple[datetime, datetime, tuple[str, ...]]],
    windows: list[tuple[datetime, datetime]],
) -> list[tuple[datetime, datetime, tuple[str, ...]]]:
    """Intersect sorted disjoint shifts with sorted disjoint windows."""
    out: list[tuple[datetime, datetime, tuple[str, ...]]] = []
    i = j = 0
    while i < len(shifts) and j < len(windows):
        s, e, users = shifts[i]
        ws, we = windows[j]
        lo, hi = max(s, ws), min(e, we)
        if lo < hi:
            out.append((lo, hi, users))
        if e <= we:
            i += 1
        else:
            j += 1
    return out


def _sweep(items: Sequence[_Interval], *, union: bool) -> list[_Interval]:
    """Flatten possibly overlapping intervals into disjoint ones.

    With ``union`` the users of all active items are combined in item order;
    otherwise the active item that comes last in ``items`` wins alone.
    """
    if not items:
        return []
    events: list[tuple[datetime, int]] = []
    for index, (s, e, _users, _source) in enumerate(items):
        events.append((s, index + 1))
        events.append((e, -(index + 1)))
    events.sort()
    out: list[_Interval] = []
    active: set[int] = set()
    n = len(events)
    i = 0
    while i < n:
        t = events[i][0]
        while i < n and events[i][0] == t:
            code = events[i][1]
            if code > 0:
                active.add(code - 1)
            else:
                active.discard(-code - 1)
            i += 1
        if not active or i == n:
            continue
        nxt = events[i][0]
        if union and len(active) > 1:
            ordered = sorted(active)
            users = tuple(dict.fromkeys(u for k in ordered for u in items[k][2]))
            out.append((t, nxt, users, items[ordered[0]][3]))
        else:
            top = items[max(active)]
            out.append((t, nxt, top[2], top[3]))
    return out


def _is_disjoint(items: Sequence[_Interval]) -> bool:
    return all(items[i][1] <= items[i + 1][0] for i in range(len(items) - 1))


def _layer_intervals(
    layer: AnyLayer, zone: ZoneInfo, start: datetime, end: datetime
) -> list[_Interval]:
    source = f"layer:{layer.id}"
    raw: list[_Interval] = []
    if isinstance(layer, CalendarLayer):
        for shift in layer.shifts:
            s, e = max(shift.start.astimezone(UTC), start), min(shift.end.astimezone(UTC), end)
            if s < e:
                raw.append((s, e, shift.users, source))
    else:
        for rot in layer.rotations:
            shifts = _rotation_shifts(rot, zone, start, end)
            if rot.restrictions and shifts:
                windows = _restriction_windows(rot.restrictions, zone, shifts[0][0], shifts[-1][1])
                shifts = _restrict(shifts, windows)
            raw.extend((s, e, users, source) for s, e, users in shifts)
    # The common case (one rotation, or a calendar without overlaps) needs no sweep.
    # Otherwise ``raw`` stays in definition order (rotation order, calendar order),
    # which fixes the order of unioned users whatever the queried range.
    ordered = sorted(raw, key=lambda item: item[0])
    return ordered if _is_disjoint(ordered) else _sweep(raw, union=True)


def final_shifts(
    definition: ScheduleDefinition, start: datetime, end: datetime
) -> list[FinalShift]:
    """The final schedule over [start, end), gaps included."""
    start, end = _utc("start", start), _utc("end", end)
    if end <= start:
        raise ValueError(f"end must be after start ({start} → {end})")
    zone = definition.zone
    items: list[_Interval] = []
    for layer in definition.layers:
        items.extend(_layer_intervals(layer, zone, start, end))
    for ov in definition.overrides:
        s, e = max(ov.start.astimezone(UTC), start), min(ov.end.astimezone(UTC), end)
        if s < e:
            items.append((s, e, ov.users, f"override:{ov.id}"))
    return _fill_and_merge(_sweep(items, union=False), start, end)


def _fill_and_merge(
    pieces: Iterable[_Interval], start: datetime, end: datetime
) -> list[FinalShift]:
    out: list[FinalShift] = []

    def emit(s: datetime, e: datetime, users: tuple[str, ...], source: str) -> None:
        if out and out[-1].users == users and out[-1].source == source:
            prev = out[-1]
            out[-1] = FinalShift(prev.start, e, users, source, prev.is_gap)
        else:
            out.append(FinalShift(s, e, users, source, not users))

    cursor = start
    for s, e, users, source in pieces:
        if s > cursor:
            emit(cursor, s, (), GAP_SOURCE)
        emit(s, e, users, source)
        cursor = e
    if cursor < end:
        emit(cursor, end, (), GAP_SOURCE)
    return out


_cache: OrderedDict[tuple[ScheduleDefinition, int], tuple[list[datetime], list[FinalShift]]]
_cache = OrderedDict()
_cache_lock = threading.Lock()


def on_call_at(definition: ScheduleDefinition, at: datetime) -> tuple[str, ...]:
    """Users on call at ``at`` (empty during a gap)."""
    at = _utc("at", at)
    week = (at - _EPOCH) // _WEEK
    key = (definition, week)
    with _cache_lock:
        entry = _cache.get(key)
        if entry is not None:
            _cache.move_to_end(key)
    if entry is None:
        week_start = _EPOCH + week * _WEEK
        shifts = final_shifts(definition, week_start, week_start + _WEEK)
        entry = ([s.start for s in shifts], shifts)
        with _cache_lock:
            _cache[key] = entry
            while len(_cache) > _CACHE_SIZE:
                _cache.popitem(last=False)
    starts, shifts = entry
    return shifts[bisect_right(starts, at) - 1].users


def clear_cache() -> None:
    """Forget cached on-call lookups."""
    with _cache_lock:
        _cache.clear()
