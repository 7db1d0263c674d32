"""`watchkeeper slo …`: rule generation, the what-if learner and the deploy gate."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from watchkeeper.db.engine import Database
from watchkeeper.settings import Settings
from watchkeeper.slo.connect import NoPrometheus, PrometheusTarget, parse_basic_auth, resolve_target
from watchkeeper.slo.history import HistoryError, SliHistory, fetch_history, read_history_csv
from watchkeeper.slo.learner import DEFAULT_TARGETS, LearnerReport, LearnerSettings, learn
from watchkeeper.slo.loaders import load_spec_files
from watchkeeper.slo.prometheus import PrometheusClient, PrometheusError, evaluate
from watchkeeper.slo.rules import render_rules
from watchkeeper.slo.service import list_slos, spec_of
from watchkeeper.slo.spec import (
    CALENDAR_MONTH,
    CALENDAR_MONTH_NOMINAL,
    RatioSli,
    Sli,
    SloSpec,
    SpecError,
    format_duration,
    parse_duration,
)

slo_app = typer.Typer(
    name="slo",
    help="Service level objectives: Prometheus rules, target learning and deploy gates.",
    no_args_is_help=True,
)

SpecFiles = Annotated[
    list[Path],
    typer.Argument(help="SLO specs: Watchkeeper, Sloth prometheus/v1 or OpenSLO v1 YAML."),
]
PrometheusUrl = Annotated[str, typer.Option("--prometheus", help="Prometheus base URL.")]
BearerToken = Annotated[
    str | None,
    typer.Option(envvar="WATCHKEEPER_PROMETHEUS_TOKEN", help="Bearer token for Prometheus."),
]
BasicAuth = Annotated[
    str | None,
    typer.Option(envvar="WATCHKEEPER_PROMETHEUS_BASIC_AUTH", help="USER:PASSWORD for Prometheus."),
]


def _fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _load(files: list[Path]) -> list[SloSpec]:
    try:
        return load_spec_files(files)
    except SpecError as exc:
        _fail(str(exc))


def _client(url: str, bearer_token: str | None, basic_auth: str | None) -> PrometheusClient:
    auth = None
    if basic_auth is not None:
        user, sep, password = basic_auth.partition(":")
        if not sep:
            _fail("--basic-auth must be USER:PASSWORD")
        auth = (user, password)
    try:
        return PrometheusClient(url, bearer_token=bearer_token, basic_auth=auth)
    except ValueError as exc:
        _fail(str(exc))


def _duration(text: str, option: str) -> timedelta:
    try:
        return parse_duration(text)
    except ValueError as exc:
        _fail(f"{option}: {exc}")


@slo_app.command()
def rules(
    files: SpecFiles,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
) -> None:
    """Generate the Prometheus recording and burn-rate alerting rules for SLO specs."""
    specs = _load(files)
    for spec in specs:
        if spec.routing_team is None:
            typer.echo(f"warning: {spec.key} has no team; its alerts carry no team label", err=True)
    text = render_rules(specs)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {len(specs)} SLO(s) to {output}", err=True)


@slo_app.command(name="learn")
def learn_command(
    csv: Annotated[Path | None, typer.Option(help="CSV with timestamp,good,total rows.")] = None,
    prometheus: Annotated[str | None, typer.Option(help="Read history from Prometheus.")] = None,
    spec: Annotated[Path | None, typer.Option(help="Take the SLI queries from this spec.")] = None,
    slo: Annotated[str | None, typer.Option(help="SLO name when --spec holds several.")] = None,
    total_query: Annotated[str | None, typer.Option(help="Total events, with {{.window}}.")] = None,
    error_query: Annotated[str | None, typer.Option(help="Bad events, with {{.window}}.")] = None,
    good_query: Annotated[str | None, typer.Option(help="Good events, with {{.window}}.")] = None,
    days: Annotated[int, typer.Option(help="Days of Prometheus history to read.")] = 90,
    step: Annotated[str, typer.Option(help="Resolution of Prometheus history.")] = "5m",
    period: Annotated[str, typer.Option(help="SLO period, e.g. 28d or 30d.")] = "30d",
    targets: Annotated[
        str, typer.Option(help="Comma-separated candidate targets in percent.")
    ] = ",".join(f"{t:g}" for t in DEFAULT_TARGETS),
    confidence: Annotated[float, typer.Option(help="Required chance of meeting a target.")] = 0.9,
    max_pages: Annotated[float, typer.Option(help="Acceptable pages per period.")] = 2.0,
    samples: Annotated[int, typer.Option(help="Bootstrap samples.")] = 2000,
    block_days: Annotated[int, typer.Option(help="Days per bootstrap block.")] = 1,
    seed: Annotated[int, typer.Option(help="Random seed; same seed, same answer.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the full report as JSON.")] = False,
    bearer_token: BearerToken = None,
    basic_auth: BasicAuth = None,
) -> None:
    """Recommend an SLO target and page factors from SLI history (CSV or Prometheus)."""
    if (csv is None) == (prometheus is None):
        _fail("give exactly one of --csv FILE or --prometheus URL")
    try:
        candidates = tuple(float(t) for t in targets.split(",") if t.strip())
    except ValueError:
        _fail(f"--targets: {targets!r} is not a comma-separated list of numbers")
    if not 0 < confidence < 1:
        _fail("--confidence must be between 0 and 1")
    settings = LearnerSettings(
        period=CALENDAR_MONTH_NOMINAL
        if period == CALENDAR_MONTH
        else _duration(period, "--period"),
        targets=candidates,
        confidence=confidence,
        samples=samples,
        block_days=block_days,
        seed=seed,
        max_pages_per_period=max_pages,
    )
    try:
        if csv is not None:
            history = read_history_csv(csv)
        else:
            assert prometheus is not None
            sli = _learn_sli(spec, slo, total_query, error_query, good_query)
            history = _prometheus_history(
                prometheus, sli, days, _duration(step, "--step"), bearer_token, basic_auth
            )
        report = learn(history, settings)
    except (HistoryError, PrometheusError) as exc:
        _fail(str(exc))
    typer.echo(report.model_dump_json(indent=2) if as_json else format_report(report))


def _learn_sli(
    spec: Path | None,
    slo: str | None,
    total_query: str | None,
    error_query: str | None,
    good_query: str | None,
) -> Sli:
    if spec is not None:
        found = [s for s in _load([spec]) if slo is None or s.name == slo]
        if len(found) != 1:
            _fail(f"{spec}: name one SLO with --slo (found {len(found)})")
        return found[0].sli
    if total_query is None:
        _fail(
            "with --prometheus give --spec FILE, or --total-query with --error-query/--good-query"
        )
    try:
        ratio = RatioSli(error_query=error_query, good_query=good_query, total_query=total_query)
    except ValidationError as exc:
        _fail(str(exc.errors()[0]["msg"]).removeprefix("Value error, "))
    return Sli(ratio=ratio)


def _prometheus_history(
    url: str, sli: Sli, days: int, step: timedelta, token: str | None, basic: str | None
) -> SliHistory:
    end = datetime.now(UTC).replace(second=0, microsecond=0)
    with _client(url, token, basic) as client:
        return fetch_history(client, sli, end - timedelta(days=days), end, step)


def format_report(report: LearnerReport) -> str:
    """The learner's report as a plain-text table and explanation."""
    per = f"/{report.period_days:g}d"
    lines = [
        f"{'target':>8}  {'P(met)':>6}  {'pages' + per:>10}  {'tickets' + per:>12}  missed burns"
    ]
    for t in report.targets:
        a = t.alerts
        lines.append(
            f"{t.target:>7g}%  {100 * t.probability_met:>5.0f}%  {a.pages_per_period:>10.1f}  "
            f"{a.tickets_per_period:>12.1f}  {a.missed_burns}/{a.real_burns}"
        )
    lines += ["", f"page factors at {report.recommended_target:g}%:"]
    for a in report.factor_choices:
        delay = (
            "-" if a.median_detection_minutes is None else f"{a.median_detection_minutes:.0f} min"
        )
        lines.append(
            f"  {a.page_factors[0]:g}/{a.page_factors[1]:g}: {a.pages} pages, "
            f"missed {a.missed_burns}/{a.real_burns} real burns, median detection {delay}"
        )
    page, ticket = report.recommended_page_factors, report.recommended_ticket_factors
    lines += [
        "",
        f"Recommendation: objective {report.recommended_target:g}, "
        f"page_factors [{page[0]:g}, {page[1]:g}], ticket_factors [{ticket[0]:g}, {ticket[1]:g}]",
        "",
        *report.explanation,
    ]
    return "\n".join(lines)


