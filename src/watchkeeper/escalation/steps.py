"""Escalation chain steps and the chain snapshot, with their JSON form.

When an alert group starts escalating, the shell stores ``ChainSnapshot``
as JSON next to the group, so later edits of the chain do not change an
escalation that is already running. ``advance`` (in ``escalation.advance``)
runs a snapshot; what each step means is documented there.

JSON form of a snapshot::

    {"version": 1, "chain_id": 3, "name": "Payments", "time_zone": "Europe/Berlin",
     "steps": [{"type": "notify_on_call", "schedule_id": 7, "important": false},
               {"type": "wait", "minutes": 5},
               {"type": "continue_if_time_window", "weekdays": ["mon", "tue"],
                "start": "09:00", "end": "17:00"},
               {"type": "repeat", "times": 2}]}
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime, time
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "MAX_REPEAT_TIMES",
    "MAX_STEPS",
    "MAX_WAIT_MINUTES",
    "WEEKDAYS",
    "ChainError",
    "ChainSnapshot",
    "ContinueIfAlertRate",
    "ContinueIfTimeWindow",
    "DeclareIncident",
    "NotifyOnCall",
    "NotifyRoundRobin",
    "NotifyTeam",
    "NotifyUsers",
    "Repeat",
    "Resolve",
    "Step",
    "TriggerWebhook",
    "Wait",
    "step_from_json",
    "step_to_json",
]

MAX_REPEAT_TIMES = 5
MAX_WAIT_MINUTES = 7 * 24 * 60
MAX_STEPS = 50
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # index = datetime.weekday()
SNAPSHOT_VERSION = 1


class ChainError(ValueError):
    """An escalation chain, step or snapshot is invalid."""


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ChainError(message)


def _is_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _check_ids(ids: tuple[int, ...], what: str) -> None:
    _check(isinstance(ids, tuple) and len(ids) > 0, f"{what} needs at least one id")
    _check(all(_is_id(i) for i in ids), f"{what} ids must be positive integers")


def _check_int(value: object, low: int, high: int, what: str) -> None:
    ok = isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
    _check(ok, f"{what} must be an integer from {low} to {high}")


def _check_important(value: object) -> None:
    _check(isinstance(value, bool), "important must be true or false")


class _StepBase:
    type: ClassVar[str]


@dataclass(frozen=True)
class Wait(_StepBase):
    """Pause the escalation for some minutes."""

    type: ClassVar[str] = "wait"
    minutes: int

    def __post_init__(self) -> None:
        _check_int(self.minutes, 1, MAX_WAIT_MINUTES, "wait minutes")


@dataclass(frozen=True)
class NotifyUsers(_StepBase):
    """Notify these users, with their default or important notification rules."""

    type: ClassVar[str] = "notify_users"
    user_ids: tuple[int, ...]
    important: bool = False

    def __post_init__(self) -> None:
        _check_ids(self.user_ids, "notify_users")
        _check_important(self.important)


@dataclass(frozen=True)
class NotifyOnCall(_StepBase):
    """Notify whoever is on call in a schedule when the step runs."""

    type: ClassVar[str] = "notify_on_call"
    schedule_id: int
    important: bool = False

    def __post_init__(self) -> None:
        _check(_is_id(self.schedule_id), "schedule_id must be a positive integer")
        _check_important(self.important)


@dataclass(frozen=True)
class NotifyTeam(_StepBase):
    """Notify every member of a team."""

    type: ClassVar[str] = "notify_team"
    team_id: int
    important: bool = False

    def __post_init__(self) -> None:
        _check(_is_id(self.team_id), "team_id must be a positive integer")
        _check_important(self.important)


@dataclass(frozen=True)
class NotifyRoundRobin(_StepBase):
    """Notify one user of the list, the next one each time the step runs."""

    type: ClassVar[str] = "notify_round_robin"
    user_ids: tuple[int, ...]
    important: bool = False

    def __post_init__(self) -> None:
        _check_ids(self.user_ids, "notify_round_robin")
        _check_important(self.important)


@dataclass(frozen=True)
class ContinueIfTimeWindow(_StepBase):
    """Go on only inside a weekly window, read on the chain's local clock."""

    type: ClassVar[str] = "continue_if_time_window"
    weekdays: tuple[int, ...]  # 0 = Monday … 6 = Sunday, sorted, unique
    start: time
    end: time  # end <= start: the window runs past midnight (end == start: 24 hours)

    def __post_init__(self) -> None:
        _check(
            isinstance(self.weekdays, tuple)
            and all(isinstance(d, int) and 0 <= d <= 6 for d in self.weekdays),
            "weekdays must be numbers from 0 (Monday) to 6 (Sunday)",
        )
        object.__setattr__(self, "weekdays", tuple(sorted(set(self.weekdays))))
        for t in (self.start, self.end):
            _check(
                isinstance(t, time) and t.tzinfo is None and t.second == t.microsecond == 0,
                "window start and end must be local HH:MM times",
            )

    def contains(self, local: datetime) -> bool:
        """Whether a local wall-clock moment lies in the window."""
        clock, day = local.time().replace(tzinfo=None), local.weekday()
        if self.start < self.end:
            return day in self.weekdays and self.start <= clock < self.end
        # The window starts on a listed day and runs past midnight into the next.
        if clock >= self.start:
            return day in self.weekdays
        return clock < self.end and (day - 1) % 7 in self.weekdays

    def describe(self) -> str:
        days = ",".join(WEEKDAYS[d] for d in self.weekdays) or "no days"
        return f"{days} {self.start:%H:%M}-{self.end:%H:%M}"


