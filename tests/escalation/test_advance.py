"""The pure next-step function, at fixed instants and over random chains."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.escalation.strategies import chains
from watchkeeper.escalation.advance import Decision, EscalationState, Facts, advance
from watchkeeper.escalation.steps import (
    MAX_REPEAT_TIMES,
    ChainSnapshot,
    ContinueIfAlertRate,
    ContinueIfTimeWindow,
    DeclareIncident,
    NotifyOnCall,
    NotifyRoundRobin,
    NotifyTeam,
    NotifyUsers,
    Repeat,
    Resolve,
    Step,
    TriggerWebhook,
    Wait,
)

BERLIN = ZoneInfo("Europe/Berlin")
T0 = datetime(2024, 5, 6, 12, 0, tzinfo=UTC)  # a Monday
NOTIFY_STEPS = (NotifyUsers, NotifyOnCall, NotifyTeam, NotifyRoundRobin)


def chain(*steps: Step, tz: str = "UTC") -> ChainSnapshot:
    return ChainSnapshot(1, "test", tz, steps)


def run(
    snapshot: ChainSnapshot,
    *,
    start: datetime = T0,
    facts: Facts | None = None,
    late: list[int] | None = None,
) -> list[Decision]:
    """Drive the chain like the engine does, waking each time at (or after) wake_at."""
    if facts is None:
        facts = Facts(dict.fromkeys(snapshot.alert_rate_windows(), 1000))
    state, now, decisions = EscalationState.start(start), start, []
    delays = iter(late or [])
    for _ in range(1000):
        decision = advance(snapshot, state, facts, now)
        decisions.append(decision)
        if decision.finished:
            return decisions
        assert decision.wake_at is not None
        state, now = decision.state, decision.wake_at + timedelta(seconds=next(delays, 0))
    raise AssertionError("escalation did not finish")


def effects(decisions: list[Decision]) -> list[object]:
    return [a.effect for d in decisions for a in d.actions]


def test_runs_instant_steps_together_until_a_wait() -> None:
    snapshot = chain(NotifyOnCall(7), TriggerWebhook(3), Wait(5), NotifyTeam(2, important=True))
    first = advance(snapshot, EscalationState.start(T0), Facts(), T0)
    assert [a.effect for a in first.actions] == [NotifyOnCall(7), TriggerWebhook(3)]
    assert first.wake_at == T0 + timedelta(minutes=5)
    assert not first.finished
    second = advance(snapshot, first.state, Facts(), T0 + timedelta(minutes=5))
    assert [(a.step_index, a.effect) for a in second.actions] == [(3, NotifyTeam(2, True))]
    assert second.finished
    assert second.reason == "end of chain"
    assert second.wake_at is None


def test_early_and_repeated_calls_do_nothing() -> None:
    snapshot = chain(Wait(10), NotifyUsers((1,)))
    waiting = advance(snapshot, EscalationState.start(T0), Facts(), T0)
    early = advance(snapshot, waiting.state, Facts(), T0 + timedelta(minutes=9))
    assert early.actions == ()
    assert early.state == waiting.state
    done = advance(snapshot, waiting.state, Facts(), T0 + timedelta(minutes=10))
    again = advance(snapshot, done.state, Facts(), T0 + timedelta(hours=1))
    assert again.actions == ()
    assert again.finished


def test_empty_chain_finishes_at_once() -> None:
    decision = advance(chain(), EscalationState.start(T0), Facts(), T0)
    assert decision.finished
    assert decision.actions == ()


def test_resolve_acts_then_finishes() -> None:
    decisions = run(chain(DeclareIncident("major"), Resolve(), NotifyUsers((1,))))
    assert effects(decisions) == [DeclareIncident("major"), Resolve()]
    assert decisions[-1].reason == "resolved by step 2"


def test_repeat_restarts_from_the_top_then_goes_on() -> None:
    decisions = run(chain(NotifyUsers((1,)), Wait(5), Repeat(2), NotifyTeam(9)))
    assert effects(decisions) == [NotifyUsers((1,))] * 3 + [NotifyTeam(9)]
    assert [a.repeat for d in decisions for a in d.actions] == [0, 1, 2, 2]


def test_repeat_without_wait_runs_its_rounds_in_one_call() -> None:
    decisions = run(chain(NotifyUsers((1,)), Repeat(5)))
    assert len(decisions) == 1
    assert len(decisions[0].actions) == 6
    only_repeat = run(chain(Repeat(5)))
    assert len(only_repeat) == 1
    assert only_repeat[0].reason == "end of chain"


def test_repeat_steps_share_one_counter() -> None:
    snapshot = chain(NotifyUsers((1,)), Repeat(2), NotifyUsers((2,)), Repeat(3))
    sent = effects(run(snapshot))
    assert sent.count(NotifyUsers((1,))) == 4  # first round + 3 restarts in all
    assert sent.count(NotifyUsers((2,))) == 2


def test_round_robin_cycles_through_everyone() -> None:
    snapshot = chain(NotifyRoundRobin((11, 12, 13)), Wait(1), Repeat(5))
    users = [e.user_ids for e in effects(run(snapshot)) if isinstance(e, NotifyUsers)]
    assert users == [(11,), (12,), (13,), (11,), (12,), (13,)]


def test_round_robin_offset_carries_the_rotation() -> None:
    snapshot = chain(NotifyRoundRobin((11, 12, 13), important=True), Repeat(1))
    state = EscalationState.start(T0, round_robin_offset=4)
    decision = advance(snapshot, state, Facts(), T0)
    assert [a.effect for a in decision.actions] == [
        NotifyUsers((12,), important=True),
        NotifyUsers((13,), important=True),
    ]


def test_alert_rate_continues_only_above_threshold() -> None:
    snapshot = chain(ContinueIfAlertRate(threshold=3, minutes=10), NotifyUsers((1,)))
    above = advance(snapshot, EscalationState.start(T0), Facts({10: 4}), T0)
    assert [a.effect for a in above.actions] == [NotifyUsers((1,))]
    assert above.reason == "end of chain"
    at = advance(snapshot, EscalationState.start(T0), Facts({10: 3}), T0)
    assert at.actions == ()
    assert at.reason == "alert rate too low: 3 alerts in the last 10 minutes, not more than 3"
    with pytest.raises(ValueError, match="last 10 minutes"):
        advance(snapshot, EscalationState.start(T0), Facts({60: 9}), T0)


def window_passes(step: ContinueIfTimeWindow, at: datetime) -> bool:
    decision = advance(chain(step, NotifyUsers((1,)), tz="Europe/Berlin"),
                       EscalationState.start(at), Facts(), at)  # fmt: skip
    return bool(decision.actions)


OFFICE = ContinueIfTimeWindow((0, 1, 2, 3, 4), time(9), time(17))
FRIDAY_NIGHT = ContinueIfTimeWindow((4,), time(22), time(6))
SATURDAY_NIGHT = ContinueIfTimeWindow((5,), time(22), time(6))
SUNDAY_2_TO_3 = ContinueIfTimeWindow((6,), time(2), time(3))


@pytest.mark.parametrize(
    ("step", "utc", "inside"),
    [
        (OFFICE, "2024-01-15T07:59", False),  # Mon 08:59 CET
        (OFFICE, "2024-01-15T08:00", True),  # Mon 09:00 CET
        (OFFICE, "2024-01-15T15:59", True),  # Mon 16:59 CET
        (OFFICE, "2024-01-15T16:00", False),  # Mon 17:00 CET, end is exclusive
        (OFFICE, "2024-07-15T06:59", False),  # Mon 08:59 CEST
        (OFFICE, "2024-07-15T07:00", True),  # Mon 09:00 CEST
        (OFFICE, "2024-07-15T15:00", False),  # Mon 17:00 CEST
        (OFFICE, "2024-07-13T10:00", False),  # Saturday
        (FRIDAY_NIGHT, "2024-01-19T20:59", False),  # Fri 21:59
        (FRIDAY_NIGHT, "2024-01-19T21:00", True),  # Fri 22:00
        (FRIDAY_NIGHT, "2024-01-20T04:59", True),  # Sat 05:59 still Friday's window
        (FRIDAY_NIGHT, "2024-01-20T05:00", False),  # Sat 06:00
        (FRIDAY_NIGHT, "2024-01-20T21:30", False),  # Sat 22:30 is not Friday
        (SATURDAY_NIGHT, "2024-03-31T00:30", True),  # spring night: Sun 01:30 CET
        (SATURDAY_NIGHT, "2024-03-31T03:30", True),  # Sun 05:30 CEST
        (SATURDAY_NIGHT, "2024-03-31T04:00", False),  # Sun 06:00 CEST
    ],
)
def test_time_window_at_fixed_instants(step: ContinueIfTimeWindow, utc: str, inside: bool) -> None:
    at = datetime.fromisoformat(utc).replace(tzinfo=UTC)
    assert window_passes(step, at) is inside


def minutes_inside(step: ContinueIfTimeWindow, start_utc: datetime, hours: int) -> int:
    return sum(window_passes(step, start_utc + timedelta(minutes=m)) for m in range(hours * 60))


def test_skipped_spring_hour_never_matches() -> None:
    # 2024-03-31: Berlin clocks jump from 02:00 CET to 03:00 CEST.
    assert minutes_inside(SUNDAY_2_TO_3, datetime(2024, 3, 30, 22, tzinfo=UTC), 6) == 0


def test_repeated_autumn_hour_matches_twice() -> None:
    # 2024-10-27: Berlin clocks fall back from 03:00 CEST to 02:00 CET.
    assert minutes_inside(SUNDAY_2_TO_3, datetime(2024, 10, 26, 22, tzinfo=UTC), 6) == 120


def test_stop_reason_names_the_local_time() -> None:
    at = datetime(2024, 7, 13, 10, 0, tzinfo=UTC)
    decision = advance(chain(OFFICE, tz="Europe/Berlin"), EscalationState.start(at), Facts(), at)
    assert decision.reason == (
        "outside the time window mon,tue,wed,thu,fri 09:00-17:00 (sat 12:00 Europe/Berlin)"
    )


def test_wait_counts_elapsed_time_across_dst() -> None:
    before = datetime(2024, 3, 31, 1, 30, tzinfo=BERLIN)  # 00:30 UTC, before the jump
    decision = advance(chain(Wait(60)), EscalationState.start(before), Facts(), before)
    assert decision.wake_at == datetime(2024, 3, 31, 1, 30, tzinfo=UTC)
    assert decision.wake_at == datetime(2024, 3, 31, 3, 30, tzinfo=BERLIN)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        advance(chain(), EscalationState.start(T0), Facts(), datetime(2024, 1, 1))


@given(chains, st.lists(st.integers(0, 600), max_size=40), st.integers(0, 8))
@settings(max_examples=300)
def test_random_chains_terminate_with_monotone_wakes_and_bounded_pages(
    snapshot: ChainSnapshot, delays: list[int], alert_count: int
) -> None:
    facts = Facts(dict.fromkeys(snapshot.alert_rate_windows(), alert_count))
    decisions = run(snapshot, late=delays, facts=facts)
    waits = sum(isinstance(s, Wait) for s in snapshot.steps)
    repeat_limit = max((s.times for s in snapshot.steps if isinstance(s, Repeat)), default=0)
    assert repeat_limit <= MAX_REPEAT_TIMES
    assert len(decisions) <= (repeat_limit + 1) * waits + 1
    wakes = [d.wake_at for d in decisions if d.wake_at is not None]
    assert wakes == sorted(wakes)
    notify_steps = sum(isinstance(s, NOTIFY_STEPS) for s in snapshot.steps)
    notifications = [e for e in effects(decisions) if isinstance(e, NOTIFY_STEPS)]
    assert len(notifications) <= (repeat_limit + 1) * notify_steps
    assert decisions[-1].finished


@given(chains, st.integers(0, 5), st.integers(0, 20))
def test_state_json_round_trips(snapshot: ChainSnapshot, offset: int, calls: int) -> None:
    state, now = EscalationState.start(T0, round_robin_offset=offset), T0
    for _ in range(calls):
        decision = advance(snapshot, state, Facts(dict.fromkeys((5, 10, 60), 9)), now)
        state, now = decision.state, decision.wake_at or now
    assert EscalationState.from_json(json.loads(json.dumps(state.to_json()))) == state
