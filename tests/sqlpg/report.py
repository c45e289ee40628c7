"""Run the whole differential corpus and print pass/fail per group and the total.

    python -m tests.sqlpg.report [GROUP ...] [--verbose] [--update]

``--verbose`` lists each differing case with its first difference; ``--update`` rewrites
``differences.json`` to the cases that differ now, each with its first difference as the
reason.
"""

from __future__ import annotations

import argparse
import json

from tests.sqlpg.harness import DIFFERENCES, GROUPS, CaseResult, expected_differences, run_corpus


def summary(results: list[CaseResult], groups: tuple[str, ...]) -> list[str]:
    """One line per group and a total line."""
    lines = []
    for group in groups:
        mine = [r for r in results if r.case.group == group]
        equal = sum(r.equal for r in mine)
        lines.append(f"{group:<12} {equal:>3}/{len(mine):<3} {_percent(equal, len(mine))}")
    equal = sum(r.equal for r in results)
    lines.append(f"{'total':<12} {equal:>3}/{len(results):<3} {_percent(equal, len(results))}")
    return lines


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:5.1f}%" if whole else "  n/a"


def updated_differences(results: list[CaseResult]) -> dict[str, str]:
    """The expected-difference data for these results: each differing case with its first
    difference as the reason."""
    return {r.case.key: r.difference or "" for r in results if not r.equal}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("groups", nargs="*", help="groups to run (default: all)")
    parser.add_argument("--verbose", action="store_true", help="list each differing case")
    parser.add_argument("--update", action="store_true", help="rewrite differences.json")
    args = parser.parse_args()
    groups = tuple(args.groups) or GROUPS
    results = run_corpus(groups)
    if args.verbose:
        for result in results:
            if not result.equal:
                print(f"DIFF {result.case.key}: {result.difference}")
    print("\n".join(summary(results, groups)))
    if args.update:
        data = expected_differences()
        for key in [k for k in data if k.split("/")[0] in groups]:
            del data[key]
        data.update(updated_differences(results))
        DIFFERENCES.write_text(json.dumps(dict(sorted(data.items())), indent=1) + "\n")


if __name__ == "__main__":
    main()