@dataclass(frozen=True)
class ContinueIfAlertRate(_StepBase):
    """Go on only if the group got more than ``threshold`` alerts in ``minutes``."""

    type: ClassVar[str] = "continue_if_alert_rate"
    threshold: int
    minutes: int

    def __post_init__(self) -> None:
        _check_int(self.threshold, 0, 1_000_000, "alert rate threshold")
        _check_int(self.minutes, 1, MAX_WAIT_MINUTES, "alert rate minutes")


@dataclass(frozen=True)
class TriggerWebhook(_StepBase):
    """Call an outgoing webhook."""

    type: ClassVar[str] = "trigger_webhook"
    webhook_id: int

    def __post_init__(self) -> None:
        _check(_is_id(self.webhook_id), "webhook_id must be a positive integer")


@dataclass(frozen=True)
class Repeat(_StepBase):
    """Start again from the first step, at most ``times`` times."""

    type: ClassVar[str] = "repeat"
    times: int

    def __post_init__(self) -> None:
        _check_int(self.times, 1, MAX_REPEAT_TIMES, "repeat times")


@dataclass(frozen=True)
class Resolve(_StepBase):
    """Resolve the alert group and end the escalation."""

    type: ClassVar[str] = "resolve"


@dataclass(frozen=True)
class DeclareIncident(_StepBase):
    """Declare an incident from the alert group."""

    type: ClassVar[str] = "declare_incident"
    severity: str

    def __post_init__(self) -> None:
        _check(
            isinstance(self.severity, str) and 0 < len(self.severity.strip()) <= 64,
            "severity must be a non-empty name",
        )


Step = (
    Wait
    | NotifyUsers
    | NotifyOnCall
    | NotifyTeam
    | NotifyRoundRobin
    | ContinueIfTimeWindow
    | ContinueIfAlertRate
    | TriggerWebhook
    | Repeat
    | Resolve
    | DeclareIncident
)

_STEP_TYPES: dict[str, Callable[..., Step]] = {
    cls.type: cls
    for cls in (
        Wait, NotifyUsers, NotifyOnCall, NotifyTeam, NotifyRoundRobin, ContinueIfTimeWindow,
        ContinueIfAlertRate, TriggerWebhook, Repeat, Resolve, DeclareIncident,
    )
}  # fmt: skip


def step_to_json(step: Step) -> dict[str, Any]:
    """The JSON object of a step."""
    out: dict[str, Any] = {"type": step.type}
    for f in fields(step):
        value = getattr(step, f.name)
        if f.name == "weekdays":
            value = [WEEKDAYS[d] for d in value]
        elif isinstance(value, time):
            value = f"{value:%H:%M}"
        elif isinstance(value, tuple):
            value = list(value)
        out[f.name] = value
    return out


def step_from_json(obj: Mapping[str, Any]) -> Step:
    """Build a step from its JSON object, raising ``ChainError`` when invalid."""
    if not isinstance(obj, Mapping) or obj.get("type") not in _STEP_TYPES:
        raise ChainError(f"unknown step type in {obj!r}")
    kwargs = {k: v for k, v in obj.items() if k != "type"}
    try:
        for key in ("user_ids",):
            if key in kwargs:
                kwargs[key] = tuple(kwargs[key])
        if "weekdays" in kwargs:
            kwargs["weekdays"] = tuple(WEEKDAYS.index(d) for d in kwargs["weekdays"])
        for key in ("start", "end"):
            if key in kwargs:
                kwargs[key] = time.fromisoformat(kwargs[key])
        return _STEP_TYPES[obj["type"]](**kwargs)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, ChainError):
            raise
        raise ChainError(f"invalid {obj['type']} step {dict(obj)!r}: {exc}") from None


@dataclass(frozen=True)
class ChainSnapshot:
    """An escalation chain as it was when a group started escalating."""

    chain_id: int
    name: str
    time_zone: str
    steps: tuple[Step, ...]

    def __post_init__(self) -> None:
        _check(isinstance(self.steps, tuple), "steps must be a tuple")
        _check(len(self.steps) <= MAX_STEPS, f"a chain has at most {MAX_STEPS} steps")
        _check(all(type(s) in _STEP_TYPES.values() for s in self.steps), "unknown step")
        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            raise ChainError(f"unknown time zone {self.time_zone!r}") from None

    @property
    def zone(self) -> ZoneInfo:
        """The chain's time zone, in which time windows are read."""
        return ZoneInfo(self.time_zone)

    def alert_rate_windows(self) -> frozenset[int]:
        """The window lengths (minutes) whose alert counts ``Facts`` must carry."""
        return frozenset(s.minutes for s in self.steps if isinstance(s, ContinueIfAlertRate))

    def to_json(self) -> dict[str, Any]:
        """The JSON object stored with the escalating group."""
        return {
            "version": SNAPSHOT_VERSION,
            "chain_id": self.chain_id,
            "name": self.name,
            "time_zone": self.time_zone,
            "steps": [step_to_json(s) for s in self.steps],
        }

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> ChainSnapshot:
        """Read a stored snapshot, raising ``ChainError`` when it is invalid."""
        try:
            _check(obj["version"] == SNAPSHOT_VERSION, f"unknown version {obj['version']!r}")
            steps = tuple(step_from_json(s) for s in obj["steps"])
            return cls(obj["chain_id"], obj["name"], obj["time_zone"], steps)
        except (KeyError, TypeError) as exc:
            raise ChainError(f"invalid chain snapshot: {exc!r}") from None
