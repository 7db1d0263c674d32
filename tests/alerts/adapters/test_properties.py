"""Property tests: no payload crashes an adapter, valid payloads always give alerts."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.alerts.adapters.payloads import VALID, fresh
from watchkeeper.alerts.adapters import KINDS, parse_payload
from watchkeeper.alerts.normalized import (
    SEVERITIES,
    IntegrationTemplates,
    NormalizedAlert,
    ParseResult,
    PayloadError,
)
from watchkeeper.alerts.templating import MAX_OUTPUT_CHARS, TemplateFailure, render

NOW = datetime(2024, 3, 1, 10, 1, tzinfo=UTC)
DEFAULTS = IntegrationTemplates()
TEMPLATED = IntegrationTemplates(
    title="{{ labels.alertname or payload.title }}",
    message="{{ annotations.description }}{{ alert }}",
    grouping_key="{{ labels.get('job', '') }}{{ payload|length if payload is iterable else 0 }}",
    resolve_condition="{{ alert.status == 'resolved' if alert is mapping else false }}",
    severity="{{ labels.severity or 'warning' }}",
    source_link="{{ alert.generatorURL if alert is mapping else '' }}",
)
PROFILE = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text()
    | st.sampled_from(
        [
            "",
            "resolved",
            "firing",
            "0001-01-01T00:00:00Z",
            "2024-03-01T10:00:00Z",
            "trigger",
            "resolve",
            "critical",
            "https://x.example",
            "javascript:x",
        ]
    )
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=30,
)
label_sets = st.dictionaries(
    st.text(min_size=1, max_size=20), st.text(max_size=30), min_size=1, max_size=6
)
times = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
).map(lambda t: t.isoformat())


def check(result: ParseResult) -> None:
    for alert in result.alerts:
        assert isinstance(alert, NormalizedAlert)
        assert alert.fingerprint and len(alert.fingerprint) <= 255
        assert alert.group_key and len(alert.group_key) <= 255
        assert alert.action in ("fire", "resolve", "acknowledge")
        assert alert.severity in SEVERITIES
        assert isinstance(alert.title, str) and isinstance(alert.message, str)
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in alert.labels.items())
        assert all(isinstance(v, str) for v in alert.annotations.values())
        for moment in (alert.starts_at, alert.ends_at):
            assert moment is None or moment.utcoffset() == timedelta(0)
        for link in alert.links:
            assert link.url.lower().startswith(("http://", "https://"))
    assert all(isinstance(error, str) for error in result.template_errors)


def parse_or_reject(kind: str, payload: object, templates: IntegrationTemplates) -> None:
    try:
        result = parse_payload(kind, payload, templates=templates, now=NOW)
    except PayloadError as exc:
        message = str(exc)
    else:
        check(result)
        return
    assert message, "a PayloadError must say what to fix"


@pytest.mark.parametrize("kind", KINDS)
@PROFILE
@given(payload=json_values, templated=st.booleans())
def test_arbitrary_json_never_crashes(kind: str, payload: object, templated: bool) -> None:
    parse_or_reject(kind, payload, TEMPLATED if templated else DEFAULTS)


def _containers(value: Any, found: list[Any]) -> list[Any]:
    if isinstance(value, dict | list):
        found.append(value)
        for child in value.values() if isinstance(value, dict) else value:
            _containers(child, found)
    return found


@st.composite
def mutated(draw: st.DrawFn, kind: str) -> object:
    """The valid payload of `kind` with a few values replaced, removed or added."""
    payload = copy.deepcopy(VALID[kind])
    for _ in range(draw(st.integers(1, 4))):
        containers = _containers(payload, [])
        if not containers:
            return draw(json_values)
        target = draw(st.sampled_from(containers))
        keys = list(target) if isinstance(target, dict) else list(range(len(target)))
        operation = draw(st.sampled_from(["replace", "delete", "add"]))
        if operation == "add" or not keys:
            if isinstance(target, dict):
                target[draw(st.text(max_size=12))] = draw(json_values)
            else:
                target.append(draw(json_values))
        elif operation == "delete":
            del target[draw(st.sampled_from(keys))]
        else:
            target[draw(st.sampled_from(keys))] = draw(json_values | json_scalars)
    return payload


@pytest.mark.parametrize("kind", KINDS)
@PROFILE
@given(data=st.data(), templated=st.booleans())
def test_mutated_payloads_never_crash(kind: str, data: st.DataObject, templated: bool) -> None:
    parse_or_reject(kind, data.draw(mutated(kind)), TEMPLATED if templated else DEFAULTS)


def am_alert(labels: dict[str, str], status: str, starts: str) -> dict[str, object]:
    return {
        "status": status,
        "labels": labels,
        "annotations": {"summary": "s"},
        "startsAt": starts,
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus:9090/graph",
    }


valid_payloads: dict[str, st.SearchStrategy[Any]] = {
    "alertmanager": st.lists(
        st.builds(am_alert, label_sets, st.sampled_from(["firing", "resolved"]), times),
        min_size=1,
        max_size=5,
    ).map(lambda alerts: fresh("alertmanager") | {"alerts": alerts}),
    "prometheus": st.lists(
        st.fixed_dictionaries(
            {"labels": label_sets},
            optional={
                "annotations": st.dictionaries(st.text(), st.text(), max_size=3),
                "startsAt": times,
                "generatorURL": st.text(),
            },
        ),
        min_size=1,
        max_size=5,
    ),
    "grafana": st.lists(
        st.builds(am_alert, label_sets, st.sampled_from(["firing", "resolved"]), times),
        min_size=1,
        max_size=5,
    ).map(lambda alerts: fresh("grafana") | {"alerts": alerts}),
    "pagerduty": st.fixed_dictionaries(
        {
            "routing_key": st.text(min_size=1).filter(str.strip),
            "event_action": st.just("trigger"),
            "payload": st.fixed_dictionaries(
                {
                    "summary": st.text(min_size=1).filter(str.strip),
                    "source": st.text(min_size=1).filter(str.strip),
                    "severity": st.sampled_from(["critical", "error", "warning", "info"]),
                },
                optional={"custom_details": json_values, "timestamp": st.text() | times},
            ),
        },
        optional={"dedup_key": st.text(max_size=255), "links": json_values},
    ),
    "webhook": json_values,
    "heartbeat": json_values,
}


@pytest.mark.parametrize("kind", KINDS)
@PROFILE
@given(data=st.data(), templated=st.booleans())
def test_valid_payloads_always_give_alerts(kind: str, data: st.DataObject, templated: bool) -> None:
    payload = data.draw(valid_payloads[kind])
    result = parse_payload(kind, payload, templates=TEMPLATED if templated else DEFAULTS, now=NOW)
    assert len(result.alerts) >= 1
    check(result)


@PROFILE
@given(
    source=st.text(max_size=80) | st.text(alphabet="{}%#()[]|~*.'\"019 abcdeforinset", max_size=80)
)
def test_any_template_text_renders_or_fails_cleanly(source: str) -> None:
    try:
        out = render(source, {"payload": {"a": [1, "x"]}, "labels": {"k": "v"}})
    except TemplateFailure as exc:
        out = str(exc)
        assert out, "a template failure must say why"
    assert len(out) <= MAX_OUTPUT_CHARS
