"""Walking a user's notification rules: what is sent now and when to go on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from watchkeeper.notify.dispatch import walk

NOW = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)


def notify(method: int) -> dict[str, Any]:
    return {"kind": "notify", "contact_method_id": method}


def wait(minutes: int) -> dict[str, Any]:
    return {"kind": "wait", "minutes": minutes}


def test_sends_up_to_the_first_wait_and_skips_unusable_methods() -> None:
    rules = [notify(1), notify(2), wait(5), notify(3)]
    sends, position, wake_at = walk(rules, 0, now=NOW, channels={1: "webhook", 3: "sms"})
    assert sends == [(1, 1, "webhook")]  # method 2 is no longer verified
    assert (position, wake_at) == (3, NOW + timedelta(minutes=5))

    sends, position, wake_at = walk(rules, position, now=NOW, channels={1: "webhook", 3: "sms"})
    assert sends == [(4, 3, "sms")]
    assert (position, wake_at) == (4, None)


def test_an_empty_or_finished_list_is_done() -> None:
    assert walk([], 0, now=NOW, channels={}) == ([], 0, None)
    assert walk([notify(1)], 1, now=NOW, channels={1: "email"}) == ([], 1, None)


steps = st.lists(
    st.one_of(
        st.integers(1, 4).map(notify),
        st.integers(0, 30).map(wait),
    ),
    max_size=12,
)


@given(steps, st.sets(st.integers(1, 4)))
def test_walking_to_the_end_visits_every_usable_notify_once(
    rules: list[dict[str, Any]], usable: set[int]
) -> None:
    channels = {m: f"ch{m}" for m in usable}
    seen: list[tuple[int, int, str]] = []
    position, rounds = 0, 0
    while True:
        sends, new_position, wake_at = walk(rules, position, now=NOW, channels=channels)
        assert new_position > position or new_position == len(rules)
        seen.extend(sends)
        position, rounds = new_position, rounds + 1
        if wake_at is None:
            break
        assert rules[position - 1]["kind"] == "wait"
    expected = [
        (n + 1, r["contact_method_id"], f"ch{r['contact_method_id']}")
        for n, r in enumerate(rules)
        if r["kind"] == "notify" and r["contact_method_id"] in usable
    ]
    assert seen == expected
    assert position == len(rules)
    assert rounds == 1 + sum(1 for r in rules if r["kind"] == "wait")
