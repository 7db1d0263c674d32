"""Integration templates: overrides, fallbacks and the sandbox's bounds."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.alerts.adapters.payloads import fresh
from watchkeeper.alerts.adapters import parse_payload
from watchkeeper.alerts.normalized import IntegrationTemplates
from watchkeeper.alerts.templating import (
    MAX_OUTPUT_CHARS,
    TemplateFailure,
    TemplateTooExpensive,
    render,
    template_error,
)

NOW = datetime(2024, 3, 1, 10, 1, tzinfo=UTC)


def test_custom_title_and_grouping_for_list_kinds() -> None:
    templates = IntegrationTemplates(
        title="{{ labels.alertname }} on {{ labels.instance }}",
        grouping_key="{{ labels.job }}",
    )
    alerts = parse_payload("alertmanager", fresh("alertmanager"), templates=templates, now=NOW)
    assert [a.title for a in alerts.alerts] == [
        "ProbeFailure on https://shop.example.org",
        "ProbeFailure on https://api.example.org",
    ]
    assert {a.group_key for a in alerts.alerts} == {"blackbox"}
    assert alerts.alerts[0].fingerprint == "1a30ba71cca2921f"  # identity untouched
    assert alerts.template_errors == []


def test_templates_see_payload_and_alert() -> None:
    templates = IntegrationTemplates(
        message="{{ payload.receiver }}/{{ alert.fingerprint }}/{{ annotations.summary }}",
        source_link="{{ alert.silenceURL }}",
        severity="{{ 'warning' if alert.status == 'resolved' else 'page' }}",
    )
    result = parse_payload("grafana", fresh("grafana"), templates=templates, now=NOW)
    first, second = result.alerts
    assert first.message == "Watchkeeper/c6eadffa33fcdf37/High memory usage in zone us-1"
    assert first.source_url is not None and first.source_url.startswith("https://grafana.example")
    assert (first.severity, second.severity) == ("critical", "warning")


def test_webhook_grouping_template_is_the_identity() -> None:
    templates = IntegrationTemplates(
        grouping_key="{{ payload.host }}",
        resolve_condition="{{ payload.status == 'done' }}",
    )
    payload = fresh("webhook") | {"status": "done"}
    (alert,) = parse_payload("webhook", payload, templates=templates, now=NOW).alerts
    assert alert.fingerprint == alert.group_key == "backup-1"
    assert alert.action == "resolve"


@pytest.mark.parametrize(
    ("rendered", "action"),
    [
        ("True", "resolve"),
        (" OK\n", "resolve"),
        ("yes", "resolve"),
        ("False", "fire"),
        ("nope", "fire"),
        ("0", "fire"),
    ],
)
def test_resolve_condition_truthiness(rendered: str, action: str) -> None:
    templates = IntegrationTemplates(resolve_condition=rendered)
    result = parse_payload("alertmanager", fresh("alertmanager"), templates=templates, now=NOW)
    assert {a.action for a in result.alerts} == {action}


def test_failing_template_falls_back_and_reports_once() -> None:
    templates = IntegrationTemplates(
        title="{{ labels.alertname / 0 }}",
        message="{% if %}",
        severity="{{ 'bogus' }}",
    )
    result = parse_payload("alertmanager", fresh("alertmanager"), templates=templates, now=NOW)
    defaults = parse_payload(
        "alertmanager", fresh("alertmanager"), templates=IntegrationTemplates(), now=NOW
    )
    assert result.alerts == defaults.alerts
    assert len(result.template_errors) == 3  # one per template, not one per alert
    title_error, message_error, severity_error = result.template_errors
    assert title_error.startswith("title template: TypeError")
    assert message_error.startswith("message template: syntax error at line 1")
    assert "expected critical, error, warning or info" in severity_error


def test_empty_title_falls_back() -> None:
    templates = IntegrationTemplates(title="{{ payload.nothing }}  ")
    result = parse_payload("webhook", fresh("webhook"), templates=templates, now=NOW)
    assert result.alerts[0].title == "Backup job failed"
    assert result.template_errors == [
        "title template: rendered an empty title; the default title was used"
    ]


def test_unsafe_source_links_are_refused() -> None:
    templates = IntegrationTemplates(source_link="javascript:alert(1)")
    result = parse_payload("webhook", fresh("webhook"), templates=templates, now=NOW)
    assert result.alerts[0].source_url == "https://ci.example.org/jobs/nightly-backup/381"
    assert len(result.template_errors) == 1


@pytest.mark.parametrize(
    "source",
    [
        "{% for i in range(10**9) %}x{% endfor %}",
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        "{% macro f() %}{{ f() }}{{ f() }}{% endmacro %}{{ f() }}",
        "{% set ns = namespace(s='ab') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}"
        "{% endfor %}",
        "{{ 'x' * 10**10 }}",
        "{{ 10 ** (10 ** 10) }}",
        "{{ '%999999999d' % 1 }}",
        "{{ '{:>{}}'.format(1, 10**9) }}",
        "{{ payload.title.center(10**9) }}",
        "{{ payload.title|replace('', 'y' * 100000) }}",
        "{{ lipsum(10**9) }}",
        "{{ payload.update({'title': 'x'}) }}",
        "{{ payload.__class__.__mro__ }}{{ ().__class__.__bases__[0].__subclasses__() }}",
    ],
)
def test_expensive_or_unsafe_templates_are_stopped(source: str) -> None:
    payload = {"title": "disk full"}
    try:
        out = render(source, {"payload": payload})
    except TemplateFailure:
        pass
    else:
        assert len(out) <= MAX_OUTPUT_CHARS
        assert "class" not in out
    assert payload == {"title": "disk full"}


def test_budget_errors_skip_the_rest_of_the_batch() -> None:
    templates = IntegrationTemplates(
        title="{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}"
    )
    batch = [{"labels": {"alertname": f"A{i}"}} for i in range(50)]
    result = parse_payload("prometheus", batch, templates=templates, now=NOW)
    assert [a.title for a in result.alerts] == [f"A{i}" for i in range(50)]
    assert len(result.template_errors) == 1
    assert "operations" in result.template_errors[0] or "ms" in result.template_errors[0]
    with pytest.raises(TemplateTooExpensive):
        render(templates.title or "", {})


def test_output_is_truncated() -> None:
    out = render("{% for i in range(50000) %}{{ i }},{% endfor %}", {})
    assert len(out) == MAX_OUTPUT_CHARS
    assert out.startswith("0,1,2,")
    templates = IntegrationTemplates(title="{% for i in range(5000) %}word {% endfor %}")
    (alert,) = parse_payload("webhook", {}, templates=templates, now=NOW).alerts
    assert len(alert.title) == 1024


def test_template_error_helper_for_forms() -> None:
    assert template_error("{{ labels.alertname }}") is None
    assert template_error("{% for %}") is not None


def test_slow_templates_stop_for_the_whole_payload(monkeypatch: pytest.MonkeyPatch) -> None:
    import watchkeeper.alerts.adapters as adapters

    monkeypatch.setattr(adapters, "PAYLOAD_TEMPLATE_SECONDS", 0.0)
    templates = IntegrationTemplates(title="custom")
    batch = [{"labels": {"alertname": f"A{i}"}} for i in range(3)]
    result = parse_payload("prometheus", batch, templates=templates, now=NOW)
    assert [a.title for a in result.alerts] == ["A0", "A1", "A2"]
    assert result.template_errors == [
        "templates took over 0 s for this payload; 3 alerts kept their default fields"
    ]
