"""``watchkeeper oncall``: who is on call now (or at --at), per schedule."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from watchkeeper.db import migrate
from watchkeeper.db.engine import Database
from watchkeeper.errors import DomainError
from watchkeeper.schedules import reports
from watchkeeper.schedules import service as svc
from watchkeeper.settings import Settings


def _parse_at(value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        typer.echo(
            f"error: --at {value!r} is not an ISO 8601 time like 2026-03-02T10:00Z", err=True
        )
        raise typer.Exit(code=1) from None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def oncall(
    schedule: Annotated[
        str | None, typer.Option("--schedule", help="Schedule name (default: every schedule).")
    ] = None,
    at: Annotated[
        str | None,
        typer.Option(help="ISO 8601 time, e.g. 2026-03-02T10:00Z (default: now; naive = UTC)."),
    ] = None,
) -> None:
    """Print who is on call, one line per schedule."""
    when = _parse_at(at)
    settings = Settings()
    migrate.upgrade(settings.resolved_database_url)
    db = Database(settings.resolved_database_url)
    try:
        with db.read() as session:
            if schedule is None:
                schedules = list(svc.list_schedules(session))
            else:
                schedules = [svc.get_schedule_by_name(session, name=schedule)]
            if not schedules:
                typer.echo("no schedules yet")
            for item in schedules:
                result = reports.on_call(session, schedule=item, at=when)
                people = reports.users_by_id(session, result.users)
                who = ", ".join(
                    f"{people[u].name} <{people[u].email}>" for u in result.users if u in people
                )
                until = f" until {result.until.isoformat()}" if result.until else ""
                typer.echo(f"{item.name}: {who or 'NOBODY (gap)'}{until}")
    except DomainError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(code=1) from None
    finally:
        db.dispose()
