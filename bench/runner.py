"""Run scenarios, store each result as JSON and print it as a table or as JSON."""

from __future__ import annotations

import json
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import machine
from bench.model import Result, Scenario

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def run_scenario(scenario: Scenario, *, quick: bool, results_dir: Path) -> Result:
    """Run one scenario and write ``<results_dir>/<name>.json`` (temp file, then rename)."""
    host = machine.describe(quick=quick)
    outcome = scenario.run(quick)
    result = Result(scenario=scenario.name, machine=host, outcome=outcome)
    results_dir.mkdir(parents=True, exist_ok=True)
    target = results_dir / f"{scenario.name}.json"
    partial = target.with_suffix(".json.tmp")
    partial.write_text(json.dumps(result.to_json(), indent=2) + "\n")
    partial.replace(target)
    return result


@dataclass
class Run:
    """What ``run_all`` did: results written, and the reason each failed scenario gave."""

    results: list[Result] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)


def run_all(
    scenarios: list[Scenario],
    *,
    quick: bool,
    results_dir: Path,
    emit: Callable[[str], None],
    as_json: bool,
) -> Run:
    """Run scenarios in order, emitting each result as soon as it is written.

    A scenario that raises is recorded as failed, with its traceback on stderr, and the
    others still run: one broken system must not hide the figures of the rest.
    """
    run = Run()
    for scenario in scenarios:
        try:
            result = run_scenario(scenario, quick=quick, results_dir=results_dir)
        except Exception as exc:  # reported, then the next scenario runs
            traceback.print_exc(file=sys.stderr)
            run.failures[scenario.name] = f"{type(exc).__name__}: {exc}"
            continue
        emit(json.dumps(result.to_json()) if as_json else render_table(result))
        run.results.append(result)
    return run


def load_results(results_dir: Path) -> list[Result]:
    """Every ``*.json`` result in ``results_dir``, sorted by scenario name."""
    documents = sorted(results_dir.glob("*.json"))
    return [Result.from_json(json.loads(path.read_text())) for path in documents]


def render_table(result: Result) -> str:
    """A plain-text table of one result: figures, then ratios with goals and verdicts."""
    rows: list[tuple[str, str, str, str]] = []
    for key, figure in result.outcome.figures.items():
        goal = "" if figure.goal is None else f">= {fmt(figure.goal)}"
        rows.append((key, f"{fmt(figure.value)} {figure.unit}", goal, verdict(figure.passed)))
    for key, ratio in result.outcome.ratios.items():
        goal = "" if ratio.goal is None else f">= {fmt(ratio.goal)}x"
        rows.append((key, f"{fmt(ratio.value)}x", goal, verdict(ratio.passed)))
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(_HEADER)]
    lines = [f"== {result.scenario} ==", _line(_HEADER, widths), _line(("-",) * 4, widths, "-")]
    lines += [_line(row, widths) for row in rows]
    return "\n".join(lines)


_HEADER = ("measure", "value", "goal", "result")


def _line(cells: tuple[str, ...], widths: list[int], fill: str = " ") -> str:
    return "  ".join(cell.ljust(width, fill) for cell, width in zip(cells, widths, strict=True))


def fmt(value: float) -> str:
    """Numbers as people read them: thousands separated, ratios to two decimals."""
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.2f}"


def verdict(passed: bool | None) -> str:
    """``pass``/``FAIL`` against a goal, empty without one."""
    return {True: "pass", False: "FAIL", None: ""}[passed]


def summary(results: list[Result]) -> dict[str, Any]:
    """Counts of goals met and missed, for the command's exit line."""
    verdicts: list[bool | None] = []
    for result in results:
        verdicts += [figure.passed for figure in result.outcome.figures.values()]
        verdicts += [ratio.passed for ratio in result.outcome.ratios.values()]
    return {"met": verdicts.count(True), "missed": verdicts.count(False)}
