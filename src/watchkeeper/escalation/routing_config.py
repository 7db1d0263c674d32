"""The engine's copy of the routing configuration, kept from one pass to the next.

Under a stream of new alert groups, reading the integration's routes and the
enabled outgoing webhooks again on every engine pass was a third of the
engine's work (two ORM queries a pass); keeping them raised PagerDuty events/s
on PostgreSQL by 13-18 % (docs/integrations.md). The copy stays right because
every change to what it holds is announced in the outbox, which the engine
reads in order, in whichever process the change was made:

- a flush that adds, changes or deletes a route, an outgoing webhook or a team
  (deleting a team makes its webhooks global) also writes a ``config.changed``
  event in the same transaction;
- a pass that reads such an event drops the copy before it handles anything;
- a pass that finds the outbox cursor somewhere other than where this copy last
  left it drops the copy too: another process read events it has not seen
  (leadership moved), or its own last pass rolled back.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, cast

from sqlalchemy import Table, event, insert
from sqlalchemy.orm import Session

from watchkeeper.alerts.models import OutboxEvent
from watchkeeper.db.bulk import prepared_in
from watchkeeper.db.engine import clock_of
from watchkeeper.escalation.models import Route
from watchkeeper.identity.models import Team
from watchkeeper.notify import outgoing
from watchkeeper.notify.models import OutgoingWebhook
from watchkeeper.notify.outgoing import Hooks
from watchkeeper.routing import service as routing

CONFIG_TOPIC = "config.changed"
WATCHED = (Route, OutgoingWebhook, Team)
_OUTBOX = cast(Table, OutboxEvent.__table__)


class RoutingConfig:
    """Routes by integration and the enabled webhooks, as of outbox position ``position``."""

    def __init__(self) -> None:
        self.position: int | None = None
        self._routes: dict[int, Sequence[Route]] = {}
        self._hooks: Hooks | None = None

    def clear(self) -> None:
        self._routes = {}
        self._hooks = None

    def follow(self, position: int) -> None:
        """A pass starts with the cursor at ``position``: drop the copy if it moved elsewhere."""
        if position != self.position:
            self.clear()
        self.position = position

    def routes(self, session: Session, integration_id: int) -> Sequence[Route]:
        if integration_id not in self._routes:
            with prepared_in(session):
                routes = routing.routes_of(session, integration_id=integration_id)
            for route in routes:
                # Detached, so a rollback of this pass cannot expire them.
                session.expunge(route)
            self._routes[integration_id] = routes
        return self._routes[integration_id]

    def hooks(self, session: Session) -> Hooks:
        if self._hooks is None:
            with prepared_in(session):
                self._hooks = outgoing.enabled_hooks(session)
        return self._hooks


def _touched(objects: Iterable[Any]) -> bool:
    return any(isinstance(obj, WATCHED) for obj in objects)


# Registered for every session of the process on import; every process that
# can change routes imports it (create_app builds the engine, which uses it).
@event.listens_for(Session, "before_flush")
def _announce_changes(session: Session, _context: Any, _instances: Any) -> None:
    if _touched(session.new) or _touched(session.deleted) or _touched(session.dirty):
        session.execute(
            insert(_OUTBOX).values(at=clock_of(session).now(), topic=CONFIG_TOPIC, payload={})
        )