@slo_app.command()
def gate(
    service: Annotated[str, typer.Argument(help="Service whose SLOs must have budget left.")],
    spec: Annotated[
        list[Path] | None,
        typer.Option(
            help="SLO spec file (repeatable); without it, the SLOs stored in Watchkeeper."
        ),
    ] = None,
    prometheus: Annotated[
        str | None,
        typer.Option(
            "--prometheus",
            envvar="WATCHKEEPER_PROMETHEUS_URL",
            help="Prometheus base URL; stored SLOs default to their own or the setting's.",
        ),
    ] = None,
    max_burn_rate: Annotated[
        float | None, typer.Option(help="Also fail when burning faster than this.")
    ] = None,
    burn_window: Annotated[
        str | None, typer.Option(help="Window for --max-burn-rate (default: fastest page's).")
    ] = None,
    slo: Annotated[list[str] | None, typer.Option(help="Only these SLOs (repeatable).")] = None,
    bearer_token: BearerToken = None,
    basic_auth: BasicAuth = None,
) -> None:
    """Exit 0 if SERVICE's SLOs have error budget left, 1 if not (2 on usage/connection errors).

    Without --spec the SLOs come from the Watchkeeper database (WATCHKEEPER_DATABASE_URL).
    """
    if spec:
        if prometheus is None:
            _fail("with --spec give --prometheus URL (or WATCHKEEPER_PROMETHEUS_URL)")
        specs = [s for s in _load(spec) if s.service == service and (not slo or s.name in slo)]
        if not specs:
            _fail(f"no SLO of service {service!r} in {', '.join(map(str, spec))}")
        target = PrometheusTarget(prometheus, bearer_token, _basic(basic_auth))
        targets = [(item, target) for item in specs]
    else:
        targets = _stored_targets(service, slo, prometheus, bearer_token, _basic(basic_auth))
    window = _duration(burn_window, "--burn-window") if burn_window else None
    now = datetime.now(UTC)
    failures: list[str] = []
    notes: list[str] = []
    for item, where in targets:
        verdict, line = _gate_one(item, where, now, window, max_burn_rate)
        (failures if verdict else notes).append(line)
    if failures:
        typer.echo("; ".join(failures))
        raise typer.Exit(1)
    typer.echo("ok: " + "; ".join(notes))


