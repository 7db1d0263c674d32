"""SLO burn alerts as normalized alerts: what to fire and resolve after an evaluation.

Pure functions of the spec and the evaluation; `evaluation` hands the result to
the alert store. Labels match those of the Prometheus rules `watchkeeper slo
rules` generates, so the same integration routes work for both.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from watchkeeper.alerts.normalized import NormalizedAlert
from watchkeeper.slo.burn import Route
from watchkeeper.slo.prometheus import SloStatus
from watchkeeper.slo.rules import SEVERITY, alert_name
from watchkeeper.slo.spec import SloSpec

NO_DATA = "nodata"
BURN_KINDS: tuple[Route, ...] = ("page", "ticket")


def fingerprint(slo_id: int, kind: str) -> str:
    """One alert identity per SLO and kind (page, ticket, nodata)."""
    return f"watchkeeper-slo-{slo_id}-{kind}"


@dataclass(frozen=True)
class AlertPlan:
    """Alerts to send after one evaluation, and the kinds left open afterwards."""

    alerts: list[NormalizedAlert]
    open_kinds: list[str]


def route_labels(spec: SloSpec, route: Route) -> dict[str, str]:
    """The labels of a burn alert; routing labels win over the spec's own."""
    own = spec.alerting.page_labels if route == "page" else spec.alerting.ticket_labels
    labels = {**spec.labels, **spec.alerting.labels, **own}
    labels.update(
        alertname=alert_name(spec),
        severity=SEVERITY[route],
        watchkeeper_route=route,
        service=spec.service,
        slo=spec.name,
    )
    if spec.routing_team:
        labels["team"] = spec.routing_team
    return labels


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def describe(status: SloStatus) -> str:
    """A few lines a half-awake responder can read: SLI, budget, burn per window."""
    burns = ", ".join(
        f"{window}: {'n/a' if rate is None else f'{rate:.1f}×'}"
        for window, rate in status.burn_rates.items()
    )
    sli = "n/a" if status.sli is None else f"{status.sli:.3f}%"
    lines = [
        f"SLI {sli} against an objective of {status.objective:g}% over {status.period}.",
        f"Error budget left: {_percent(status.budget_remaining)}.",
        f"Burn rate by window: {burns}.",
    ]
    for tier in status.firing:
        lines.append(
            f"Firing: {tier.route} tier {tier.factor:g}× over {tier.long_window} "
            f"and {tier.short_window}."
        )
    return "\n".join(lines)


def burn_alert(
    spec: SloSpec, slo_id: int, route: Route, status: SloStatus, source_url: str | None
) -> NormalizedAlert:
    tiers = [t for t in status.firing if t.route == route]
    fastest = max(tiers, key=lambda t: t.factor)
    rate = status.burn_rates.get(fastest.long_window)
    speed = "fast" if route == "page" else "steadily"
    shown = "" if rate is None else f" ({rate:.1f}× over {fastest.long_window})"
    title = f"{spec.key}: error budget burning {speed}{shown}"
    message = describe(status)
    return NormalizedAlert(
        fingerprint=fingerprint(slo_id, route),
        action="fire",
        group_key=fingerprint(slo_id, route),
        title=title[:500],
        message=message,
        severity=SEVERITY[route],
        labels=route_labels(spec, route),
        annotations={
            "summary": title,
            "description": message,
            "budget_remaining": _percent(status.budget_remaining),
            **spec.alerting.annotations,
        },
        starts_at=status.evaluated_at,
        ends_at=None,
        source_url=source_url,
        links=(),
    )


def no_data_alert(
    spec: SloSpec, slo_id: int, reason: str, now: datetime, source_url: str | None
) -> NormalizedAlert:
    labels = route_labels(spec, "ticket")
    labels["alertname"] = alert_name(spec).removesuffix("ErrorBudgetBurn") + "NoData"
    title = f"{spec.key}: no SLI data from Prometheus"
    return NormalizedAlert(
        fingerprint=fingerprint(slo_id, NO_DATA),
        action="fire",
        group_key=fingerprint(slo_id, NO_DATA),
        title=title,
        message=reason,
        severity="warning",
        labels=labels,
        annotations={"summary": title, "description": reason},
        starts_at=now,
        ends_at=None,
        source_url=source_url,
        links=(),
    )


def resolve_alert(slo_id: int, kind: str, now: datetime) -> NormalizedAlert:
    """A resolve for an open alert; the store only reads its fingerprint and time."""
    return NormalizedAlert(
        fingerprint=fingerprint(slo_id, kind),
        action="resolve",
        group_key=fingerprint(slo_id, kind),
        title="resolved",
        message="",
        severity=SEVERITY["ticket"] if kind != "page" else SEVERITY["page"],
        labels={},
        annotations={},
        starts_at=None,
        ends_at=now,
        source_url=None,
        links=(),
    )


def plan_alerts(
    *,
    spec: SloSpec,
    slo_id: int,
    open_kinds: Collection[str],
    status: SloStatus | None,
    error: str | None,
    no_data_enabled: bool,
    now: datetime,
    source_url: str | None = None,
) -> AlertPlan:
    """Fire what holds now (re-sent every evaluation, like Prometheus), resolve what stopped.

    A failed evaluation (`status` None) says nothing about the burn, so open burn
    alerts stay open; only the no-data alert reacts to it.
    """
    firing: dict[str, NormalizedAlert] = {}
    if status is not None:
        for route in BURN_KINDS:
            if route in status.routes:
                firing[route] = burn_alert(spec, slo_id, route, status, source_url)
    no_data_reason = error
    if status is not None and status.error_ratio is None:
        no_data_reason = "The SLI queries returned no data for the period (no traffic?)."
    if no_data_enabled and no_data_reason:
        firing[NO_DATA] = no_data_alert(spec, slo_id, no_data_reason, now, source_url)
    kept = set(firing)
    if status is None:
        kept |= {kind for kind in open_kinds if kind in BURN_KINDS}
    resolving = [resolve_alert(slo_id, kind, now) for kind in sorted(set(open_kinds) - kept)]
    return AlertPlan(alerts=[*firing.values(), *resolving], open_kinds=sorted(kept))
