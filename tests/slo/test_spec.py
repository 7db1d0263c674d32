"""Loading SLO specs in every accepted format, and the errors bad specs get."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from tests.slo.fake_prometheus import SPECS
from watchkeeper.slo.loaders import load_spec_files, load_spec_text
from watchkeeper.slo.rules import render_rules
from watchkeeper.slo.spec import SpecError, format_duration, parse_duration

WATCHKEEPER = """
version: watchkeeper/v1
service: checkout
team: payments
slos:
  - name: availability
    objective: {objective}
    period: {period}
    sli:
      ratio:
        error_query: {error_query}
        total_query: sum(rate(http_requests_total[{{{{.window}}}}]))
"""
GOOD_ERRORS = 'sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))'


def _watchkeeper(
    objective: object = 99.9, period: str = "30d", error_query: str = GOOD_ERRORS
) -> str:
    return WATCHKEEPER.format(objective=objective, period=period, error_query=f"'{error_query}'")


def test_watchkeeper_spec_loads_with_file_defaults() -> None:
    (spec,) = load_spec_text(_watchkeeper(), "a.yml")
    assert spec.key == "checkout/availability"
    assert spec.routing_team == "payments"
    assert spec.error_budget == pytest.approx(0.001)
    assert spec.period_length == timedelta(days=30)
    assert [t.factor for t in spec.tiers] == [14.4, 6.0, 3.0, 1.0]


def test_checkout_example_has_ratio_and_latency_slos() -> None:
    specs = load_spec_files([SPECS / "checkout.yml"])
    latency = next(s for s in specs if s.sli.latency is not None)
    assert latency.period == "28d"
    # 28-day windows are the workbook's scaled by 28/30: 1h becomes 56m, 5m becomes 4m40s.
    assert format_duration(latency.tiers[0].long_window) == "56m"
    assert format_duration(latency.tiers[0].short_window) == "4m40s"
    assert latency.tiers[0].budget_consumed(latency.period_length) == pytest.approx(0.02)


@pytest.mark.parametrize(
    "name", ["sloth_checkout.yml", "openslo_checkout.yml", "openslo_referenced.yml"]
)
def test_foreign_formats_load_unchanged(name: str) -> None:
    (spec,) = load_spec_files([SPECS / name])
    assert (spec.service, spec.name, spec.objective, spec.period) == (
        "checkout",
        "requests-availability",
        99.9,
        "30d",
    )
    assert spec.routing_team == "payments"
    assert spec.sli.ratio is not None and "code=~" in (spec.sli.ratio.error_query or "")


def test_sloth_and_openslo_examples_produce_equivalent_rules() -> None:
    rendered = {
        name: yaml.safe_load(render_rules(load_spec_files([SPECS / name])))
        for name in ("sloth_checkout.yml", "openslo_checkout.yml", "openslo_referenced.yml")
    }
    sloth = rendered.pop("sloth_checkout.yml")
    assert len(sloth["groups"]) == 3
    for other in rendered.values():
        assert other == sloth


def test_sloth_per_alert_labels_are_kept_but_routing_labels_win() -> None:
    text = (SPECS / "sloth_checkout.yml").read_text() + (
        "    alerting:\n"
        "      name: CheckoutErrors\n"
        "      page_alert:\n        labels: {severity: pageteam, pager: 'yes'}\n"
        "      ticket_alert:\n        disable: true\n"
    )
    document = yaml.safe_load(render_rules(load_spec_text(text)))
    (alert,) = document["groups"][2]["rules"]
    assert alert["alert"] == "CheckoutErrors"
    assert alert["labels"]["severity"] == "critical"
    assert alert["labels"]["pager"] == "yes"
    assert alert["labels"]["watchkeeper_route"] == "page"


def test_openslo_good_query_and_calendar_month() -> None:
    text = (SPECS / "openslo_checkout.yml").read_text()
    text = text.replace("bad:", "good:").replace('code=~\\"5..\\"', 'code!~\\"5..\\"')
    text = text.replace(
        "duration: 30d\n      isRolling: true", "duration: 1M\n      isRolling: false"
    )
    (spec,) = load_spec_text(text)
    assert spec.period == "calendar_month"
    assert spec.sli.ratio is not None and spec.sli.ratio.good_query is not None
    assert spec.sli.ratio.error_query is None


def test_duplicate_slo_across_files_is_rejected() -> None:
    with pytest.raises(SpecError, match="defined twice"):
        load_spec_files([SPECS / "sloth_checkout.yml", SPECS / "openslo_checkout.yml"])


@pytest.mark.parametrize("objective", [0, 100, 100.5, -1])
def test_objective_outside_open_interval_is_rejected(objective: float) -> None:
    with pytest.raises(SpecError) as caught:
        load_spec_text(_watchkeeper(objective=objective), "team/checkout.yml")
    message = str(caught.value)
    assert message.startswith("team/checkout.yml: slos[0].objective: ")
    assert "strictly between 0 and 100" in message


def test_objective_as_fraction_in_openslo_is_read_as_percent_but_out_of_range_fails() -> None:
    text = (SPECS / "openslo_checkout.yml").read_text().replace("target: 0.999", "target: 1.0")
    with pytest.raises(SpecError, match=r"spec\.objectives\[0\]\.target: objective must be"):
        load_spec_text(text, "o.yml")


def test_missing_window_placeholder_is_rejected_with_field_and_file() -> None:
    bad = 'sum(rate(http_requests_total{code=~"5.."}[5m]))'
    with pytest.raises(SpecError) as caught:
        load_spec_text(_watchkeeper(error_query=bad), "c.yml")
    assert str(caught.value).startswith("c.yml: slos[0].sli.ratio.error_query: ")
    assert "{{.window}}" in str(caught.value)


def test_missing_placeholder_in_sloth_names_sloth_field() -> None:
    text = (SPECS / "sloth_checkout.yml").read_text().replace("[{{.window}}]", "[5m]", 1)
    with pytest.raises(SpecError, match=r"^s\.yml: slos\[0\]\.sli\.events\.error_query: .*window"):
        load_spec_text(text, "s.yml")


def test_missing_placeholder_in_referenced_openslo_sli_names_the_sli() -> None:
    text = (SPECS / "openslo_referenced.yml").read_text().replace("[{{.window}}]", "[5m]")
    with pytest.raises(SpecError, match=r"SLI checkout-request-errors: spec\.ratioMetric\.bad"):
        load_spec_text(text, "o.yml")


def test_period_shorter_than_longest_window_is_rejected() -> None:
    text = _watchkeeper(period="2d") + (
        "    alerting:\n      windows:\n"
        "        - {route: page, factor: 14.4, long: 1h, short: 5m}\n"
        "        - {route: ticket, factor: 1, long: 3d, short: 6h}\n"
    )
    with pytest.raises(SpecError, match="period 2d is shorter than the longest alert window 3d"):
        load_spec_text(text, "p.yml")


@pytest.mark.parametrize(
    ("period", "fragment"),
    [("12h", "whole days"), ("monthly", "not a duration"), ("0d", "positive")],
)
def test_bad_periods_are_rejected(period: str, fragment: str) -> None:
    with pytest.raises(SpecError, match=fragment):
        load_spec_text(_watchkeeper(period=period), "p.yml")


def test_factor_that_can_never_fire_is_rejected() -> None:
    with pytest.raises(SpecError, match="could never fire"):
        load_spec_text(_watchkeeper(objective=90), "f.yml")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("kind: Something\n", "unknown document"),
        ("version: watchkeeper/v1\nservice: a\nslos: []\n", "non-empty list"),
        ("version: watchkeeper/v1\nservice: a\nteams: x\nslos: [{}]\n", "unknown field"),
        ("version: [unclosed\n", "not valid YAML"),
    ],
)
def test_malformed_documents(text: str, fragment: str) -> None:
    with pytest.raises(SpecError, match=fragment):
        load_spec_text(text, "m.yml")


def test_openslo_unsupported_features_are_named() -> None:
    text = (SPECS / "openslo_checkout.yml").read_text()
    with pytest.raises(SpecError, match="Timeslices is not supported"):
        load_spec_text(text.replace("Occurrences", "Timeslices"), "o.yml")
    with pytest.raises(SpecError, match="'Datadog' is not supported"):
        load_spec_text(text.replace("type: Prometheus", "type: Datadog"), "o.yml")
    referenced = (SPECS / "openslo_referenced.yml").read_text()
    with pytest.raises(SpecError, match="names no `kind: SLI`"):
        load_spec_text(referenced.replace("indicatorRef: checkout", "indicatorRef: nope"), "o.yml")


def test_unreadable_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"missing\.yml: cannot read file"):
        load_spec_files([tmp_path / "missing.yml"])


@pytest.mark.parametrize(("text", "seconds"), [("5m", 300), ("1h30m", 5400), ("4w", 28 * 86400)])
def test_durations_round_trip(text: str, seconds: int) -> None:
    value = parse_duration(text)
    assert value.total_seconds() == seconds
    assert parse_duration(format_duration(value)) == value
