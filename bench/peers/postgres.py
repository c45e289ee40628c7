"""Peer (d): single-row INSERTs into a temporary PostgreSQL cluster, a connection per thread.

Use with :func:`bench.peers.pgcluster.temporary_postgres`::

    with temporary_postgres() as cluster, PostgresInsert(cluster) as peer:
        throughput = measure(peer, 64, 10_000)

Each write is one autocommitted INSERT: with ``synchronous_commit=on`` the server flushes
its WAL before acknowledging, so an acknowledged insert is durable, as with ours.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from bench.load import Managed, Write
from bench.peers.pgcluster import PostgresCluster

CREATE = "CREATE TABLE bench_events (id bigserial PRIMARY KEY, payload bytea NOT NULL)"
INSERT = "INSERT INTO bench_events (payload) VALUES (%s)"


class PostgresInsert(Managed):
    """One INSERT transaction per write into ``bench_events`` (created on entry)."""

    name = "postgres"

    def __init__(self, cluster: PostgresCluster) -> None:
        self.cluster = cluster

    def open(self) -> None:
        """(Re)create the ``bench_events`` table, so every measurement starts empty."""
        with psycopg.connect(self.cluster.conninfo, autocommit=True) as conn:
            conn.execute("DROP TABLE IF EXISTS bench_events")
            conn.execute(CREATE)

    def count(self) -> int:
        """Rows committed so far (for tests)."""
        with psycopg.connect(self.cluster.conninfo, autocommit=True) as conn:
            row = conn.execute("SELECT count(*) FROM bench_events").fetchone()
        return int(row[0]) if row else 0

    @contextmanager
    def session(self) -> Iterator[Write]:
        """The thread's own connection, in autocommit mode: one transaction per INSERT."""
        with psycopg.connect(self.cluster.conninfo, autocommit=True) as conn:

            def write(payload: bytes) -> None:
                conn.execute(INSERT, (payload,))

            yield write
