"""Smoke run of the benchmark harness: every scenario that needs no external server runs with
tiny operation counts (``BKG_BENCH_SMOKE=1``) into a temporary results directory, and its
output must have the shape DESIGN.md promises, so the harness never rots. A scenario that
needs only a program (``wrk``) runs too, and is skipped, saying why, where it is missing."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

from bench import registry
from bench.__main__ import main
from bench.model import Figure, Outcome, Scenario
from bench.runner import run_all
from bench.sizing import SMOKE_ENV

RATIO_KEY = re.compile(r"^vs_(?P<peer>[a-z0-9_]+)@(?P<concurrency>\d+)$")
MACHINE_KEYS = {"cores", "memory_gib", "cpu_model", "python", "disk"}
LOCAL = [s for s in registry.all_scenarios().values() if s.needs <= registry.PROGRAMS.keys()]


@pytest.fixture(autouse=True)
def _smoke(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SMOKE_ENV, "1")


def test_the_issue_scenarios_are_registered() -> None:
    assert {"append", "verify", "read", "http_peer"} <= set(registry.all_scenarios())


def test_a_missing_program_is_named_with_where_to_get_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    http_peer = registry.all_scenarios()["http_peer"]
    assert http_peer.needs == {"wrk"}
    assert registry.missing_programs(http_peer) == (
        "wrk is not installed: Debian's wrk package (scripts/ensure-package.sh installs it)"
    )
    assert main(["list"]) == 0
    listed = capsys.readouterr().out
    assert "http_peer: " in listed and "[needs wrk: wrk is not installed" in listed


@pytest.mark.parametrize("scenario", LOCAL, ids=[s.name for s in LOCAL])
def test_scenario_writes_and_prints_its_result(
    scenario: Scenario, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = registry.missing_programs(scenario)
    if missing is not None:
        pytest.skip(missing)
    assert main(["run", scenario.name, "--json", "--results-dir", str(tmp_path)]) == 0
    document = json.loads((tmp_path / f"{scenario.name}.json").read_text())
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed == document
    assert set(document) == {"scenario", "machine", "figures", "ratios"}
    assert document["scenario"] == scenario.name
    assert set(document["machine"]) >= MACHINE_KEYS
    assert document["figures"], "a scenario must measure something"
    for figure in document["figures"].values():
        _check_measure(figure)
        assert isinstance(figure["unit"], str) and figure["unit"]
    _check_ratios(scenario, document["ratios"])


def _check_measure(item: dict[str, object]) -> None:
    value, goal = item["value"], item["goal"]
    assert isinstance(value, float) and math.isfinite(value) and value > 0
    if goal is None:
        assert item["pass"] is None
    else:
        assert isinstance(goal, float)
        assert item["pass"] is (value >= goal)


def _check_ratios(scenario: Scenario, ratios: dict[str, dict[str, object]]) -> None:
    seen = set()
    for key, ratio in ratios.items():
        match = RATIO_KEY.match(key)
        assert match, f"ratio key {key!r} does not read vs_<peer>@<concurrency>"
        assert match["peer"] in scenario.peers
        seen.add(match["peer"])
        _check_measure(ratio)
    assert seen == set(scenario.peers), "every declared peer must be compared"


def test_quick_table_run_and_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "verify", "read", "--quick", "--results-dir", str(tmp_path)]) == 0
    table = capsys.readouterr().out
    assert "== verify ==" in table and "== read ==" in table and "goals met:" in table
    assert json.loads((tmp_path / "read.json").read_text())["machine"]["quick"] is True
    assert main(["report", "--results-dir", str(tmp_path)]) == 0
    readme = (tmp_path / "README.md").read_text()
    assert "## verify" in readme and "## read" in readme and "| vs_sqlite_txn@1 |" in readme
    for name in ("verify", "read"):
        assert (tmp_path / f"{name}.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_unknown_scenario_is_a_one_line_failure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "no_such_scenario", "--results-dir", str(tmp_path)]) == 1
    assert "unknown scenario(s): no_such_scenario" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_a_failing_scenario_does_not_stop_the_others(tmp_path: Path) -> None:
    def broken(quick: bool) -> Outcome:
        raise RuntimeError("peer exploded")

    def working(quick: bool) -> Outcome:
        return Outcome(figures={"bkgdb": Figure(1.0, "records/s", goal=2.0)})

    scenarios = [
        Scenario(name="broken", peers=(), run=broken, description=""),
        Scenario(name="working", peers=(), run=working, description=""),
    ]
    emitted: list[str] = []
    run = run_all(scenarios, quick=True, results_dir=tmp_path, emit=emitted.append, as_json=True)
    assert run.failures == {"broken": "RuntimeError: peer exploded"}
    assert [r.scenario for r in run.results] == ["working"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["working.json"]
    assert json.loads(emitted[0])["figures"]["bkgdb"]["pass"] is False
