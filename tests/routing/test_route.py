"""Route selection: ordered, first match wins, default as the fallback."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from watchkeeper.routing.matchers import parse_matchers
from watchkeeper.routing.route import RouteSpec, route_matches, select_route

DB = RouteSpec(1, parse_matchers('team="db"'), escalation_chain_id=10)
CRITICAL = RouteSpec(2, parse_matchers('severity=~"critical|page"'), escalation_chain_id=20)
WARNINGS = RouteSpec(3, parse_matchers("severity=warning"), chat_destination_ids=(5, 6))
DEFAULT = RouteSpec(4, is_default=True, escalation_chain_id=99)


def never(template: str) -> bool:
    raise AssertionError(f"template {template!r} should not be rendered")


def test_first_match_wins() -> None:
    routes = [DB, CRITICAL, WARNINGS, DEFAULT]
    assert select_route(routes, {"team": "db", "severity": "critical"}, never) is DB
    assert select_route(routes, {"team": "web", "severity": "critical"}, never) is CRITICAL
    assert select_route([CRITICAL, DB], {"team": "db", "severity": "page"}, never) is CRITICAL


def test_default_is_the_fallback_wherever_it_stands() -> None:
    labels = {"severity": "info"}
    assert select_route([DB, CRITICAL, DEFAULT], labels, never) is DEFAULT
    assert select_route([DEFAULT, DB, CRITICAL], {"team": "db"}, never) is DB
    assert select_route([DEFAULT, DB], labels, never) is DEFAULT


def test_default_ignores_its_own_matchers() -> None:
    odd_default = RouteSpec(7, parse_matchers("never=matches"), is_default=True)
    assert select_route([DB, odd_default], {}, never) is odd_default


def test_first_default_wins_when_several() -> None:
    other = RouteSpec(8, is_default=True)
    assert select_route([DEFAULT, other], {}, never) is DEFAULT


def test_no_default_gives_none() -> None:
    assert select_route([DB, CRITICAL], {"severity": "info"}, never) is None
    assert select_route([], {"severity": "info"}, never) is None


def test_route_without_matchers_matches_everything() -> None:
    catch_all = RouteSpec(9)
    assert select_route([catch_all, DEFAULT], {}, never) is catch_all


def test_template_condition_is_anded_and_rendered_only_after_matchers() -> None:
    rendered: list[str] = []

    def render(template: str) -> bool:
        rendered.append(template)
        return template == "yes"

    yes = RouteSpec(1, parse_matchers("team=db"), condition_template="yes")
    no = RouteSpec(2, condition_template="no")
    assert select_route([no, yes, DEFAULT], {"team": "db"}, render) is yes
    assert rendered == ["no", "yes"]
    rendered.clear()
    assert select_route([yes, DEFAULT], {"team": "web"}, render) is DEFAULT
    assert rendered == []
    assert not route_matches(no, {}, render)


label_sets = st.dictionaries(
    st.sampled_from(["team", "severity"]),
    st.sampled_from(["db", "web", "critical", "warning", "page"]),
)


@given(label_sets, st.permutations([DB, CRITICAL, WARNINGS]), st.booleans())
def test_selected_route_is_the_first_matching_one(
    labels: dict[str, str], routes: list[RouteSpec], with_default: bool
) -> None:
    candidates = [*routes, DEFAULT] if with_default else list(routes)
    chosen = select_route(candidates, labels, never)
    matching = [r for r in routes if route_matches(r, labels, never)]
    if matching:
        assert chosen is matching[0]
    else:
        assert chosen is (DEFAULT if with_default else None)
