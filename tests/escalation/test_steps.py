"""Escalation steps: validation and the stored JSON form."""

from __future__ import annotations

import json
from datetime import time
from typing import Any

import pytest
from hypothesis import given

from tests.escalation.strategies import chains
from watchkeeper.escalation.steps import (
    ChainError,
    ChainSnapshot,
    ContinueIfAlertRate,
    ContinueIfTimeWindow,
    NotifyOnCall,
    NotifyUsers,
    Repeat,
    Resolve,
    Wait,
    step_from_json,
    step_to_json,
)


@given(chains)
def test_snapshot_json_round_trips(chain: ChainSnapshot) -> None:
    stored = json.loads(json.dumps(chain.to_json()))
    assert ChainSnapshot.from_json(stored) == chain


def test_json_form_is_readable() -> None:
    chain = ChainSnapshot(
        3,
        "Payments",
        "Europe/Berlin",
        (
            NotifyOnCall(7, important=True),
            Wait(5),
            ContinueIfTimeWindow((4, 0, 0), time(22), time(6)),
            Repeat(2),
        ),
    )
    assert chain.to_json() == {
        "version": 1,
        "chain_id": 3,
        "name": "Payments",
        "time_zone": "Europe/Berlin",
        "steps": [
            {"type": "notify_on_call", "schedule_id": 7, "important": True},
            {"type": "wait", "minutes": 5},
            {
                "type": "continue_if_time_window",
                "weekdays": ["mon", "fri"],
                "start": "22:00",
                "end": "06:00",
            },
            {"type": "repeat", "times": 2},
        ],
    }
    assert step_to_json(Resolve()) == {"type": "resolve"}


@pytest.mark.parametrize(
    "build",
    [
        lambda: Wait(0),
        lambda: Wait(True),
        lambda: Repeat(6),
        lambda: Repeat(0),
        lambda: NotifyUsers(()),
        lambda: NotifyUsers((1, -2)),
        lambda: NotifyOnCall(0),
        lambda: NotifyOnCall(1, important="yes"),  # type: ignore[arg-type]
        lambda: ContinueIfTimeWindow((7,), time(9), time(17)),
        lambda: ContinueIfTimeWindow((0,), time(9, 0, 30), time(17)),
        lambda: ContinueIfAlertRate(-1, 10),
        lambda: ChainSnapshot(1, "c", "Mars/Olympus", ()),
        lambda: ChainSnapshot(1, "c", "UTC", (Wait(1),) * 51),
    ],
)
def test_invalid_steps_are_refused(build: Any) -> None:
    with pytest.raises(ChainError):
        build()


@pytest.mark.parametrize(
    "obj",
    [
        {"type": "sleep", "minutes": 3},
        {"type": "wait"},
        {"type": "wait", "minutes": "5"},
        {"type": "wait", "minutes": 5, "extra": 1},
        {"type": "continue_if_time_window", "weekdays": ["monday"], "start": "9", "end": "x"},
        {"type": "notify_users", "user_ids": 5},
    ],
)
def test_invalid_step_json_is_refused(obj: dict[str, Any]) -> None:
    with pytest.raises(ChainError):
        step_from_json(obj)


def test_invalid_snapshot_json_is_refused() -> None:
    with pytest.raises(ChainError):
        ChainSnapshot.from_json({"version": 2, "chain_id": 1, "name": "x", "steps": []})
    with pytest.raises(ChainError):
        ChainSnapshot.from_json({"version": 1})


def test_alert_rate_windows() -> None:
    chain = ChainSnapshot(
        1, "c", "UTC", (ContinueIfAlertRate(3, 10), Wait(1), ContinueIfAlertRate(1, 60))
    )
    assert chain.alert_rate_windows() == {10, 60}
