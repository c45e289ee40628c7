"""``commit``: durable single-row INSERTs through ``api.Database`` from 1, 16 and 64 threads.

Ours (the commit pipeline: SQL executed on the write connection, one log record per
INSERT, group fsync, visible once durable) against (b) raw SQLite, WAL with
``synchronous=FULL`` and one INSERT per transaction on a connection per thread, and (d)
PostgreSQL 15 in a temporary cluster on loopback with ``synchronous_commit=on``, one
autocommitted INSERT per write on a connection per thread. Every system starts empty at every
point; a full run repeats all points three times, interleaved, keeping each one's best.
Goals (issue 18): at least 1.0x PostgreSQL at 1 writer and 1.5x at 16 and 64, a p99 at 64
no worse than PostgreSQL's (``vs_postgres_p99@64``: its p99 divided by ours, at least 1.0),
and at least 3x raw SQLite at 64.
"""

from __future__ import annotations

from bench.compare import Factory, Measured, best_of_rounds, throughput_outcome
from bench.model import Outcome, Ratio, Scenario, ratio_key
from bench.peers.pgcluster import PostgresCluster, temporary_postgres
from bench.peers.postgres import PostgresInsert
from bench.peers.sqlite_txn import SqliteTxn
from bench.scenarios._database import DatabasePeer
from bench.scenarios._eventlog import SUBJECT
from bench.sizing import rounds, scaled

CONCURRENCY = (1, 16, 64)
FULL_OPERATIONS = 10_000
GOALS = {
    ratio_key(SqliteTxn.name, 64): 3.0,
    ratio_key(PostgresInsert.name, 1): 1.0,
    ratio_key(PostgresInsert.name, 16): 1.5,
    ratio_key(PostgresInsert.name, 64): 1.5,
}
P99_PEER = f"{PostgresInsert.name}_p99"
P99_AT = 64
P99_GOAL = 1.0


def run(quick: bool) -> Outcome:
    """Every system at every point, interleaved; each keeps its best round."""
    operations = scaled(FULL_OPERATIONS, quick=quick, minimum=max(CONCURRENCY))
    with temporary_postgres() as cluster:
        measured = best_of_rounds(_systems(cluster), CONCURRENCY, operations, rounds(quick=quick))
    outcome = throughput_outcome(measured, subject=SUBJECT, unit="commits/s", goals=GOALS)
    return _with_p99_ratio(outcome, measured)


def _with_p99_ratio(outcome: Outcome, measured: Measured) -> Outcome:
    """Add PostgreSQL's p99 at 64 writers divided by ours (at least 1.0: ours no worse)."""
    ours, peer = measured[SUBJECT, P99_AT].p99_ms, measured[PostgresInsert.name, P99_AT].p99_ms
    ratio = Ratio(peer / ours, P99_GOAL)
    return Outcome(outcome.figures, {**outcome.ratios, ratio_key(P99_PEER, P99_AT): ratio})


def _systems(cluster: PostgresCluster) -> dict[str, Factory]:
    """Ours, raw SQLite, and PostgreSQL on the running cluster."""
    return {
        SUBJECT: DatabasePeer,
        SqliteTxn.name: SqliteTxn,
        PostgresInsert.name: lambda _: PostgresInsert(cluster),
    }


SCENARIO = Scenario(
    name="commit",
    peers=(SqliteTxn.name, PostgresInsert.name, P99_PEER),
    run=run,
    description=(
        "Durable single-row INSERTs through api.Database from 1, 16 and 64 threads: ours "
        "against raw SQLite (WAL, synchronous=FULL, one INSERT per transaction) and "
        "PostgreSQL 15 (temporary cluster, synchronous_commit=on), with the p99 at 64 "
        "against PostgreSQL's."
    ),
    needs=frozenset({"postgres"}),
)
