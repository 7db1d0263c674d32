"""The generated rules, checked and unit-tested by Prometheus's own promtool."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.slo.fake_prometheus import SPECS
from watchkeeper.slo.loaders import load_spec_files
from watchkeeper.slo.rules import render_rules

PROMTOOL = Path("/usr/bin/promtool")
UNIT_TESTS = sorted((Path(__file__).parent / "promtool").glob("*_test.yml"))
ALL_SPECS = sorted(SPECS.glob("*.yml"))

pytestmark = pytest.mark.skipif(not PROMTOOL.exists(), reason="/usr/bin/promtool is not installed")


def _promtool(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(PROMTOOL), *map(str, args)], capture_output=True, text=True, timeout=300
    )


@pytest.mark.parametrize("spec", ALL_SPECS, ids=lambda p: p.name)
def test_generated_rules_pass_promtool_check(tmp_path: Path, spec: Path) -> None:
    rules = tmp_path / "rules.yml"
    rules.write_text(render_rules(load_spec_files([spec])))
    result = _promtool("check", "rules", rules)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@pytest.mark.parametrize("unit_test", UNIT_TESTS, ids=lambda p: p.name)
def test_promtool_unit_tests_pass_against_fresh_rules(tmp_path: Path, unit_test: Path) -> None:
    (tmp_path / "rules.yml").write_text(render_rules(load_spec_files([SPECS / "checkout.yml"])))
    shutil.copy(unit_test, tmp_path / unit_test.name)
    result = _promtool("test", "rules", tmp_path / unit_test.name)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_unit_tests_would_catch_a_wrong_factor(tmp_path: Path) -> None:
    # Guard against a vacuous unit test: with a 20× fast-page factor the 15× burn must not page.
    spec = (
        (SPECS / "checkout.yml")
        .read_text()
        .replace(
            "    period: 30d\n", "    period: 30d\n    alerting:\n      page_factors: [20, 6]\n", 1
        )
    )
    (tmp_path / "spec.yml").write_text(spec)
    (tmp_path / "rules.yml").write_text(render_rules(load_spec_files([tmp_path / "spec.yml"])))
    unit_test = UNIT_TESTS[0]
    shutil.copy(unit_test, tmp_path / unit_test.name)
    result = _promtool("test", "rules", tmp_path / unit_test.name)
    assert result.returncode != 0
    assert "fast burn pages" in result.stdout + result.stderr
