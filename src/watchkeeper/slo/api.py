"""REST API: SLO definitions, import, status, history and the what-if learner.

Viewers read everything; editors change the SLOs of their teams; admins change
anything. Using the learner against Prometheus needs the editor role, because
it makes Watchkeeper send queries to a URL of the caller's choosing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Body, Query, status

from watchkeeper.api.deps import ContextDep, CurrentPrincipal, NowDep, SessionDep
from watchkeeper.errors import Invalid, PayloadTooLarge
from watchkeeper.slo import learning
from watchkeeper.slo import service as svc
from watchkeeper.slo import status as slo_status
from watchkeeper.slo.learner import LearnerReport
from watchkeeper.slo.models import Slo
from watchkeeper.slo.prometheus import period_start
from watchkeeper.slo.rules import alert_name
from watchkeeper.slo.schemas import (
    EvaluationOut,
    HistoryOut,
    ImportResult,
    LearnRequest,
    SloCreate,
    SloOut,
    SloStatusOut,
    SloUpdate,
    TierOut,
)
from watchkeeper.slo.spec import format_duration

router = APIRouter(prefix="/api/v1", tags=["slos"])

MAX_IMPORT_BYTES = 1024 * 1024
YamlBody = Annotated[
    bytes,
    Body(
        media_type="application/yaml",
        description="Watchkeeper (`version: watchkeeper/v1`), Sloth (`version: prometheus/v1` "
        "or `kind: PrometheusServiceLevel`) or OpenSLO (`apiVersion: openslo/v1`) YAML; "
        "several documents may follow each other.",
    ),
]


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def slo_out(slo: Slo) -> SloOut:
    spec = svc.spec_of(slo)
    auth = "bearer" if slo.prometheus_bearer_token else None
    auth = "basic" if slo.prometheus_basic_auth else auth
    return SloOut(
        id=slo.id,
        team_id=slo.team_id,
        team=slo.team.name,
        service=slo.service,
        name=slo.name,
        objective=spec.objective,
        period=spec.period,
        description=spec.description,
        labels=spec.labels,
        sli=spec.sli.model_dump(mode="json", exclude_none=True),
        alerting=spec.alerting.model_dump(mode="json"),
        alert_name=alert_name(spec),
        tiers=[
            TierOut(
                route=t.route,
                factor=t.factor,
                long_window=format_duration(t.long_window),
                short_window=format_duration(t.short_window),
                budget_consumed=t.budget_consumed(spec.period_length),
            )
            for t in spec.tiers
        ],
        evaluation=EvaluationOut(
            enabled=slo.native_evaluation,
            prometheus_url=slo.prometheus_url,
            auth=auth,
            no_data_alert=slo.no_data_alert,
        ),
        created_at=slo.created_at,
        updated_at=slo.updated_at,
    )


@router.get("/slos", summary="List SLOs")
def list_slos(
    session: SessionDep,
    principal: CurrentPrincipal,
    team_id: int | None = None,
    service: str | None = None,
) -> dict[str, list[SloOut]]:
    return {"items": [slo_out(s) for s in svc.list_slos(session, team_id=team_id, service=service)]}


@router.post(
    "/slos",
    response_model=SloOut,
    status_code=status.HTTP_201_CREATED,
    summary="Create an SLO from the Watchkeeper spec fields (JSON)",
)
def create_slo(
    body: SloCreate, ctx: ContextDep, session: SessionDep, principal: CurrentPrincipal, now: NowDep
) -> SloOut:
    principal.require_team_editor(body.team_id)
    slo = svc.create_slo(session, actor=principal, data=body, settings=ctx.settings, now=now)
    return slo_out(slo)


@router.post(
    "/slos/import",
    response_model=ImportResult,
    summary="Create or replace SLOs from a YAML spec (Watchkeeper, Sloth or OpenSLO)",
    description="Send the YAML with Content-Type application/yaml. An SLO that already "
    "exists (same service and name) is replaced. The team is `team_id`, else the team the "
    "spec names (`team`, or a `team`/`owner` label).",
)
def import_slos(
    body: YamlBody,
    ctx: ContextDep,
    session: SessionDep,
    principal: CurrentPrincipal,
    now: NowDep,
    team_id: int | None = None,
    native_evaluation: Annotated[
        bool, Query(description="switch native evaluation on for the imported SLOs")
    ] = False,
) -> ImportResult:
    principal.require("editor")
    if len(body) > MAX_IMPORT_BYTES:
        raise PayloadTooLarge(f"the spec is larger than {MAX_IMPORT_BYTES} bytes")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Invalid("body: the spec is not UTF-8 text") from None
    slos, created, updated = svc.import_specs(
        session,
        actor=principal,
        text=text,
        team_id=team_id,
        native=native_evaluation,
        settings=ctx.settings,
        now=now,
    )
    session.flush()
    return ImportResult(items=[slo_out(s) for s in slos], created=created, updated=updated)


@router.post(
    "/slos/learn",
    response_model=LearnerReport,
    summary="What-if learner: recommend a target and page factors from SLI history",
    description="Give `csv` (rows of timestamp,good,total with a header) or `prometheus` "
    "(`slo_id`, or `total_query` with `error_query`/`good_query`, plus `days` and `step`).",
)
def learn(
    body: LearnRequest,
    ctx: ContextDep,
    session: SessionDep,
    principal: CurrentPrincipal,
    now: NowDep,
) -> LearnerReport:
    if (body.csv is None) == (body.prometheus is None):
        raise Invalid("csv: give exactly one of csv or prometheus")
    source = None
    if body.prometheus is not None:
        principal.require("editor")
        source = learning.prometheus_source(
            session, query=body.prometheus, settings=ctx.settings, now=now
        )
    learning.learner_settings(body)  # reject bad settings before the slow part
    # End the transaction (and SQLite's write lock) before Prometheus is asked.
    session.commit()
    history = learning.read_history(body, source, settings=ctx.settings)
    return learning.report(body, history)


@router.get("/slos/{slo_id}", response_model=SloOut, summary="One SLO")
def get_slo(slo_id: int, session: SessionDep, principal: CurrentPrincipal) -> SloOut:
    return slo_out(svc.get_slo(session, slo_id=slo_id))


@router.patch("/slos/{slo_id}", response_model=SloOut, summary="Change an SLO")
def update_slo(
    slo_id: int,
    body: SloUpdate,
    ctx: ContextDep,
    session: SessionDep,
    principal: CurrentPrincipal,
    now: NowDep,
) -> SloOut:
    principal.require_team_editor(svc.get_slo(session, slo_id=slo_id).team_id)
    if body.team_id is not None:
        principal.require_team_editor(body.team_id)
    slo = svc.update_slo(
        session, actor=principal, slo_id=slo_id, data=body, settings=ctx.settings, now=now
    )
    return slo_out(slo)


@router.delete("/slos/{slo_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete an SLO")
def delete_slo(slo_id: int, session: SessionDep, principal: CurrentPrincipal, now: NowDep) -> None:
    principal.require_team_editor(svc.get_slo(session, slo_id=slo_id).team_id)
    svc.delete_slo(session, actor=principal, slo_id=slo_id, now=now)


@router.get(
    "/slos/{slo_id}/status",
    response_model=SloStatusOut,
    summary="SLI, error budget, burn rates and budget per alert group, from native evaluation",
)
def get_status(
    slo_id: int, session: SessionDep, principal: CurrentPrincipal, now: NowDep
) -> SloStatusOut:
    slo = svc.get_slo(session, slo_id=slo_id)
    return slo_status.status_out(session, slo=slo, now=now)


@router.get(
    "/slos/{slo_id}/history",
    response_model=HistoryOut,
    summary="Evaluations over time, for charts (default: the current period)",
)
def get_history(
    slo_id: int,
    session: SessionDep,
    principal: CurrentPrincipal,
    now: NowDep,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=slo_status.MAX_HISTORY)] = slo_status.MAX_HISTORY,
) -> HistoryOut:
    slo = svc.get_slo(session, slo_id=slo_id)
    first = _aware(start) if start else period_start(svc.spec_of(slo), now)
    last = _aware(end) if end else now
    points = slo_status.history(session, slo_id=slo.id, start=first, end=last, limit=limit)
    return HistoryOut(items=slo_status.history_out(points))
