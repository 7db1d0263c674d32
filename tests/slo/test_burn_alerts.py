"""Which burn alerts fire and resolve after an evaluation (pure, fixed clock)."""

from __future__ import annotations

from datetime import timedelta

from tests.conftest import T0
from tests.slo.fake_prometheus import SPECS
from watchkeeper.slo.burn_alerts import fingerprint, plan_alerts
from watchkeeper.slo.loaders import load_spec_files
from watchkeeper.slo.prometheus import FiringTier, SloStatus

SPEC = load_spec_files([SPECS / "checkout.yml"])[0]


def _status(*routes: str, ratio: float | None = 0.0005) -> SloStatus:
    tiers = {
        "page": FiringTier(route="page", factor=14.4, long_window="1h", short_window="5m"),
        "ticket": FiringTier(route="ticket", factor=3, long_window="1d", short_window="2h"),
    }
    return SloStatus(
        service=SPEC.service,
        slo=SPEC.name,
        objective=SPEC.objective,
        period=SPEC.period,
        period_start=T0 - timedelta(days=30),
        evaluated_at=T0,
        error_ratio=ratio,
        sli=None if ratio is None else 100 * (1 - ratio),
        budget_remaining=None if ratio is None else 0.5,
        budget_remaining_time=None,
        burn_rates={"1h": 20.0, "5m": 20.0, "1d": 4.0, "2h": 4.0},
        firing=[tiers[r] for r in routes],
    )


def _plan(
    open_kinds: list[str],
    status: SloStatus | None,
    *,
    error: str | None = None,
    no_data: bool = False,
) -> tuple[list[tuple[str, str]], list[str]]:
    plan = plan_alerts(
        spec=SPEC,
        slo_id=7,
        open_kinds=open_kinds,
        status=status,
        error=error,
        no_data_enabled=no_data,
        now=T0,
    )
    return [(a.fingerprint.rsplit("-", 1)[1], a.action) for a in plan.alerts], plan.open_kinds


def test_fires_pages_and_tickets_with_routing_labels() -> None:
    plan = plan_alerts(
        spec=SPEC,
        slo_id=7,
        open_kinds=[],
        status=_status("page", "ticket"),
        error=None,
        no_data_enabled=False,
        now=T0,
    )
    page, ticket = plan.alerts
    assert page.fingerprint == fingerprint(7, "page") == page.group_key
    assert page.labels["severity"] == "critical" and page.labels["watchkeeper_route"] == "page"
    assert ticket.labels["severity"] == "warning" and ticket.severity == "warning"
    assert page.labels["team"] == "payments" and page.labels["tier"] == "1"
    assert page.title == "checkout/requests-availability: error budget burning fast (20.0× over 1h)"
    assert "Error budget left: 50.0%." in page.message
    assert plan.open_kinds == ["page", "ticket"]


def test_resolves_what_stopped_and_keeps_burns_on_errors() -> None:
    assert _plan(["page"], _status()) == ([("page", "resolve")], [])
    assert _plan(["page"], _status("page")) == ([("page", "fire")], ["page"])
    # Prometheus failed: the burn is unknown, so the page stays open.
    assert _plan(["page"], None, error="down") == ([], ["page"])
    assert _plan(["page"], None, error="down", no_data=True) == (
        [("nodata", "fire")],
        ["nodata", "page"],
    )
    assert _plan(["nodata"], _status()) == ([("nodata", "resolve")], [])
    # No traffic at all counts as no data when asked for.
    assert _plan([], _status(ratio=None), no_data=True) == ([("nodata", "fire")], ["nodata"])
    assert _plan([], _status(ratio=None)) == ([], [])