def _basic(basic_auth: str | None) -> tuple[str, str] | None:
    if basic_auth is None:
        return None
    try:
        return parse_basic_auth(basic_auth)
    except ValueError:
        _fail("--basic-auth must be USER:PASSWORD")


def _stored_targets(
    service: str,
    names: list[str] | None,
    prometheus: str | None,
    bearer_token: str | None,
    basic_auth: tuple[str, str] | None,
) -> list[tuple[SloSpec, PrometheusTarget]]:
    """The service's SLOs from the database, each with the Prometheus it is evaluated on."""
    settings = Settings()
    db = Database(settings.resolved_database_url)
    try:
        with db.read() as session:
            slos = [s for s in list_slos(session, service=service) if not names or s.name in names]
            found = []
            for stored in slos:
                if prometheus:
                    target = PrometheusTarget(prometheus, bearer_token, basic_auth)
                else:
                    target = resolve_target(
                        settings=settings,
                        url=stored.prometheus_url,
                        bearer_token=stored.prometheus_bearer_token,
                        basic_auth=stored.prometheus_basic_auth,
                    )
                found.append((spec_of(stored), target))
    except SQLAlchemyError as exc:
        _fail(f"cannot read SLOs from the database: {exc.__class__.__name__}: {exc}")
    except NoPrometheus as exc:
        _fail(f"{exc} (or pass --prometheus)")
    finally:
        db.dispose()
    if not found:
        _fail(f"no SLO of service {service!r} is stored in Watchkeeper")
    return found


def _gate_one(
    item: SloSpec,
    target: PrometheusTarget,
    now: datetime,
    window: timedelta | None,
    max_burn_rate: float | None,
) -> tuple[bool, str]:
    """(failed, reason or note) for one SLO; exits 2 when Prometheus fails."""
    if window is None:
        window = min((t.long_window for t in item.tiers if t.route == "page"), default=None)
    window = window or timedelta(hours=1)
    try:
        client = PrometheusClient(
            target.url, bearer_token=target.bearer_token, basic_auth=target.basic_auth
        )
    except ValueError as exc:
        _fail(str(exc))
    try:
        with client:
            status = evaluate(item, client, now, extra_windows=[window])
    except PrometheusError as exc:
        _fail(str(exc))
    if status.budget_remaining is None:
        return False, f"{item.key}: no traffic in the period"
    left = f"{100 * status.budget_remaining:.1f}% of error budget left"
    burn_now = status.burn_rates.get(_key(window))
    if status.exhausted:
        return True, (
            f"{item.key}: error budget exhausted ({left}; SLI "
            f"{status.sli:.3f}% < {item.objective:g}%)"
        )
    if max_burn_rate is not None and burn_now is not None and burn_now > max_burn_rate:
        return True, (
            f"{item.key}: burning {burn_now:.1f}× over {_key(window)}, above "
            f"{max_burn_rate:g}× ({left})"
        )
    return False, f"{item.key}: {left}"


def _key(window: timedelta) -> str:
    return format_duration(window)
