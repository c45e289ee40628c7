"""Ours against peers at several concurrency points: the loop throughput scenarios share.

A scenario names its systems (ours first, then peers) as factories taking a fresh directory,
calls :func:`best_of_rounds`, and turns the result into figures and ratios with
:func:`throughput_outcome`::

    measured = best_of_rounds(systems, (1, 16, 64), operations, rounds(quick=quick))
    return throughput_outcome(measured, subject="bkgdb", unit="appends/s", goals=GOALS)
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

from bench.load import Peer, Throughput, measure
from bench.model import Figure, Outcome, Ratio, figure_key, ratio_key

Factory = Callable[[Path], AbstractContextManager[Peer]]
"""Builds a system in a directory it may fill; entering it creates the store."""

Measured = dict[tuple[str, int], Throughput]
"""Throughput by (system name, concurrency)."""


def best_of_rounds(
    systems: dict[str, Factory], concurrency: tuple[int, ...], operations: int, rounds: int
) -> Measured:
    """Every system at every point, interleaved, ``rounds`` times; each keeps its best."""
    measured: Measured = {}
    for _ in range(rounds):
        for threads in concurrency:
            for name, factory in systems.items():
                latest = measure_fresh(factory, threads, operations)
                best = measured.get((name, threads))
                if best is None or latest.per_second > best.per_second:
                    measured[name, threads] = latest
    return measured


def measure_fresh(factory: Factory, concurrency: int, operations: int) -> Throughput:
    """One system, one point, in a new temporary directory removed afterwards."""
    with (
        tempfile.TemporaryDirectory(prefix="bkg-bench-") as scratch,
        factory(Path(scratch)) as peer,
    ):
        return measure(peer, concurrency, operations)


def throughput_outcome(
    measured: Measured, *, subject: str, unit: str, goals: dict[str, float]
) -> Outcome:
    """Throughput and p99 latency figures of every system, and ours over each peer's."""
    figures = {figure_key(name, c): Figure(t.per_second, unit) for (name, c), t in measured.items()}
    figures |= {
        figure_key(f"{name}_p99", c): Figure(t.p99_ms, "ms p99 latency")
        for (name, c), t in measured.items()
    }
    ratios = {}
    for (name, threads), peer in measured.items():
        if name != subject:
            key = ratio_key(name, threads)
            ours = measured[subject, threads].per_second
            ratios[key] = Ratio(ours / peer.per_second, goals.get(key))
    return Outcome(figures=figures, ratios=ratios)
