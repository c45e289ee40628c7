"""``commit``: durable single-row INSERTs through ``api.Database`` from 1, 16 and 64 threads.

Ours (the commit pipeline: SQL executed on the write connection, one log record per
INSERT, group fsync, visible once durable) against (b) raw SQLite, WAL with
``synchronous=FULL`` and one INSERT per transaction on a connection per thread, and (d)
PostgreSQL 15 in a temporary cluster on loopback with ``synchronous_commit=on``, one
autocommitted INSERT per write on a connection per thread. Every system starts empty at every
point; a full run repeats all points three times, interleaved, keeping each one's best.
Goal at 64 writers: at least 3x raw SQLite and at least 1x PostgreSQL.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

from bench.load import Peer, Throughput, measure
from bench.model import Figure, Outcome, Ratio, Scenario, figure_key, ratio_key
from bench.peers.pgcluster import PostgresCluster, temporary_postgres
from bench.peers.postgres import PostgresInsert
from bench.peers.sqlite_txn import SqliteTxn
from bench.scenarios._database import DatabasePeer
from bench.scenarios._eventlog import SUBJECT
from bench.sizing import rounds, scaled

CONCURRENCY = (1, 16, 64)
FULL_OPERATIONS = 10_000
GOALS = {ratio_key(SqliteTxn.name, 64): 3.0, ratio_key(PostgresInsert.name, 64): 1.0}

Factory = Callable[[Path], AbstractContextManager[Peer]]


def run(quick: bool) -> Outcome:
    """Every system at every point, interleaved; each keeps its best round."""
    operations = scaled(FULL_OPERATIONS, quick=quick, minimum=max(CONCURRENCY))
    measured: dict[tuple[str, int], Throughput] = {}
    with temporary_postgres() as cluster:
        systems = _systems(cluster)
        for _ in range(rounds(quick=quick)):
            for concurrency in CONCURRENCY:
                for name, factory in systems.items():
                    latest = _measure_fresh(factory, concurrency, operations)
                    best = measured.get((name, concurrency))
                    if best is None or latest.per_second > best.per_second:
                        measured[name, concurrency] = latest
    return Outcome(figures=_figures(measured), ratios=_ratios(measured))


def _systems(cluster: PostgresCluster) -> dict[str, Factory]:
    return {
        SUBJECT: DatabasePeer,
        SqliteTxn.name: SqliteTxn,
        PostgresInsert.name: lambda _: PostgresInsert(cluster),
    }


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
        figure_key(name, c): Figure(t.per_second, "commits/s") for (name, c), t in measured.items()
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
        key = ratio_key(name, concurrency)
        ratios[key] = Ratio(
            measured[SUBJECT, concurrency].per_second / peer.per_second, GOALS.get(key)
        )
    return ratios


SCENARIO = Scenario(
    name="commit",
    peers=(SqliteTxn.name, PostgresInsert.name),
    run=run,
    description=(
        "Durable single-row INSERTs through api.Database from 1, 16 and 64 threads: ours "
        "against raw SQLite (WAL, synchronous=FULL, one INSERT per transaction) and "
        "PostgreSQL 15 (temporary cluster, synchronous_commit=on)."
    ),
    needs=frozenset({"postgres"}),
)
