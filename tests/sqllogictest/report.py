"""Conformance report: run sqllogictest scripts through bkg-db and print the counts.

.venv/bin/python -m tests.sqllogictest.report            # our scripts + the public corpus
.venv/bin/python -m tests.sqllogictest.report FILE ...   # chosen scripts
... --json                                               # one JSON object per script + total
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from api.sql import SqlEngine
from tests.sqllogictest.runner import FileResult, run_file

OWN = Path(__file__).parent / "cases"
PUBLIC = Path("/work/shared/sqllogictest")


def default_scripts() -> list[Path]:
    """Our own scripts, then the public corpus (if present)."""
    return sorted(OWN.glob("*.test")) + sorted(PUBLIC.rglob("*.test"))


def main(argv: list[str] | None = None) -> int:
    """Run the scripts and print per-file and total counts; exit 1 if anything failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scripts", nargs="*", type=Path)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--failures", action="store_true", help="print the first failures")
    parser.add_argument("--markdown", action="store_true", help="end with a table per folder")
    args = parser.parse_args(argv)
    engine = SqlEngine()
    totals = FileResult("total")
    groups: dict[str, FileResult] = {}
    started = time.monotonic()
    for path in args.scripts or default_scripts():
        result = run_file(path, engine)
        group = groups.setdefault(path.parent.name, FileResult(path.parent.name))
        for target in (totals, group):
            _add(target, result)
        _print(result, args.json, args.failures)
    elapsed = time.monotonic() - started
    if args.markdown:
        _print_table([*groups.values(), totals])
    if args.json:
        print(json.dumps({"total": _counts(totals), "seconds": round(elapsed, 1)}))
    else:
        print(
            f"TOTAL passed={totals.passed} failed={totals.failed} skipped={totals.skipped} "
            f"({elapsed:.1f} s)"
        )
    return 1 if totals.failed else 0


def _add(total: FileResult, result: FileResult) -> None:
    """Add one script's counts (and one file) to a running total."""
    total.files += 1
    total.passed += result.passed
    total.failed += result.failed
    total.skipped += result.skipped


def _print_table(rows: list[FileResult]) -> None:
    """A Markdown table of counts, one row per folder and a total."""
    print("\n| scripts | files | passed | failed | skipped | pass rate of run records |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for row in rows:
        run = row.passed + row.failed
        rate = f"{100 * row.passed / run:.3f} %" if run else "-"
        print(
            f"| {row.path} | {row.files} | {row.passed} | {row.failed} | {row.skipped} | {rate} |"
        )


def _counts(result: FileResult) -> dict[str, int]:
    """The three counts of a result."""
    return {"passed": result.passed, "failed": result.failed, "skipped": result.skipped}


def _print(result: FileResult, as_json: bool, failures: bool) -> None:
    """One line (or JSON object) per script, optionally with its first failures."""
    if as_json:
        print(json.dumps({"file": result.path, **_counts(result), "skips": result.skip_reasons}))
        return
    print(f"{result.path}: passed={result.passed} failed={result.failed} skipped={result.skipped}")
    if failures:
        for line in result.failures:
            print(f"    {line}")
        for reason, count in sorted(result.skip_reasons.items()):
            print(f"    skipped {count}: {reason}")


if __name__ == "__main__":
    sys.exit(main())
