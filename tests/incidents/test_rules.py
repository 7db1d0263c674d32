"""Pure incident rules at fixed instants: transitions, metrics, reminder timing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from watchkeeper.errors import Conflict
from watchkeeper.incidents import lifecycle, review
from watchkeeper.incidents.lifecycle import GroupTimes, compute_metrics, update_reminder_due
from watchkeeper.incidents.schemas import RoleOut, TimelineEntryOut

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)


@pytest.mark.parametrize(
    ("current", "wanted"),
    [
        ("investigating", "identified"),
        ("investigating", "resolved"),
        ("identified", "monitoring"),
        ("monitoring", "investigating"),
        ("resolved", "investigating"),
    ],
)
def test_allowed_transitions(current: str, wanted: str) -> None:
    lifecycle.check_transition(1, current, wanted)


@pytest.mark.parametrize(
    ("current", "wanted", "message"),
    [
        ("resolved", "monitoring", "cannot move from resolved to monitoring"),
        ("resolved", "identified", "it can move to: investigating"),
        ("identified", "identified", "already identified"),
    ],
)
def test_illegal_transitions(current: str, wanted: str, message: str) -> None:
    with pytest.raises(Conflict, match=message):
        lifecycle.check_transition(7, current, wanted)


def test_every_status_can_eventually_resolve() -> None:
    for status in lifecycle.ACTIVE:
        assert "resolved" in lifecycle.TRANSITIONS[status]


def test_metrics_from_first_group_and_its_acknowledgement() -> None:
    groups = [
        GroupTimes(created_at=T0 + 5 * MIN, first_acknowledged_at=None),
        GroupTimes(created_at=T0, first_acknowledged_at=T0 + 4 * MIN),
    ]
    m = compute_metrics(
        declared_at=T0 + 10 * MIN,
        groups=groups,
        mitigated_at=T0 + 30 * MIN,
        impact_end=None,
        resolved_at=T0 + 60 * MIN,
    )
    assert m.started_at == T0
    assert m.tta_seconds == 240
    assert m.ttm_seconds == 1800
    assert m.ttr_seconds == 3600


def test_declaration_counts_as_acknowledgement_and_impact_end_wins() -> None:
    m = compute_metrics(
        declared_at=T0 + 2 * MIN,
        groups=[GroupTimes(created_at=T0, first_acknowledged_at=T0 + 9 * MIN)],
        mitigated_at=T0 + 30 * MIN,
        impact_end=T0 + 20 * MIN,
        resolved_at=None,
    )
    assert m.tta_seconds == 120
    assert m.ttm_seconds == 1200
    assert m.ttr_seconds is None


def test_metrics_without_groups_start_at_declaration() -> None:
    m = compute_metrics(
        declared_at=T0, groups=[], mitigated_at=None, impact_end=None, resolved_at=None
    )
    assert (m.started_at, m.tta_seconds, m.ttm_seconds) == (T0, 0, None)


def test_update_reminder_once_per_period() -> None:
    every = 30 * MIN
    assert not update_reminder_due(
        last_update_at=T0, reminded_at=None, every=every, now=T0 + 29 * MIN
    )
    assert update_reminder_due(last_update_at=T0, reminded_at=None, every=every, now=T0 + every)
    reminded = T0 + 31 * MIN
    assert not update_reminder_due(
        last_update_at=T0, reminded_at=reminded, every=every, now=T0 + 59 * MIN
    )
    assert update_reminder_due(
        last_update_at=T0, reminded_at=reminded, every=every, now=T0 + 60 * MIN
    )


@given(
    st.integers(min_value=1, max_value=240),
    st.lists(st.integers(min_value=0, max_value=2000), min_size=1, max_size=40),
)
def test_reminders_never_exceed_periods(every_minutes: int, offsets: list[int]) -> None:
    """However often the task runs, at most one reminder per elapsed period."""
    every = timedelta(minutes=every_minutes)
    reminded: datetime | None = None
    sent = 0
    for offset in sorted(offsets):
        now = T0 + timedelta(minutes=offset)
        if update_reminder_due(last_update_at=T0, reminded_at=reminded, every=every, now=now):
            reminded, sent = now, sent + 1
    last = T0 + timedelta(minutes=max(offsets))
    assert sent <= (last - T0) // every


def _entry(entry_id: int, kind: str, actor_id: int | None, **extra: object) -> TimelineEntryOut:
    return TimelineEntryOut(
        id=entry_id,
        at=T0 + entry_id * MIN,
        kind=kind,
        actor_type="user" if actor_id is not None else "system",
        actor_id=actor_id,
        actor_name=f"user{actor_id}" if actor_id is not None else "escalation",
        text=f"entry {entry_id}",
        details=dict(extra),
        pinned=kind in ("declared", "decision"),
        history=[],
    )


def test_responders_are_credited_and_automation_is_not() -> None:
    entries = [
        _entry(1, "declared", None),
        _entry(2, "note", 2),
        _entry(3, "note", 2),
        _entry(4, "decision", 1),
        _entry(5, "group_acknowledged", 3, group_id=9),
    ]
    roles = [
        RoleOut(
            role="commander", label="Incident commander", user_id=1, user_name="Ana", assigned_at=T0
        )
    ]
    credits = review.credit_responders(
        entries=entries,
        roles=roles,
        acknowledgers=[(8, 3, "ben@example.com"), (7, None, "someone@elsewhere")],
        names={1: "Ana", 2: "Chloé", 3: "Ben"},
    )
    assert [(c.name, c.roles, c.contributions) for c in credits] == [
        ("Ana", ["Incident commander"], ["recorded 1 decision"]),
        ("Ben", [], ["acknowledged alert group #8, #9"]),
        ("Chloé", [], ["wrote 2 notes"]),
        ("someone@elsewhere", [], ["acknowledged alert group #7"]),
    ]
    assert [t.entry_id for t in review.prefill_timeline(entries)] == [1, 4]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "—"),
        (0, "0 min"),
        (89, "1 min"),
        (3600, "1 h"),
        (90_000, "1 d 1 h"),
        (3900, "1 h 5 min"),
    ],
)
def test_duration_text(seconds: int | None, text: str) -> None:
    assert review.duration(seconds) == text
