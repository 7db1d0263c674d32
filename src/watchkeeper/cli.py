"""The ``watchkeeper`` command line."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from watchkeeper import __version__
from watchkeeper.db import migrate
from watchkeeper.db.engine import Database
from watchkeeper.errors import DomainError
from watchkeeper.identity import service as identity
from watchkeeper.identity.credentials import new_password
from watchkeeper.identity.principal import SYSTEM
from watchkeeper.identity.schemas import UserCreate
from watchkeeper.incidents.cli import incident_app
from watchkeeper.schedules.cli import oncall as oncall_command
from watchkeeper.settings import Settings
from watchkeeper.slo.cli import slo_app

app = typer.Typer(
    help="Watchkeeper: on-call, incident response and SLOs. Configure with WATCHKEEPER_* "
    "environment variables (see docs/configuration.md).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
user_app = typer.Typer(help="Manage users.", no_args_is_help=True)
token_app = typer.Typer(help="Manage API tokens.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.command("oncall")(oncall_command)
app.add_typer(incident_app, name="incident")
app.add_typer(
    slo_app, name="slo", help="SLOs: rule generation, the what-if learner, the deploy gate."
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"watchkeeper {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """Watchkeeper command line."""


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=1)


def _database(settings: Settings) -> Database:
    migrate.upgrade(settings.resolved_database_url)
    return Database(settings.resolved_database_url)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
    tls_cert: Annotated[
        str | None, typer.Option("--tls-cert", help="PEM certificate; serve HTTPS with it.")
    ] = None,
    tls_key: Annotated[
        str | None, typer.Option("--tls-key", help="PEM private key for --tls-cert.")
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Server processes sharing the port (PostgreSQL only); "
            "one per core is a good start.",
        ),
    ] = 1,
) -> None:
    """Run the API, UI, ingest and engine (migrations run first)."""
    import uvicorn

    from watchkeeper.api.observability import configure_logging
    from watchkeeper.app import create_app, tune_gc_for_serving

    if (tls_cert is None) != (tls_key is None):
        _fail("--tls-cert and --tls-key go together")
    settings = Settings()
    configure_logging(settings.log_level)
    db = _database(settings)
    if workers > 1 and not db.is_postgres:
        _fail(
            "--workers needs PostgreSQL: on SQLite one process owns the database. "
            "Drop --workers, or set WATCHKEEPER_DATABASE_URL to a PostgreSQL database."
        )
    _bootstrap_admin(db)
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "ssl_certfile": tls_cert,
        "ssl_keyfile": tls_key,
        "log_config": None,
        "access_log": False,
    }
    if workers > 1:
        # Each worker builds its own app (database pool, engine, workers); the
        # engines elect one outbox reader among themselves, as separate servers do.
        db.dispose()
        uvicorn.run("watchkeeper.app:serving_app", factory=True, workers=workers, **options)
    else:
        app = create_app(settings, db=db)
        tune_gc_for_serving()
        uvicorn.run(app, **options)


def _bootstrap_admin(db: Database) -> None:
    """On an empty database, create an admin and print its password once."""
    with db.write() as session:
        if identity.count_users(session) > 0:
            return
        password = new_password()
        identity.create_user(
            session,
            actor=SYSTEM,
            data=UserCreate(
                email="admin@localhost", name="Administrator", role="admin", password=password
            ),
            now=datetime.now(UTC),
        )
    sys.stdout.write(
        "\n  First start: created admin account\n"
        f"    email:    admin@localhost\n    password: {password}\n"
        "  This password is shown only once. Log in and change it.\n\n"
    )
    sys.stdout.flush()


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    migrate.upgrade(Settings().resolved_database_url, revision)
    typer.echo(f"database upgraded to {revision}")


@db_app.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument()]) -> None:
    """Revert migrations down to REVISION ('base' removes every table)."""
    migrate.downgrade(Settings().resolved_database_url, revision)
    typer.echo(f"database downgraded to {revision}")


@user_app.command("create")
def user_create(
    email: Annotated[str, typer.Option(help="Login email, unique.")],
    name: Annotated[str, typer.Option(help="Display name.")],
    role: Annotated[str, typer.Option(help="admin, editor or viewer.")] = "viewer",
    time_zone: Annotated[str, typer.Option(help="IANA time zone.")] = "UTC",
    password: Annotated[
        str | None, typer.Option(help="Web login password (generated and printed if omitted).")
    ] = None,
) -> None:
    """Create a user."""
    from pydantic import ValidationError

    generated = password is None
    password = password or new_password()
    try:
        data = UserCreate(
            email=email,
            name=name,
            role=role,
            time_zone=time_zone,
            password=password,
        )
    except ValidationError as exc:
        _fail("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()))
        return
    db = _database(Settings())
    try:
        with db.write() as session:
            user = identity.create_user(session, actor=SYSTEM, data=data, now=datetime.now(UTC))
            user_id = user.id
    except DomainError as exc:
        _fail(exc.message)
    typer.echo(f"created user {user_id} {data.email} ({data.role})")
    if generated:
        typer.echo(f"password: {password}")


@token_app.command("create")
def token_create(
    email: Annotated[str, typer.Option(help="Email of the token's user.")],
    name: Annotated[str, typer.Option(help="What the token is for.")] = "cli",
) -> None:
    """Create an API token; the token alone is printed on the last line."""
    db = _database(Settings())
    try:
        with db.write() as session:
            user = identity.get_user_by_email(session, email=email)
            token, secret = identity.create_token(
                session, actor=SYSTEM, user_id=user.id, name=name, now=datetime.now(UTC)
            )
            token_id = token.id
    except DomainError as exc:
        _fail(exc.message)
        return
    typer.echo(f"created token {token_id} for {email}; it is shown only once:")
    typer.echo(secret)


@token_app.command("revoke")
def token_revoke(token_id: Annotated[int, typer.Argument(help="Token id.")]) -> None:
    """Revoke an API token."""
    db = _database(Settings())
    try:
        with db.write() as session:
            identity.revoke_token(session, actor=SYSTEM, token_id=token_id, now=datetime.now(UTC))
    except DomainError as exc:
        _fail(exc.message)
    typer.echo(f"revoked token {token_id}")


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    app()
