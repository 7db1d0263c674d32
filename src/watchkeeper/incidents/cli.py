"""``watchkeeper incident``: declare, update, resolve and list incidents."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated, TypeVar

import typer
from pydantic import ValidationError
from pydantic_core import ErrorDetails
from sqlalchemy import select
from sqlalchemy.orm import Session

from watchkeeper.db import migrate
from watchkeeper.db.engine import Database
from watchkeeper.errors import DomainError, Invalid
from watchkeeper.identity import service as identity
from watchkeeper.identity.models import Team
from watchkeeper.identity.principal import Principal
from watchkeeper.incidents import review, service, views
from watchkeeper.incidents.schemas import IncidentCreate
from watchkeeper.settings import Settings

incident_app = typer.Typer(
    help="Incidents: declare one, post updates, resolve it, print its review.",
    no_args_is_help=True,
)

CLI = Principal(kind="system", id=None, name="cli", role="admin")
T = TypeVar("T")

AsOption = Annotated[
    str | None,
    typer.Option("--as", help="Email of the user to act as (default: the system 'cli')."),
]


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=1)


@contextmanager
def _database() -> Iterator[Database]:
    settings = Settings()
    migrate.upgrade(settings.resolved_database_url)
    db = Database(settings.resolved_database_url)
    try:
        yield db
    finally:
        db.dispose()


def _write(action: Callable[[Session], T]) -> T:
    """Run ``action`` in one write transaction; domain errors become a clean exit 1."""
    with _database() as db:
        try:
            with db.write() as session:
                return action(session)
        except DomainError as exc:
            _fail(exc.message)
        raise AssertionError("unreachable")


def _actor(session: Session, email: str | None) -> Principal:
    if email is None:
        return CLI
    return identity.principal_for(session, identity.get_user_by_email(session, email=email))


def _message(error: ErrorDetails) -> str:
    field = ".".join(str(p) for p in error["loc"])
    return f"{field}: {error['msg'].removeprefix('Value error, ')}"


def _team_id(session: Session, team: str | None) -> int | None:
    if team is None:
        return None
    if team.isdigit():
        return int(team)
    found = session.scalar(select(Team.id).where(Team.name == team))
    if found is None:
        raise Invalid(f"no team named {team!r}")
    return found


@incident_app.command("declare")
def declare(
    title: Annotated[str, typer.Option(help="What is wrong, in a few words.")],
    severity: Annotated[
        str | None, typer.Option(help="Severity level, e.g. SEV2 (default: the least severe).")
    ] = None,
    group: Annotated[
        list[int] | None, typer.Option("--group", help="Alert group id to link; repeatable.")
    ] = None,
    team: Annotated[str | None, typer.Option(help="Owning team: id or name.")] = None,
    summary: Annotated[str, typer.Option(help="What we know so far.")] = "",
    as_email: AsOption = None,
) -> None:
    """Declare an incident; prints its id."""

    def run(session: Session) -> str:
        actor = _actor(session, as_email)
        try:
            data = IncidentCreate(
                title=title,
                summary=summary,
                severity=severity,
                group_ids=group or [],
                team_id=_team_id(session, team),
            )
        except ValidationError as exc:
            raise Invalid("; ".join(_message(e) for e in exc.errors())) from exc
        incident = service.declare(
            session, actor=actor, data=data, now=datetime.now(UTC), source="cli"
        )
        return f"declared incident {incident.id} ({incident.severity}): {incident.title}"

    typer.echo(_write(run))


@incident_app.command("update")
def update(
    incident_id: Annotated[int, typer.Argument(help="Incident id.")],
    text: Annotated[str, typer.Option(help="The status update for subscribers and chat.")],
    status: Annotated[
        str | None,
        typer.Option(help="New status: investigating, identified, monitoring or resolved."),
    ] = None,
    as_email: AsOption = None,
) -> None:
    """Post a status update, optionally moving the status."""
    if status is not None and status not in (
        "investigating",
        "identified",
        "monitoring",
        "resolved",
    ):
        _fail(f"unknown status {status!r}; use investigating, identified, monitoring or resolved")
    if not text.strip():
        _fail("--text must not be empty")

    def run(session: Session) -> str:
        incident = service.get_incident(session, incident_id=incident_id, lock=True)
        service.post_status_update(
            session,
            actor=_actor(session, as_email),
            incident=incident,
            text=text.strip(),
            status=status,
            now=datetime.now(UTC),
        )
        return f"posted update to incident {incident.id} ({incident.status})"

    typer.echo(_write(run))


@incident_app.command("resolve")
def resolve(
    incident_id: Annotated[int, typer.Argument(help="Incident id.")],
    text: Annotated[
        str | None, typer.Option(help="A final status update to post with the resolve.")
    ] = None,
    as_email: AsOption = None,
) -> None:
    """Resolve an incident; its review is due after the severity's review days."""

    def run(session: Session) -> str:
        incident = service.get_incident(session, incident_id=incident_id, lock=True)
        actor, now = _actor(session, as_email), datetime.now(UTC)
        service.change_status(
            session, actor=actor, incident=incident, status="resolved", message="", now=now
        )
        if text and text.strip():
            service.post_status_update(
                session, actor=actor, incident=incident, text=text.strip(), status=None, now=now
            )
        return f"resolved incident {incident.id}"

    typer.echo(_write(run))


@incident_app.command("list")
def list_incidents(
    all_: Annotated[bool, typer.Option("--all", help="Include resolved incidents.")] = False,
) -> None:
    """List incidents, newest first (active ones unless --all)."""
    with _database() as db, db.read() as session:
        rows = service.list_incidents(session, active=None if all_ else True, limit=200)
        for incident in rows:
            typer.echo(f"{incident.id}\t{incident.severity}\t{incident.status}\t{incident.title}")
        if not rows:
            typer.echo("no incidents" if all_ else "no active incidents")


@incident_app.command("review")
def print_review(incident_id: Annotated[int, typer.Argument(help="Incident id.")]) -> None:
    """Print the post-incident review as Markdown."""
    with _database() as db, db.read() as session:
        try:
            incident = service.get_incident(session, incident_id=incident_id)
        except DomainError as exc:
            _fail(exc.message)
            return
        doc = views.review_document(session, incident, today=datetime.now(UTC).date())
        typer.echo(review.to_markdown(doc))
