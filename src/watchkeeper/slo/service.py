"""SLO definitions in the database: keyword-only functions that take a session."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from watchkeeper.errors import Conflict, Invalid, NotFound
from watchkeeper.identity import audit
from watchkeeper.identity.models import Team
from watchkeeper.identity.principal import Principal
from watchkeeper.notify.netguard import UnsafeUrl
from watchkeeper.settings import Settings
from watchkeeper.slo import pipeline
from watchkeeper.slo.connect import check_prometheus_url, parse_basic_auth
from watchkeeper.slo.loaders import load_spec_text
from watchkeeper.slo.models import Slo
from watchkeeper.slo.schemas import EvaluationIn, EvaluationUpdate, SloCreate, SloUpdate
from watchkeeper.slo.spec import SloSpec, SpecError

SPEC_FIELDS: set[str] = {
    "service",
    "name",
    "objective",
    "period",
    "sli",
    "description",
    "labels",
    "alerting",
}


def _field_of(loc: tuple[int | str, ...], message: str) -> str:
    if loc:
        return ".".join(str(part) for part in loc)
    # SloSpec's cross-field check names no field: its messages start with what is wrong.
    return "period" if message.startswith("period") else "alerting"


def build_spec(fields: dict[str, Any], *, team: str) -> SloSpec:
    """Validate spec fields as one SloSpec; Invalid names each field at fault."""
    try:
        return SloSpec.model_validate({**fields, "team": team})
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            message = str(error["msg"]).removeprefix("Value error, ")
            problems.append(f"{_field_of(tuple(error['loc']), message)}: {message}")
        raise Invalid("; ".join(problems)) from None


def spec_of(slo: Slo) -> SloSpec:
    """The stored spec with the owning team's current name as its team."""
    return SloSpec.model_validate({**slo.spec, "team": slo.team.name})


def _stored(spec: SloSpec) -> dict[str, Any]:
    return spec.model_dump(mode="json", exclude={"team"})


def get_slo(session: Session, *, slo_id: int) -> Slo:
    slo = session.get(Slo, slo_id)
    if slo is None:
        raise NotFound(f"SLO {slo_id} does not exist")
    return slo


def list_slos(
    session: Session, *, team_id: int | None = None, service: str | None = None
) -> Sequence[Slo]:
    query = select(Slo).order_by(Slo.service, Slo.name)
    if team_id is not None:
        query = query.where(Slo.team_id == team_id)
    if service is not None:
        query = query.where(Slo.service == service)
    return session.scalars(query).all()


def find_slo(session: Session, *, service: str, name: str) -> Slo | None:
    return session.scalar(select(Slo).where(Slo.service == service, Slo.name == name))


def _team(session: Session, team_id: int) -> Team:
    team = session.get(Team, team_id)
    if team is None:
        raise Invalid(f"team_id: team {team_id} does not exist")
    return team


def _clean(value: str | None) -> str | None:
    return value.strip() or None if value is not None else None


def _apply_evaluation(slo: Slo, data: EvaluationIn | EvaluationUpdate, settings: Settings) -> None:
    given = (
        data.model_fields_set
        if isinstance(data, EvaluationUpdate)
        else set(EvaluationIn.model_fields)
    )
    if "enabled" in given and data.enabled is not None:
        slo.native_evaluation = data.enabled
    if "no_data_alert" in given and data.no_data_alert is not None:
        slo.no_data_alert = data.no_data_alert
    if "prometheus_url" in given:
        url = _clean(data.prometheus_url)
        if url is not None:
            try:
                check_prometheus_url(url, settings)
            except UnsafeUrl as exc:
                raise Invalid(f"evaluation.prometheus_url: {exc.message}") from None
        slo.prometheus_url = url
    if "bearer_token" in given:
        slo.prometheus_bearer_token = _clean(data.bearer_token)
    if "basic_auth" in given:
        basic = _clean(data.basic_auth)
        if basic is not None:
            try:
                parse_basic_auth(basic)
            except ValueError as exc:
                raise Invalid(f"evaluation.basic_auth: {exc}") from None
        slo.prometheus_basic_auth = basic
    if slo.prometheus_bearer_token and slo.prometheus_basic_auth:
        raise Invalid("evaluation: give a bearer token or basic auth, not both")
    if slo.native_evaluation and not (slo.prometheus_url or settings.prometheus_url):
        raise Invalid(
            "evaluation.prometheus_url: native evaluation needs a Prometheus URL; "
            "set it here or WATCHKEEPER_PROMETHEUS_URL"
        )


def _check_unique(session: Session, spec: SloSpec, skip: int | None) -> None:
    existing = find_slo(session, service=spec.service, name=spec.name)
    if existing is not None and existing.id != skip:
        raise Conflict(f"SLO {spec.key} already exists (id {existing.id})")


