"""Property tests: the final schedule is a partition with the documented precedence."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.schedules.strategies import (
    definitions,
    explicit_shifts,
    probe_instants,
    ranges,
    shift_at,
)
from watchkeeper.schedules.model import CalendarLayer, ExplicitShift, ScheduleDefinition
from watchkeeper.schedules.resolve import FinalShift, clear_cache, final_shifts, on_call_at

# Per-test settings: a global profile would leak into other packages' tests.
PROPERTY = settings(max_examples=150, deadline=None)


def assert_partition(shifts: list[FinalShift], start: datetime, end: datetime) -> None:
    assert shifts[0].start == start
    assert shifts[-1].end == end
    for shift in shifts:
        assert shift.start < shift.end
        assert shift.is_gap == (not shift.users)
        assert (shift.source == "gap") <= shift.is_gap
    for a, b in pairwise(shifts):
        assert a.end == b.start, "hole or overlap"
        assert (a.users, a.source) != (b.users, b.source), "unmerged neighbours"


@PROPERTY
@given(definitions(), ranges())
def test_final_shifts_partition_the_range(
    definition: ScheduleDefinition, span: tuple[datetime, datetime]
) -> None:
    assert_partition(final_shifts(definition, *span), *span)


@PROPERTY
@given(definitions(), ranges())
def test_overrides_always_win(
    definition: ScheduleDefinition, span: tuple[datetime, datetime]
) -> None:
    shifts = final_shifts(definition, *span)
    for at in probe_instants(shifts):
        covering = [o for o in definition.overrides if o.start <= at < o.end]
        shift = shift_at(shifts, at)
        if covering:
            # The last override in the tuple wins where overrides overlap.
            assert shift.source == f"override:{covering[-1].id}"
            assert shift.users == covering[-1].users
        else:
            assert not shift.source.startswith("override:")


@PROPERTY
@given(definitions(), ranges())
def test_higher_layers_always_win(
    definition: ScheduleDefinition, span: tuple[datetime, datetime]
) -> None:
    shifts = final_shifts(replace(definition, overrides=()), *span)
    # Each layer alone is the oracle; the stack must show the highest covering one.
    alone = [
        final_shifts(ScheduleDefinition(definition.time_zone, (layer,)), *span)
        for layer in definition.layers
    ]
    for at in probe_instants(shifts):
        expected: tuple[tuple[str, ...], str] = ((), "gap")
        for layer_shifts in alone:
            piece = shift_at(layer_shifts, at)
            if not piece.is_gap:
                expected = (piece.users, piece.source)
        got = shift_at(shifts, at)
        assert (got.users, got.source) == expected


@PROPERTY
@given(definitions(), ranges(), st.floats(min_value=0.01, max_value=0.99))
def test_splitting_the_range_changes_nothing(
    definition: ScheduleDefinition, span: tuple[datetime, datetime], fraction: float
) -> None:
    start, end = span
    middle = start + (end - start) * fraction
    left, right = final_shifts(definition, start, middle), final_shifts(definition, middle, end)
    joined = left + right
    if left[-1].users == right[0].users and left[-1].source == right[0].source:
        joined = [*left[:-1], replace(left[-1], end=right[0].end), *right[1:]]
    assert joined == final_shifts(definition, start, end)


@PROPERTY
@given(st.lists(explicit_shifts(), min_size=1, max_size=8), ranges())
def test_calendar_layer_is_the_union_of_its_shifts(
    shifts: list[ExplicitShift], span: tuple[datetime, datetime]
) -> None:
    definition = ScheduleDefinition("UTC", (CalendarLayer("cal", "cal", tuple(shifts)),))
    result = final_shifts(definition, *span)
    for at in probe_instants(result):
        expected: list[str] = []
        for shift in shifts:  # brute force, in calendar order
            if shift.start <= at < shift.end:
                for user in shift.users:
                    if user not in expected:
                        expected.append(user)
        assert shift_at(result, at).users == tuple(expected)


@PROPERTY
@given(definitions(), ranges())
def test_on_call_at_agrees_with_final_shifts(
    definition: ScheduleDefinition, span: tuple[datetime, datetime]
) -> None:
    clear_cache()
    shifts = final_shifts(definition, *span)
    for at in probe_instants(shifts)[:6]:
        assert on_call_at(definition, at) == shift_at(shifts, at).users
