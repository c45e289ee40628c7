"""Report: `python -m tests.rest.conformance [--json]` serves a scratch data directory, runs
every ported case once and prints passed / failed / not applicable per upstream spec file,
with the reason of every failure (expected ones are docs/rest.md's known differences)."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from tests.http.conftest import serving
from tests.rest.conformance import RATE_OFF, Conformance, Spec, load_specs


@dataclass
class Tally:
    """Outcomes of one spec file."""

    upstream: int
    passed: int = 0
    known: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    fixed: list[str] = field(default_factory=list)
    na: int = 0

    def row(self, name: str) -> dict[str, object]:
        failed = len(self.known) + len(self.unexpected)
        return {
            "spec": name,
            "upstream": self.upstream,
            "passed": self.passed,
            "failed": failed,
            "not_applicable": self.na,
        }


def run(specs: list[Spec], runner: Conformance) -> dict[str, Tally]:
    """Every case of every spec, tallied."""
    tallies: dict[str, Tally] = {}
    for spec in specs:
        tally = tallies[spec.name] = Tally(spec.upstream_its)
        for case in spec.cases:
            if case.na is not None:
                tally.na += 1
                continue
            problem = runner.run(case)
            if problem is None:
                tally.passed += 1
                if case.xfail:
                    tally.fixed.append(case.it)
            elif case.xfail:
                tally.known.append(f"{case.it}: {case.xfail}")
            else:
                tally.unexpected.append(f"{case.it}: {problem}")
    return tallies


def render(tallies: dict[str, Tally]) -> str:
    lines = [
        "| spec | upstream examples | passed | failed | not applicable |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    total = Tally(0)
    for name, t in tallies.items():
        r = t.row(name)
        lines.append(
            f"| {name} | {r['upstream']} | {r['passed']} | {r['failed']} | {r['not_applicable']} |"
        )
        total.upstream += t.upstream
        total.passed += t.passed
        total.known += t.known
        total.unexpected += t.unexpected
        total.fixed += t.fixed
        total.na += t.na
    r = total.row("total")
    lines.append(
        f"| total | {r['upstream']} | {r['passed']} | {r['failed']} | {r['not_applicable']} |"
    )
    for title, items in (
        ("known differences (xfail)", total.known),
        ("unexpected failures", total.unexpected),
        ("marked xfail but passing now", total.fixed),
    ):
        if items:
            lines += ["", f"{title}:", *(f"- {item}" for item in items)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.rest.conformance")
    parser.add_argument("--json", action="store_true", help="one JSON object per spec file")
    args = parser.parse_args(argv)
    specs = load_specs()
    with (
        tempfile.TemporaryDirectory(prefix="bkg-conformance-") as scratch,
        serving(Path(scratch) / "data", args=RATE_OFF) as served,
    ):
        runner = Conformance(served.url, served.admin_key)
        try:
            runner.load()
            tallies = run(specs, runner)
        finally:
            runner.close()
    if args.json:
        for name, tally in tallies.items():
            print(
                json.dumps(
                    {**tally.row(name), "known": tally.known, "unexpected": tally.unexpected}
                )
            )
    else:
        print(render(tallies))
    return 1 if any(t.unexpected for t in tallies.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
