"""Matcher parsing and matching, checked against Alertmanager's own test tables.

The parse cases come from prometheus/alertmanager matcher/parse/parse_test.go
(the UTF-8 parser), the match cases from pkg/labels/matcher_test.go.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from watchkeeper.routing.matchers import (
    Matcher,
    MatcherError,
    MatchOp,
    format_matchers,
    matches,
    parse_matchers,
)

EQ, NE, RE, NRE = MatchOp.EQUAL, MatchOp.NOT_EQUAL, MatchOp.REGEX, MatchOp.NOT_REGEX

PARSE_CASES: list[tuple[str, list[tuple[str, MatchOp, str]]]] = [
    ("", []),
    ("{}", []),
    ("{foo=bar}", [("foo", EQ, "bar")]),
    ("{foo=bar,}", [("foo", EQ, "bar")]),
    ("{foo!=bar}", [("foo", NE, "bar")]),
    ("{foo=~[a-z]+}", [("foo", RE, "[a-z]+")]),
    ("{foo!~[a-z]+}", [("foo", NRE, "[a-z]+")]),
    ("{foo=🙂}", [("foo", EQ, "🙂")]),
    ("{foo=🙂bar}", [("foo", EQ, "🙂bar")]),
    ("foo=bar", [("foo", EQ, "bar")]),
    ("foo=bar,", [("foo", EQ, "bar")]),
    ("foo!~[a-z]+", [("foo", NRE, "[a-z]+")]),
    ('{"foo"="bar"}', [("foo", EQ, "bar")]),
    ('{"foo"="bar",}', [("foo", EQ, "bar")]),
    ('{"foo"=~"[a-z]+"}', [("foo", RE, "[a-z]+")]),
    ('{"foo"=~"\\\\d+"}', [("foo", RE, "\\d+")]),
    ('{"foo"="\\xf0\\x9f\\x99\\x82"}', [("foo", EQ, "🙂")]),
    ('{"foo"="\\U0001f642"}', [("foo", EQ, "🙂")]),
    ('{"foo"="bar\\n"}', [("foo", EQ, "bar\n")]),
    ('{"foo"="bar\\t"}', [("foo", EQ, "bar\t")]),
    ('{"foo"="\\"bar\\""}', [("foo", EQ, '"bar"')]),
    ('{"foo"="bar\\\\"}', [("foo", EQ, "bar\\")]),
    ('"foo"="bar",', [("foo", EQ, "bar")]),
    ("{foo=bar,bar!=baz}", [("foo", EQ, "bar"), ("bar", NE, "baz")]),
    ('foo="bar",bar!="baz"', [("foo", EQ, "bar"), ("bar", NE, "baz")]),
    # Beyond Alertmanager's table: whitespace, empty values, UTF-8 names, octal.
    (' { a = "b" , c !~ "d|e" , } ', [("a", EQ, "b"), ("c", NRE, "d|e")]),
    ('foo=""', [("foo", EQ, "")]),
    ('"service name"="a b", a.b/c=x', [("service name", EQ, "a b"), ("a.b/c", EQ, "x")]),
    ('x="\\101\\x42\\u00e9"', [("x", EQ, "ABé")]),
    ("a=b,a!=c", [("a", EQ, "b"), ("a", NE, "c")]),
]


@pytest.mark.parametrize(("text", "expected"), PARSE_CASES)
def test_parse_agrees_with_alertmanager(
    text: str, expected: list[tuple[str, MatchOp, str]]
) -> None:
    assert parse_matchers(text) == tuple(Matcher(n, op, v) for n, op, v in expected)


ERROR_CASES = [
    # (input, 1-based column, words the message must contain)
    (",", 1, "expected a label name"),
    ("{,}", 2, "expected a label name"),
    ("{", 2, "missing closing '}'"),
    ("}", 1, "without an opening '{'"),
    ("foo=bar}", 8, "without an opening '{'"),
    ("{foo=bar", 9, "missing closing '}'"),
    ('{foo=:"bar"}', 7, "expected ',' or '}'"),
    ('{foo="bar\\w"}', 10, "invalid escape sequence \\w"),
    ('{"foo"=~"\\d+"}', 10, "write \\\\ for a literal backslash"),
    ("{foo=bar\\n}", 9, "outside quotes"),
    ('{"foo"="\\xf0\\x9f"}', 8, "not valid UTF-8"),
    ("foo=", 5, "expected a label value"),
    ("foo", 4, "expected an operator"),
    ("foo bar=baz", 5, "expected an operator"),
    ("foo=bar baz", 9, "must be double-quoted"),
    ("foo=bar,,", 9, "expected a matcher or '}' after ','"),
    ('""=x', 1, "label name must not be empty"),
    ("a!b", 3, "expected '=' or '~' after '!'"),
    ("{a=b} c=d", 7, "after the closing '}'"),
    ('a="open', 3, "missing closing '\"'"),
    ("a='b'", 3, "double quotes"),
    ("a=~(b", 4, "invalid regex"),
    ('a=~"x{2,1}"', 4, "invalid regex"),
    ('a="line\nbreak"', 8, "line break inside quotes"),
    ('a="\\ud800"', 4, "invalid code point"),
]


@pytest.mark.parametrize(("text", "column", "words"), ERROR_CASES)
def test_parse_errors_point_at_the_problem(text: str, column: int, words: str) -> None:
    with pytest.raises(MatcherError) as info:
        parse_matchers(text)
    assert info.value.position == column - 1
    assert str(info.value).startswith(f"column {column}: ")
    assert words in str(info.value)


MATCH_CASES = [
    (EQ, "bar", "bar", True),
    (EQ, "bar", "foo-bar", False),
    (NE, "bar", "bar", False),
    (NE, "bar", "foo-bar", True),
    (RE, "bar", "bar", True),
    (RE, "bar", "foo-bar", False),  # anchored at both ends
    (RE, ".*bar", "foo-bar", True),
    (NRE, "bar", "bar", False),
    (NRE, "bar", "foo-bar", True),
    (NRE, ".*bar", "foo-bar", False),
    (RE, "foo.bar", "foo-bar", True),
    (RE, "foo\\.bar", "foo-bar", False),
    (RE, "foo\\.bar", "foo.bar", True),
    (EQ, "foo\nbar", "foo\nbar", True),
    (RE, "foo.bar", "foo\nbar", False),
    (RE, "(?s)foo.bar", "foo\nbar", True),
    (EQ, '~!="', '~!="', True),
    # RE2 semantics as in Go: flags anywhere, ASCII \d, no trailing-newline `$`.
    (RE, "(?i)crit", "CRIT", True),
    (RE, "a(?i)b", "aB", True),
    (RE, "\\d+", "١٢", False),
    (RE, "bar", "bar\n", False),
    (RE, "a|b", "ab", False),
    (RE, "", "", True),
    (NRE, "", "x", True),
]


@pytest.mark.parametrize(("op", "pattern", "value", "expected"), MATCH_CASES)
def test_match_agrees_with_alertmanager(
    op: MatchOp, pattern: str, value: str, expected: bool
) -> None:
    assert Matcher("foo", op, pattern).matches_value(value) is expected


def test_missing_label_is_empty_string() -> None:
    labels = {"severity": "critical"}
    assert matches(parse_matchers('team=""'), labels)
    assert not matches(parse_matchers('team!=""'), labels)
    assert matches(parse_matchers('team=~"|backend"'), labels)
    assert not matches(parse_matchers("team=~.+"), labels)
    assert matches(parse_matchers("team!~.+"), labels)
    assert matches(parse_matchers("team!=backend"), labels)


def test_matchers_are_anded_and_empty_matches_all() -> None:
    ms = parse_matchers('{severity=~"critical|page", team="db"}')
    assert matches(ms, {"severity": "page", "team": "db"})
    assert not matches(ms, {"severity": "page", "team": "web"})
    assert matches((), {})


def test_regex_rejects_backtracking_only_features() -> None:
    # Go's regexp (RE2) has no lookaround or backreferences; neither do we.
    for pattern in ("(?=a)a", "(a)\\1"):
        with pytest.raises(MatcherError, match="invalid regex"):
            Matcher("x", RE, pattern)


def test_str_is_alertmanager_style() -> None:
    assert str(Matcher("foo", EQ, "bar")) == 'foo="bar"'
    assert str(Matcher("foo", NE, 'a"b\\c\nd')) == 'foo!="a\\"b\\\\c\\nd"'
    assert str(Matcher("service name", NE, "")) == '"service name"!=""'
    assert format_matchers(parse_matchers("a=b,c=~d")) == '{a="b", c=~"d"}'
    assert format_matchers(()) == "{}"


def test_op_accepts_its_text() -> None:
    assert Matcher("a", "=~", "b.*") == Matcher("a", RE, "b.*")  # type: ignore[arg-type]


def escape_regex(text: str) -> str:
    """A regex matching exactly ``text`` (RE2 takes any escaped ASCII non-word character)."""
    return "".join("\\" + c if c.isascii() and not (c.isalnum() or c == "_") else c for c in text)


names = st.text(min_size=1, max_size=12)
values = st.text(max_size=20)
literal_regexes = st.text(max_size=10).map(escape_regex)
any_matcher = st.one_of(
    st.builds(Matcher, names, st.sampled_from([EQ, NE]), values),
    st.builds(Matcher, names, st.sampled_from([RE, NRE]), literal_regexes),
    st.builds(
        Matcher, names, st.sampled_from([RE, NRE]), st.sampled_from([".*", "a|b+", "[^x]?", "é"])
    ),
)


@given(st.lists(any_matcher, max_size=5))
def test_format_then_parse_round_trips(ms: list[Matcher]) -> None:
    assert parse_matchers(format_matchers(ms)) == tuple(ms)
    for m in ms:
        assert parse_matchers(str(m)) == (m,)


label_sets = st.dictionaries(st.sampled_from(["a", "b", "é x"]), values, max_size=3)


@given(st.sampled_from(["a", "b", "é x"]), values, label_sets)
def test_equal_and_not_equal_are_complements(name: str, value: str, labels: dict[str, str]) -> None:
    eq, ne = Matcher(name, EQ, value), Matcher(name, NE, value)
    assert eq.matches(labels) != ne.matches(labels)


@given(st.sampled_from(["a", "b", "é x"]), literal_regexes | st.just(".+"), label_sets)
def test_regex_and_not_regex_are_complements(
    name: str, pattern: str, labels: dict[str, str]
) -> None:
    re_, nre = Matcher(name, RE, pattern), Matcher(name, NRE, pattern)
    assert re_.matches(labels) != nre.matches(labels)


@given(values)
def test_escaped_literal_regex_matches_exactly_its_text(value: str) -> None:
    pattern = escape_regex(value)
    assert Matcher("a", RE, pattern).matches_value(value)
    assert not Matcher("a", RE, pattern).matches_value(value + "x")
