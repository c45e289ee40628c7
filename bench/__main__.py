"""``python -m bench run [SCENARIO ...] [--quick] [--json]`` and ``python -m bench report``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench import registry, report, runner
from bench.errors import BenchError
from bench.model import Scenario


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    where = argparse.ArgumentParser(add_help=False)
    where.add_argument(
        "--results-dir",
        type=Path,
        default=runner.RESULTS_DIR,
        help="where results are written and read (default: bench/results)",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", parents=[where], help="run scenarios, write <name>.json")
    run.add_argument("scenarios", nargs="*", metavar="SCENARIO", help="default: all")
    run.add_argument("--quick", action="store_true", help="fewer operations, every point")
    run.add_argument("--json", action="store_true", help="print JSON lines, not tables")
    commands.add_parser("list", help="list the registered scenarios")
    commands.add_parser("report", parents=[where], help="render README.md and PNG charts")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; a BenchError becomes a one-line reason and exit status 1."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "run":
            return _run(args)
        if args.command == "list":
            for name, scenario in registry.all_scenarios().items():
                print(f"{name}: {scenario.description}{_needs(scenario)}")
        else:
            _report(args.results_dir)
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    return 0


def _needs(scenario: Scenario) -> str:
    """What a scenario needs besides Python, and why it cannot run here when a program is
    missing."""
    if not scenario.needs:
        return ""
    missing = registry.missing_programs(scenario)
    return (
        f" [needs {', '.join(sorted(scenario.needs))}{'' if missing is None else ': ' + missing}]"
    )


def _run(args: argparse.Namespace) -> int:
    """Run the chosen scenarios; 1 if any failed. Tables end with goals met and missed."""
    scenarios = registry.select(args.scenarios)
    run = runner.run_all(
        scenarios,
        quick=args.quick,
        results_dir=args.results_dir,
        emit=lambda text: print(text, flush=True),
        as_json=args.json,
    )
    if not args.json:
        counts = runner.summary(run.results)
        print(f"goals met: {counts['met']}, missed: {counts['missed']}")
    for name, reason in run.failures.items():
        print(f"bench: scenario {name} failed: {reason}", file=sys.stderr)
    return 1 if run.failures else 0


def _report(results_dir: Path) -> None:
    """Render README.md and charts from whatever results are stored."""
    results = runner.load_results(results_dir)
    descriptions = {name: s.description for name, s in registry.all_scenarios().items()}
    readme = report.render(results, descriptions, results_dir)
    print(f"wrote {readme} and {len(results)} chart(s)")


if __name__ == "__main__":
    sys.exit(main())
