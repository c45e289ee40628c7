"""``read``: records/s of a sequential scan of a whole log, from the first LSN to the head.

A log of 200-byte dml records is written first; then it is scanned through the writer
(``EventLog.read``: CRCs, LSN order and the hash chain checked, every payload decoded), the
same without recomputing the chain (``with_chain=False``, what a rebuild after ``verify``
uses) and through the read-only ``LogReader`` other processes use, each the best of a few
passes over a warm page cache. For context (no goal), SQLite scanning the same
number of 200-byte rows in id order. Goal: at least 500k records/s through ``EventLog.read``.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from bench.load import PAYLOAD
from bench.model import Figure, Outcome, Ratio, Scenario, ratio_key
from bench.peers.sqlite_txn import SqliteTxn
from bench.scenarios._eventlog import SUBJECT, fill_log
from bench.sizing import scaled
from eventlog import EventLog, LogReader

FULL_RECORDS = 500_000
PASSES = 3
GOAL = 500_000.0
UNIT = "records/s"


def best_rate(scan: Callable[[], int]) -> float:
    """Items per second of the fastest of ``PASSES`` runs of ``scan`` (returns its count)."""
    best = 0.0
    for _ in range(PASSES):
        began = time.perf_counter()
        count = scan()
        best = max(best, count / (time.perf_counter() - began))
    return best


def _count(records: Iterable[object]) -> int:
    return sum(1 for _ in records)


def run(quick: bool) -> Outcome:
    """Fill a log and a SQLite table alike, then time full scans of each."""
    records = scaled(FULL_RECORDS, quick=quick, minimum=100)
    with tempfile.TemporaryDirectory(prefix="bkg-bench-") as scratch:
        log_dir = Path(scratch) / "log"
        key = fill_log(log_dir, records)
        with EventLog.open(log_dir, key) as log:
            ours = best_rate(lambda: _count(log.read()))
            unchained = best_rate(lambda: _count(log.read(with_chain=False)))
        reader = best_rate(lambda: _count(LogReader(log_dir).read()))
        with SqliteTxn(Path(scratch)) as peer:
            peer.fill(records, PAYLOAD)
            sqlite = best_rate(peer.scan)
    figures = {
        SUBJECT: Figure(ours, UNIT, GOAL),
        f"{SUBJECT}_no_chain": Figure(unchained, UNIT),
        f"{SUBJECT}_log_reader": Figure(reader, UNIT),
        SqliteTxn.name: Figure(sqlite, UNIT),
    }
    return Outcome(figures=figures, ratios={ratio_key(SqliteTxn.name, 1): Ratio(ours / sqlite)})


SCENARIO = Scenario(
    name="read",
    peers=(SqliteTxn.name,),
    run=run,
    description=(
        "Sequential scan of a whole log of 200-byte records, records/s (EventLog.read with and "
        "without chain recomputation, the read-only LogReader), with SQLite scanning as many "
        "rows for context."
    ),
)
