"""Operation counts: one knob so ``--quick`` and the smoke test shrink every scenario alike."""

from __future__ import annotations

import os

SMOKE_ENV = "BKG_BENCH_SMOKE"
"""Set to ``1`` to run every scenario with tiny counts (the test suite's smoke run)."""

QUICK_FACTOR = 0.1
SMOKE_FACTOR = 0.002
WARMUP_SHARE = 0.2


def smoke() -> bool:
    """True when the smoke setting is on: counts far below ``--quick``, shape only."""
    return os.environ.get(SMOKE_ENV, "") not in ("", "0")


def scaled(full: int, *, quick: bool, minimum: int = 1) -> int:
    """``full`` operations for a full run, a tenth with ``--quick``, a sliver for smoke.

    Never below ``minimum``, so every concurrency point still gets work to do.
    """
    factor = SMOKE_FACTOR if smoke() else QUICK_FACTOR if quick else 1.0
    return max(minimum, int(full * factor))


def rounds(*, quick: bool, full: int = 3) -> int:
    """Repetitions of a measurement (the best is kept): ``full`` normally, once when quick.

    On a shared machine other work steals time in bursts; the best of a few interleaved
    rounds is each system's least disturbed run, and every system gets the same chances.
    """
    return 1 if quick or smoke() else full


def warmup_operations(concurrency: int, operations: int) -> int:
    """Untimed writes before a measurement: a fifth of the timed ones, one per thread at least.

    None in a smoke run, which checks the harness's output, not the figures.
    """
    return 0 if smoke() else max(concurrency, int(operations * WARMUP_SHARE))
