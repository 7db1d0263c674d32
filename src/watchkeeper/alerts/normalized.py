"""The normalized alert every ingest adapter produces, whatever the sender."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Literal

AlertAction = Literal["fire", "resolve", "acknowledge"]
SEVERITIES: tuple[str, ...] = ("critical", "error", "warning", "info")


@dataclass(frozen=True, slots=True)
class Link:
    """A link shown with the alert (silence, dashboard, runbook, ...)."""

    title: str
    url: str


@dataclass(slots=True)
class NormalizedAlert:
    """One alert as the alert store sees it, independent of the sender's format.

    Treat it as immutable (use `dataclasses.replace`). It is not frozen only
    because a frozen dataclass takes 3 µs longer to build, per alert, on the
    ingest hot path.

    `fingerprint` identifies the alert within its integration (the dedup key)
    and `group_key` picks its alert group; both are at most 255 characters.
    Times are aware UTC datetimes. `severity` is one of `SEVERITIES`.
    """

    fingerprint: str
    action: AlertAction
    group_key: str
    title: str
    message: str
    severity: str
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime | None
    ends_at: datetime | None
    source_url: str | None
    links: tuple[Link, ...]


@dataclass(frozen=True)
class IntegrationTemplates:
    """An integration's Jinja2 templates; None means the kind's default."""

    title: str | None = None
    message: str | None = None
    grouping_key: str | None = None
    resolve_condition: str | None = None
    severity: str | None = None
    source_link: str | None = None

    def configured(self) -> list[tuple[str, str]]:
        """(name, source) of the templates that are set, in field order."""
        pairs = ((f.name, getattr(self, f.name)) for f in fields(self))
        return [(name, source) for name, source in pairs if source]


@dataclass
class ParseResult:
    """Alerts parsed from one payload, plus template errors worth showing the user."""

    alerts: list[NormalizedAlert]
    template_errors: list[str] = field(default_factory=list)


class PayloadError(ValueError):
    """Payload has the wrong shape; message says what to fix."""

    def __init__(self, message: str, *, errors: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.message = message
        #: Individual problems, for senders that expect a list (PagerDuty).
        self.errors: tuple[str, ...] = tuple(errors) or (message,)
