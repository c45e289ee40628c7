"""Render stored results: ``README.md`` (every scenario's table) and a PNG chart per scenario."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.axes import Axes

from bench.model import Figure, Result
from bench.runner import fmt, verdict

LOG_SCALE_SPREAD = 100
"""Panels whose values span more than this factor get a logarithmic axis."""
_AT = re.compile(r"^(?P<subject>.+)@(?P<concurrency>\d+)$")


def render(results: list[Result], descriptions: dict[str, str], results_dir: Path) -> Path:
    """Write ``README.md`` and ``<scenario>.png`` for every result; return the README path."""
    sections = [_section(result, descriptions.get(result.scenario, "")) for result in results]
    for result in results:
        chart(result, results_dir / f"{result.scenario}.png")
    readme = results_dir / "README.md"
    readme.write_text(_preamble(results) + "\n".join(sections))
    return readme


def _preamble(results: list[Result]) -> str:
    """Title, how the figures were produced, and the machine they come from."""
    lines = [
        "# Benchmark results",
        "",
        "Produced by `make bench` (`python -m bench run` then `python -m bench report`);",
        "see `docs/benchmarks.md` for what each scenario measures. Ratios are ours divided by",
        "the peer's; a goal is the minimum a figure or ratio must reach.",
        "",
    ]
    if results:
        host = results[0].machine
        disk = host.get("disk", {})
        lines += [
            f"Machine: {host.get('cores')} cores, {host.get('memory_gib')} GiB, "
            f"{host.get('cpu_model')}, Python {host.get('python')}, {host.get('kernel')}, "
            f"disk {disk.get('device')} ({disk.get('filesystem')}, "
            f"rotational={disk.get('rotational')}, "
            f"median 200-byte write+fsync {disk.get('fsync_ms_median')} ms).",
            "",
        ]
    return "\n".join(lines) + "\n"


def _section(result: Result, description: str) -> str:
    """One scenario: description, run mode, table of figures and ratios, chart link."""
    mode = "--quick" if result.machine.get("quick") else "full"
    lines = [f"## {result.scenario}", ""]
    if description:
        lines += [description, ""]
    lines += [
        f"Run: {mode}, measured {result.machine.get('measured_at')}, "
        f"load average before {result.machine.get('load_before')}.",
        "",
        "| measure | value | goal | result |",
        "| --- | ---: | ---: | --- |",
    ]
    for key, figure in result.outcome.figures.items():
        goal = "" if figure.goal is None else f"≥ {fmt(figure.goal)}"
        lines.append(
            f"| {key} | {fmt(figure.value)} {figure.unit} | {goal} | {verdict(figure.passed)} |"
        )
    for key, ratio in result.outcome.ratios.items():
        goal = "" if ratio.goal is None else f"≥ {fmt(ratio.goal)}x"
        lines.append(f"| {key} | {fmt(ratio.value)}x | {goal} | {verdict(ratio.passed)} |")
    lines += ["", f"![{result.scenario}]({result.scenario}.png)", ""]
    return "\n".join(lines) + "\n"


def chart(result: Result, target: Path) -> None:
    """Bars of every figure, one panel per unit; ``subject@N`` figures grouped by N."""
    by_unit: dict[str, dict[str, Figure]] = defaultdict(dict)
    for key, figure in result.outcome.figures.items():
        by_unit[figure.unit][key] = figure
    panels = max(1, len(by_unit))
    fig, axes = plt.subplots(1, panels, figsize=(7 * panels, 4.5), squeeze=False)
    for axis, (unit, figures) in zip(axes[0], by_unit.items(), strict=False):
        _bars(axis, figures)
        axis.set_ylabel(unit)
        axis.grid(axis="y", alpha=0.3)
    fig.suptitle(result.scenario)
    fig.tight_layout()
    fig.savefig(target, dpi=100)
    plt.close(fig)


def _bars(axis: Axes, figures: dict[str, Figure]) -> None:
    """Grouped bars (x = concurrency, one colour per subject) or one bar per figure."""
    grouped = [key for key in figures if _AT.match(key)]
    if grouped:
        _grouped_bars(axis, figures)
    else:
        axis.bar(list(figures), [figure.value for figure in figures.values()])
    for figure in figures.values():
        if figure.goal is not None:
            axis.axhline(
                figure.goal, linestyle="--", color="grey", label=f"goal {fmt(figure.goal)}"
            )
    values = [figure.value for figure in figures.values() if figure.value > 0]
    if values and max(values) > LOG_SCALE_SPREAD * min(values):
        axis.set_yscale("log")
    if grouped or any(figure.goal is not None for figure in figures.values()):
        axis.legend()


def _grouped_bars(axis: Axes, figures: dict[str, Figure]) -> None:
    """``subject@N`` figures: one group of bars per N, one colour per subject."""
    series: dict[str, dict[str, float]] = defaultdict(dict)
    for key, figure in figures.items():
        match = _AT.match(key)
        subject, group = (match["subject"], match["concurrency"]) if match else (key, "")
        series[subject][group] = figure.value
    groups = list(dict.fromkeys(g for values in series.values() for g in values))
    width = 0.8 / len(series)
    for index, (subject, values) in enumerate(series.items()):
        positions = [groups.index(g) + index * width for g in values]
        axis.bar(positions, list(values.values()), width=width, label=subject)
    axis.set_xticks([i + width * (len(series) - 1) / 2 for i in range(len(groups))])
    axis.set_xticklabels([f"concurrency {g}" if g else "-" for g in groups])
