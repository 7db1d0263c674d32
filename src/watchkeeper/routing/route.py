"""Choosing the route of an alert group: pure, ordered, first match wins.

An integration's routes are tried in their configured order. A non-default
route matches when all of its label matchers hold (see ``matchers``) and its
template condition, if any, renders true; a route with neither matches every
alert. The matchers are checked first so that the (dearer) template is only
rendered for alerts the matchers let through.

The default route is the catch-all: it is never tried in order and its own
matchers and condition are ignored; it is chosen only when no other route
matches. An integration is expected to have exactly one; if there are several
the first is used, and with none an unmatched alert has no route (``None``),
which the caller must still store and show rather than drop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from watchkeeper.routing.matchers import Matcher, matches

__all__ = ["RouteSpec", "route_matches", "select_route"]


@dataclass(frozen=True)
class RouteSpec:
    """What routing needs to know about one route of an integration."""

    id: int
    matchers: tuple[Matcher, ...] = ()
    condition_template: str | None = None
    escalation_chain_id: int | None = None
    chat_destination_ids: tuple[int, ...] = ()
    is_default: bool = False


def route_matches(
    route: RouteSpec,
    labels: Mapping[str, str],
    render_condition: Callable[[str], bool],
) -> bool:
    """Whether a non-default route's matchers and condition both hold."""
    if not matches(route.matchers, labels):
        return False
    return route.condition_template is None or render_condition(route.condition_template)


def select_route(
    routes: Iterable[RouteSpec],
    labels: Mapping[str, str],
    render_condition: Callable[[str], bool],
) -> RouteSpec | None:
    """The first matching non-default route, else the default route, else None.

    ``render_condition`` renders a route's template for the alert being routed
    and says whether it came out true; its exceptions propagate.
    """
    default: RouteSpec | None = None
    for route in routes:
        if route.is_default:
            default = default or route
        elif route_matches(route, labels, render_condition):
            return route
    return default
