"""``append``: durable appends of 200-byte payloads from 1, 16 and 64 threads.

Ours (``EventLog.append``, group commit) against (a) ``write`` + ``fsync`` per record, (b)
SQLite WAL ``synchronous=FULL`` with one INSERT per transaction and a connection per thread,
and (c) the ``eventsourcing`` library's SQLite recorder. Every system starts from an empty
store in a fresh temporary directory at every concurrency point; a full run repeats all
points three times, interleaved, and keeps each system's best round. Goal at 64 appenders: at
least 3x (b) and 3x (c).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

from bench.load import Peer, Throughput, measure
from bench.model import Figure, Outcome, Ratio, Scenario, figure_key, ratio_key
from bench.peers.eventsourcing_sqlite import EventsourcingSqlite
from bench.peers.fsync_file import FsyncFile
from bench.peers.sqlite_txn import SqliteTxn
from bench.scenarios._eventlog import SUBJECT, EventLogPeer
from bench.sizing import rounds, scaled

CONCURRENCY = (1, 16, 64)
FULL_OPERATIONS = 20_000
GOALS = {ratio_key("sqlite_txn", 64): 3.0, ratio_key("eventsourcing", 64): 3.0}

Factory = Callable[[Path], AbstractContextManager[Peer]]
SYSTEMS: dict[str, Factory] = {
    SUBJECT: EventLogPeer,
    FsyncFile.name: FsyncFile,
    SqliteTxn.name: SqliteTxn,
    EventsourcingSqlite.name: EventsourcingSqlite,
}


def run(quick: bool) -> Outcome:
    """Every system at every point, interleaved; each keeps its best round."""
    operations = scaled(FULL_OPERATIONS, quick=quick, minimum=max(CONCURRENCY))
    measured: dict[tuple[str, int], Throughput] = {}
    for _ in range(rounds(quick=quick)):
        for concurrency in CONCURRENCY:
            for name, factory in SYSTEMS.items():
                latest = _measure_fresh(factory, concurrency, operations)
                best = measured.get((name, concurrency))
                if best is None or latest.per_second > best.per_second:
                    measured[name, concurrency] = latest
    return Outcome(figures=_figures(measured), ratios=_ratios(measured))


def _measure_fresh(factory: Factory, concurrency: int, operations: int) -> Throughput:
    """One system, one point, in a new temporary directory removed afterwards."""
    with (
        tempfile.TemporaryDirectory(prefix="bkg-bench-") as scratch,
        factory(Path(scratch)) as peer,
    ):
        return measure(peer, concurrency, operations)


def _figures(measured: dict[tuple[str, int], Throughput]) -> dict[str, Figure]:
    """Throughput, then 99th-percentile latency, of every system at every point."""
    figures = {
        figure_key(name, c): Figure(t.per_second, "appends/s") for (name, c), t in measured.items()
    }
    figures |= {
        figure_key(f"{name}_p99", c): Figure(t.p99_ms, "ms p99 latency")
        for (name, c), t in measured.items()
    }
    return figures


def _ratios(measured: dict[tuple[str, int], Throughput]) -> dict[str, Ratio]:
    """Ours divided by each peer at each point, with the goals of the issue."""
    ratios = {}
    for (name, concurrency), peer in measured.items():
        if name == SUBJECT:
            continue
        ours = measured[SUBJECT, concurrency].per_second
        key = ratio_key(name, concurrency)
        ratios[key] = Ratio(ours / peer.per_second, GOALS.get(key))
    return ratios


SCENARIO = Scenario(
    name="append",
    peers=(FsyncFile.name, SqliteTxn.name, EventsourcingSqlite.name),
    run=run,
    description=(
        "Durable appends of 200-byte payloads from 1, 16 and 64 threads: ours against "
        "write+fsync per record, SQLite WAL synchronous=FULL (one INSERT per transaction) "
        "and the eventsourcing library's SQLite recorder."
    ),
)