def create_slo(
    session: Session, *, actor: Principal, data: SloCreate, settings: Settings, now: datetime
) -> Slo:
    team = _team(session, data.team_id)
    spec = build_spec(data.model_dump(include=SPEC_FIELDS), team=team.name)
    _check_unique(session, spec, None)
    slo = Slo(
        team_id=team.id,
        service=spec.service,
        name=spec.name,
        spec=_stored(spec),
        native_evaluation=False,
        no_data_alert=False,
        created_at=now,
        updated_at=now,
    )
    _apply_evaluation(slo, data.evaluation, settings)
    session.add(slo)
    session.flush()
    _audit(session, actor, "slo.create", slo, now)
    return slo


def update_slo(
    session: Session,
    *,
    actor: Principal,
    slo_id: int,
    data: SloUpdate,
    settings: Settings,
    now: datetime,
) -> Slo:
    slo = get_slo(session, slo_id=slo_id)
    changes = data.model_dump(include=SPEC_FIELDS, exclude_unset=True)
    team = _team(session, data.team_id) if data.team_id is not None else slo.team
    spec = build_spec({**slo.spec, **changes}, team=team.name)
    _check_unique(session, spec, slo.id)
    was_native = slo.native_evaluation
    if (spec.service, spec.name, team.id) != (slo.service, slo.name, slo.team_id):
        # Alerts carry service, slo and team labels: close them under the old ones.
        pipeline.close_alerts(session, slo=slo, now=now)
    slo.team_id, slo.team = team.id, team
    slo.service, slo.name, slo.spec = spec.service, spec.name, _stored(spec)
    if data.evaluation is not None:
        _apply_evaluation(slo, data.evaluation, settings)
    if was_native and not slo.native_evaluation:
        pipeline.close_alerts(session, slo=slo, now=now)
    slo.updated_at = now
    fields = sorted({*changes, *(["team_id"] if data.team_id is not None else [])})
    _audit(session, actor, "slo.update", slo, now, fields=fields)
    return slo


def delete_slo(session: Session, *, actor: Principal, slo_id: int, now: datetime) -> None:
    slo = get_slo(session, slo_id=slo_id)
    pipeline.close_alerts(session, slo=slo, now=now)
    _audit(session, actor, "slo.delete", slo, now)
    session.delete(slo)


def import_specs(
    session: Session,
    *,
    actor: Principal,
    text: str,
    team_id: int | None,
    native: bool,
    settings: Settings,
    now: datetime,
) -> tuple[list[Slo], list[int], list[int]]:
    """Create or replace SLOs from a Watchkeeper, Sloth or OpenSLO YAML document.

    The team is `team_id` when given, else the spec's team (Watchkeeper `team`,
    a `team` or `owner` label) looked up by name. Returns (all, created ids, updated ids).
    """
    try:
        specs = load_spec_text(text, source="body")
    except SpecError as exc:
        raise Invalid(str(exc)) from None
    fixed = _team(session, team_id) if team_id is not None else None
    slos, created, updated = [], [], []
    for spec in specs:
        team = fixed or _team_named(session, spec)
        actor.require_team_editor(team.id)
        spec = spec.model_copy(update={"team": team.name})
        slo = find_slo(session, service=spec.service, name=spec.name)
        if slo is None:
            slo = Slo(
                team_id=team.id,
                team=team,
                service=spec.service,
                name=spec.name,
                spec=_stored(spec),
                native_evaluation=False,
                no_data_alert=False,
                created_at=now,
                updated_at=now,
            )
            _apply_evaluation(slo, EvaluationUpdate(enabled=native), settings)
            session.add(slo)
            session.flush()
            created.append(slo.id)
            _audit(session, actor, "slo.create", slo, now, source="import")
        else:
            actor.require_team_editor(slo.team_id)
            if team.id != slo.team_id:
                pipeline.close_alerts(session, slo=slo, now=now)
            slo.team_id, slo.team, slo.spec, slo.updated_at = team.id, team, _stored(spec), now
            if native:
                _apply_evaluation(slo, EvaluationUpdate(enabled=True), settings)
            updated.append(slo.id)
            _audit(session, actor, "slo.update", slo, now, source="import")
        slos.append(slo)
    return slos, created, updated


def _team_named(session: Session, spec: SloSpec) -> Team:
    name = spec.routing_team
    if name is None:
        raise Invalid(
            f"team: {spec.key} names no team; add `team` (or a team/owner label) or pass ?team_id="
        )
    team = session.scalar(select(Team).where(Team.name == name))
    if team is None:
        raise Invalid(f"team: {spec.key} names team {name!r}, which does not exist")
    return team


def _audit(
    session: Session, actor: Principal, action: str, slo: Slo, now: datetime, **details: Any
) -> None:
    audit.record(
        session,
        actor=actor,
        action=action,
        object_type="slo",
        object_id=slo.id,
        at=now,
        details={"service": slo.service, "name": slo.name, **details},
    )
