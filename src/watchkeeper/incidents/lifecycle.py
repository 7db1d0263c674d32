"""Pure incident rules: status transitions, metrics, reminder timing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from watchkeeper.errors import Conflict

STATUSES = ("investigating", "identified", "monitoring", "resolved")
ACTIVE = ("investigating", "identified", "monitoring")

# Forward moves may skip steps (a fix can be found and shipped before anyone
# writes "identified"). Going back is allowed while the incident is open,
# because a fix that does not hold is normal. A resolved incident only
# reopens to investigating: claiming a cause or a fix needs a fresh look.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "investigating": ("identified", "monitoring", "resolved"),
    "identified": ("investigating", "monitoring", "resolved"),
    "monitoring": ("investigating", "identified", "resolved"),
    "resolved": ("investigating",),
}

STANDARD_ROLES = {
    "commander": "Incident commander",
    "communications": "Communications lead",
}


def check_transition(incident_id: int, current: str, wanted: str) -> None:
    """Raise Conflict unless ``current`` may move to ``wanted``."""
    if current == wanted:
        raise Conflict(f"incident {incident_id} is already {current}")
    allowed = TRANSITIONS.get(current, ())
    if wanted not in allowed:
        raise Conflict(
            f"incident {incident_id} cannot move from {current} to {wanted}; "
            f"from {current} it can move to: {', '.join(allowed)}"
        )


@dataclass(frozen=True)
class GroupTimes:
    """What the metrics need to know about one linked alert group."""

    created_at: datetime
    first_acknowledged_at: datetime | None


@dataclass(frozen=True)
class Metrics:
    started_at: datetime
    acknowledged_at: datetime
    mitigated_at: datetime | None
    resolved_at: datetime | None
    tta_seconds: int
    ttm_seconds: int | None
    ttr_seconds: int | None


def _seconds(start: datetime, end: datetime | None) -> int | None:
    return None if end is None else max(0, int((end - start).total_seconds()))


def compute_metrics(
    *,
    declared_at: datetime,
    groups: Sequence[GroupTimes],
    mitigated_at: datetime | None,
    impact_end: datetime | None,
    resolved_at: datetime | None,
) -> Metrics:
    """Time to acknowledge, mitigate and resolve, all counted from the first alert.

    The clock starts when the first linked alert group was created (or at the
    declaration when there is none). Acknowledged is that group's first
    acknowledgement or the declaration, whichever came first: declaring an
    incident is itself a human saying "I'm on it". Mitigated is the review's
    impact end when someone wrote it down, else the first move to monitoring.
    """
    first = min(groups, key=lambda g: g.created_at, default=None)
    started = min(first.created_at, declared_at) if first else declared_at
    acked = declared_at
    if first and first.first_acknowledged_at is not None:
        acked = min(acked, first.first_acknowledged_at)
    mitigated = impact_end or mitigated_at
    return Metrics(
        started_at=started,
        acknowledged_at=acked,
        mitigated_at=mitigated,
        resolved_at=resolved_at,
        tta_seconds=_seconds(started, acked) or 0,
        ttm_seconds=_seconds(started, mitigated),
        ttr_seconds=_seconds(started, resolved_at),
    )


def update_reminder_due(
    *,
    last_update_at: datetime,
    reminded_at: datetime | None,
    every: timedelta,
    now: datetime,
) -> bool:
    """True when a reminder is owed: once per ``every`` that passes without an update.

    Periods are counted from the last update: with every=30m and an update at
    10:00, reminders are owed at 10:30, 11:00, ... and one reminder covers
    its whole period however often the task runs.
    """
    if every <= timedelta(0) or now < last_update_at + every:
        return False
    periods = (now - last_update_at) // every
    period_start = last_update_at + periods * every
    return reminded_at is None or reminded_at < period_start
