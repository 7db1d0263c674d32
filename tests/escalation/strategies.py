"""Hypothesis strategies for escalation chains."""

from __future__ import annotations

from datetime import time

from hypothesis import strategies as st

from watchkeeper.escalation.steps import (
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

ids = st.integers(min_value=1, max_value=50)
user_lists = st.lists(ids, min_size=1, max_size=4).map(tuple)
clock = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))

steps: st.SearchStrategy[Step] = st.one_of(
    st.builds(Wait, st.integers(1, 120)),
    st.builds(NotifyUsers, user_lists, st.booleans()),
    st.builds(NotifyOnCall, ids, st.booleans()),
    st.builds(NotifyTeam, ids, st.booleans()),
    st.builds(NotifyRoundRobin, user_lists, st.booleans()),
    st.builds(
        ContinueIfTimeWindow,
        st.lists(st.integers(0, 6), max_size=7).map(tuple),
        clock,
        clock,
    ),
    st.builds(ContinueIfAlertRate, st.integers(0, 5), st.sampled_from([5, 10, 60])),
    st.builds(TriggerWebhook, ids),
    st.builds(Repeat, st.integers(1, 5)),
    st.builds(Resolve),
    st.builds(DeclareIncident, st.sampled_from(["critical", "major", "minor"])),
)

chains = st.builds(
    ChainSnapshot,
    ids,
    st.just("chain"),
    st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe"]),
    st.lists(steps, max_size=12).map(tuple),
)
