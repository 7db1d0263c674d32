"""Routes of an integration in the database, and choosing one for an alert group."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from watchkeeper.alerts.templating import TemplateFailure, render
from watchkeeper.escalation.models import Route
from watchkeeper.routing.matchers import MatcherError, parse_matchers
from watchkeeper.routing.route import RouteSpec, select_route

TRUTHY = frozenset({"true", "1", "yes"})


def routes_of(session: Session, *, integration_id: int) -> Sequence[Route]:
    return session.scalars(
        select(Route)
        .where(Route.integration_id == integration_id)
        .order_by(Route.position, Route.id)
    ).all()


def spec_of(route: Route) -> RouteSpec:
    try:
        matchers = parse_matchers(route.matchers) if route.matchers.strip() else ()
    except MatcherError:
        # Stored matchers were validated on save; a parser change must not page wrongly.
        matchers = parse_matchers('__invalid_route__="never"')
    return RouteSpec(
        id=route.id,
        matchers=matchers,
        condition_template=route.condition_template,
        escalation_chain_id=route.escalation_chain_id,
        chat_destination_ids=tuple(route.chat_destination_ids or ()),
        is_default=route.is_default,
    )


def choose(
    routes: Sequence[Route], labels: Mapping[str, str], context: Mapping[str, object]
) -> Route | None:
    """The first route whose matchers and condition hold, else the default route."""

    def condition(template: str) -> bool:
        try:
            return render(template, context).strip().lower() in TRUTHY
        except TemplateFailure:
            return False

    by_id = {r.id: r for r in routes}
    chosen = select_route([spec_of(r) for r in routes], labels, condition)
    return None if chosen is None else by_id[chosen.id]
