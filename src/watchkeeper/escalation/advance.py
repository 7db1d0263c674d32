"""Running an escalation chain: the pure next-step function.

``advance(snapshot, state, facts, now)`` is called by the engine when an
escalation is due (when it starts, then each time its ``wake_at`` passes).
It returns a ``Decision``: the actions to carry out now, and the new state,
which either waits until ``wake_at`` or is finished with a reason. The engine
stores the new state and performs the actions in the same transaction as
far as it can; it stops calling ``advance`` when the group is acknowledged,
resolved or silenced (those are the shell's business, not the chain's).

How the steps behave:

* Steps run in order. All steps up to the next ``wait`` run in one call, at
  the same instant ``now``; the chain is finished when it runs off its end.
* ``wait(minutes)`` ends the call; the next call is due at ``now + minutes``,
  counted in elapsed time (UTC), so a wait across a DST change still lasts
  exactly that long. A call before ``wake_at`` does nothing and changes
  nothing, so an early or duplicate wake-up is harmless. A late wake-up
  counts the next wait from when it actually ran.
* ``notify_users``, ``notify_on_call``, ``notify_team``, ``trigger_webhook``
  and ``declare_incident`` become actions as they are. Who is on call, and
  who is in the team, is looked up by the shell when it carries the action
  out, not when the chain was saved.
* ``notify_round_robin`` notifies one user: the step's n-th run in this
  escalation notifies ``user_ids[(round_robin_offset + n) % len(user_ids)]``,
  so each run (each repeat of the chain) reaches the next person. The shell
  may pick ``round_robin_offset`` when the escalation starts, for example to
  carry the rotation over from one alert group to the next.
* ``continue_if_time_window`` goes on only if ``now``, read on the wall clock
  of the chain's time zone, is on a listed weekday between start (inclusive)
  and end (exclusive); otherwise the escalation is finished. When end is not
  after start the window runs past midnight and belongs to the day it starts
  on (Fri 22:00-06:00 covers Friday night until Saturday 06:00), and start ==
  end is a 24-hour window. Because only the instant ``now`` is read, DST is
  simple: on the night clocks go forward the skipped local hour never
  matches, and in the autumn the repeated hour matches twice.
* ``continue_if_alert_rate(threshold, minutes)`` goes on only if the group
  received more than ``threshold`` alerts in the ``minutes`` before ``now``;
  otherwise the escalation is finished. The shell supplies these counts in
  ``Facts.alert_counts``, keyed by minutes (``ChainSnapshot.alert_rate_windows``
  says which are needed).
* ``repeat(times)`` starts the chain again from its first step if fewer than
  ``times`` restarts have happened so far, and otherwise is passed over, so
  the steps after it run once the repeats are used up. All repeat steps of a
  chain share one restart counter, so a chain runs at most ``1 + 5`` times
  and every step at most 6 times, however the repeats are placed. A chain
  without a wait runs all its rounds in a single call.
* ``resolve`` resolves the group and finishes the escalation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from watchkeeper.escalation.steps import (
    MAX_REPEAT_TIMES,
    WEEKDAYS,
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
    TriggerWebhook,
    Wait,
)

__all__ = ["Action", "Decision", "Effect", "EscalationState", "Facts", "advance"]

Effect = NotifyUsers | NotifyOnCall | NotifyTeam | TriggerWebhook | Resolve | DeclareIncident


@dataclass(frozen=True)
class EscalationState:
    """Where a running escalation is; stored by the shell between calls."""

    started_at: datetime
    step_index: int = 0  # the next step to run
    repeats_done: int = 0
    round_robin_offset: int = 0
    round_robin_turns: tuple[tuple[int, int], ...] = ()  # (step index, runs so far), sorted
    wake_at: datetime | None = None
    finished_reason: str | None = None

    @classmethod
    def start(cls, now: datetime, *, round_robin_offset: int = 0) -> EscalationState:
        """The state of an escalation that begins at ``now``."""
        return cls(started_at=_utc(now), round_robin_offset=round_robin_offset)

    def to_json(self) -> dict[str, Any]:
        """A JSON object for storage."""
        return {
            "started_at": self.started_at.isoformat(),
            "step_index": self.step_index,
            "repeats_done": self.repeats_done,
            "round_robin_offset": self.round_robin_offset,
            "round_robin_turns": [list(p) for p in self.round_robin_turns],
            "wake_at": self.wake_at.isoformat() if self.wake_at else None,
            "finished_reason": self.finished_reason,
        }

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> EscalationState:
        """Read a stored state."""
        wake_at = obj.get("wake_at")
        return cls(
            started_at=datetime.fromisoformat(obj["started_at"]),
            step_index=int(obj["step_index"]),
            repeats_done=int(obj["repeats_done"]),
            round_robin_offset=int(obj.get("round_robin_offset", 0)),
            round_robin_turns=tuple((int(i), int(n)) for i, n in obj["round_robin_turns"]),
            wake_at=datetime.fromisoformat(wake_at) if wake_at else None,
            finished_reason=obj.get("finished_reason"),
        )


@dataclass(frozen=True)
class Facts:
    """What the shell looked up for this call."""

    # minutes -> alerts the group received in the last that many minutes
    alert_counts: Mapping[int, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Action:
    """Something to carry out now, and which step (and round) asked for it."""

    step_index: int
    repeat: int  # restarts before this run: 0 on the first round
    effect: Effect


@dataclass(frozen=True)
class Decision:
    """The result of one ``advance`` call."""

    actions: tuple[Action, ...]
    state: EscalationState

    @property
    def finished(self) -> bool:
        """Whether the escalation has ended; no further calls are needed."""
        return self.state.finished_reason is not None

    @property
    def reason(self) -> str | None:
        """Why the escalation ended, if it did."""
        return self.state.finished_reason

    @property
    def wake_at(self) -> datetime | None:
        """When to call ``advance`` next (``None`` once finished)."""
        return None if self.finished else self.state.wake_at


def advance(
    snapshot: ChainSnapshot, state: EscalationState, facts: Facts, now: datetime
) -> Decision:
    """Run the chain from ``state`` up to the next wait or its end, at ``now``."""
    now = _utc(now)
    if state.finished_reason is not None or (state.wake_at is not None and now < state.wake_at):
        return Decision((), state)
    steps = snapshot.steps
    index, repeats = state.step_index, state.repeats_done
    turns = dict(state.round_robin_turns)
    actions: list[Action] = []

    def stop(reason: str) -> Decision:
        return Decision(
            tuple(actions),
            replace(
                state,
                step_index=index,
                repeats_done=repeats,
                round_robin_turns=tuple(sorted(turns.items())),
                wake_at=None,
                finished_reason=reason,
            ),
        )

    # Every round visits each step once and there are at most MAX_REPEAT_TIMES
    # restarts, so this bound is never reached; it guards against a bug
    # turning into an endless loop inside the engine.
    for _ in range((MAX_REPEAT_TIMES + 1) * (len(steps) + 1)):
        if index >= len(steps):
            return stop("end of chain")
        step = steps[index]
        match step:
            case Wait(minutes=minutes):
                return Decision(
                    tuple(actions),
                    replace(
                        state,
                        step_index=index + 1,
                        repeats_done=repeats,
                        round_robin_turns=tuple(sorted(turns.items())),
                        wake_at=now + timedelta(minutes=minutes),
                    ),
                )
            case NotifyRoundRobin(user_ids=user_ids, important=important):
                run = turns.get(index, 0)
                turns[index] = run + 1
                user = user_ids[(state.round_robin_offset + run) % len(user_ids)]
                actions.append(Action(index, repeats, NotifyUsers((user,), important)))
            case ContinueIfTimeWindow():
                local = now.astimezone(snapshot.zone)
                if not step.contains(local):
                    when = f"{WEEKDAYS[local.weekday()]} {local:%H:%M} {snapshot.time_zone}"
                    return stop(f"outside the time window {step.describe()} ({when})")
            case ContinueIfAlertRate(threshold=threshold, minutes=minutes):
                if minutes not in facts.alert_counts:
                    raise ValueError(f"facts lack the alert count of the last {minutes} minutes")
                count = facts.alert_counts[minutes]
                if count <= threshold:
                    return stop(
                        f"alert rate too low: {count} alerts in the last {minutes} minutes, "
                        f"not more than {threshold}"
                    )
            case Repeat(times=times):
                if repeats < times:
                    repeats += 1
                    index = 0
                    continue
            case Resolve():
                actions.append(Action(index, repeats, step))
                return stop(f"resolved by step {index + 1}")
            case _:
                actions.append(Action(index, repeats, step))
        index += 1
    raise AssertionError("escalation step loop exceeded its bound")


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("escalation times must be timezone-aware")
    return moment.astimezone(UTC)
