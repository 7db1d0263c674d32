"""Cross-check matching against Debian's amtool (offline `config routes test`)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from watchkeeper.routing.matchers import Matcher, MatchOp, matches, parse_matchers

AMTOOL = shutil.which("amtool") or "/usr/bin/amtool"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(AMTOOL).exists(), reason="amtool is not installed"),
]

CASES = [
    ('foo="bar"', {"foo": "bar"}),
    ('foo="bar"', {"foo": "foo-bar"}),
    ('foo!="bar"', {"foo": "foo-bar"}),
    ('foo=~"bar"', {"foo": "foo-bar"}),
    ('foo=~".*bar"', {"foo": "foo-bar"}),
    ('foo!~".*bar"', {"foo": "foo-bar"}),
    ('foo=~"foo\\\\.bar"', {"foo": "foo-bar"}),
    ('foo=~"foo\\\\.bar"', {"foo": "foo.bar"}),
    ('foo=~"(?i)CRIT|page"', {"foo": "crit"}),
    ('foo=~"a|b"', {"foo": "ab"}),
    ('foo=~"\\\\d+"', {"foo": "١٢"}),
    ('foo=""', {}),
    ('foo=""', {"bar": "x"}),
    ('foo!=""', {}),
    ('foo=~".*"', {}),
    ('foo=~".+"', {}),
    ('foo!~".+"', {}),
    ('foo=~"|x"', {}),
    ('foo!="x", bar=~"y+"', {"bar": "yyy"}),
    ('foo!="x", bar=~"y+"', {"foo": "x", "bar": "yyy"}),
]


def amtool_matches(tmp_path: Path, matchers: tuple[Matcher, ...], labels: dict[str, str]) -> bool:
    quoted = ", ".join("'" + str(m).replace("'", "''") + "'" for m in matchers)
    config = tmp_path / "alertmanager.yml"
    config.write_text(
        "route:\n  receiver: miss\n  routes:\n"
        f"    - receiver: hit\n      matchers: [{quoted}]\n"
        "receivers:\n  - name: miss\n  - name: hit\n"
    )
    args = [f'{name}="{value}"' for name, value in labels.items()]
    result = subprocess.run(
        [AMTOOL, "config", "routes", "test", f"--config.file={config}", *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return result.stdout.strip() == "hit"


@pytest.mark.parametrize(("text", "labels"), CASES)
def test_matching_agrees_with_amtool(tmp_path: Path, text: str, labels: dict[str, str]) -> None:
    ms = parse_matchers(text)
    assert matches(ms, labels) is amtool_matches(tmp_path, ms, labels)


def test_cases_include_both_outcomes() -> None:
    outcomes = {matches(parse_matchers(text), labels) for text, labels in CASES}
    assert outcomes == {True, False}
    assert MatchOp.NOT_REGEX in {m.op for text, _ in CASES for m in parse_matchers(text)}
