"""``pgwire``: the same psycopg client code against bkg-db's PostgreSQL protocol and against
PostgreSQL 15.

One real ``bkgdb serve --pg-port`` process and a temporary PostgreSQL cluster
(``synchronous_commit=on``), both with the bench rows (1000 rows keyed by id). From 1, 16
and 64 client threads, each with its own autocommitted psycopg connection (prepared
statements after psycopg's default five executions on both), every thread issues a point
SELECT by primary key, or a single-row durable INSERT, back to back. Each figure is the best
of three interleaved rounds. Goals: INSERT at least 1.0x PostgreSQL at 16 and 64 clients,
point SELECT at least 0.5x PostgreSQL at 1.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg

from bench.errors import PeerFailedError
from bench.load import Throughput, Write, measure
from bench.model import Figure, Outcome, Ratio, Scenario, figure_key, ratio_key
from bench.peers.pgcluster import PostgresCluster, temporary_postgres
from bench.scenarios._http import NAMESPACE, ROWS, SETUP, _free_port, running_server
from bench.sizing import rounds, scaled

CONCURRENCY = (1, 16, 64)
FULL_REQUESTS = 3000
SUBJECT = "bkgdb"
PEER = "postgres"
GOALS = {("insert", 16): 1.0, ("insert", 64): 1.0, ("point_select", 1): 0.5}
SELECT = f"SELECT id, owner, v FROM {NAMESPACE}.items WHERE id = %s"
INSERT = f"INSERT INTO {NAMESPACE}.log (id, v) VALUES (%s, %s)"
Request = Callable[[psycopg.Connection[tuple[object, ...]], int], None]


class PgPeer:
    """One kind of request against one server: each thread gets its own connection."""

    def __init__(self, name: str, conninfo: str, request: Request) -> None:
        self.name = name
        self._conninfo = conninfo
        self._request = request
        self._tickets = itertools.count(1)

    @contextmanager
    def session(self) -> Iterator[Write]:
        with psycopg.connect(self._conninfo, autocommit=True) as conn:

            def write(_: bytes) -> None:
                self._request(conn, next(self._tickets))

            yield write


def point_select(conn: psycopg.Connection[tuple[object, ...]], ticket: int) -> None:
    key = ticket % ROWS + 1
    rows = conn.execute(SELECT, (key,)).fetchall()
    if len(rows) != 1:
        raise PeerFailedError(f"point select of {key} returned {rows!r}")


def insert_request() -> Request:
    prefix = os.getpid() * 10_000_000 + int(time.time() * 1000) % 1_000_000 * 10

    def request(conn: psycopg.Connection[tuple[object, ...]], ticket: int) -> None:
        conn.execute(INSERT, (prefix + ticket, "x" * 100))

    return request


def run(quick: bool) -> Outcome:
    requests = scaled(FULL_REQUESTS, quick=quick, minimum=max(CONCURRENCY))
    pg_port = _free_port()
    with running_server("--pg-port", str(pg_port)) as server, temporary_postgres() as cluster:
        _load_postgres(cluster)
        ours = f"postgresql://bench:{server.admin_key}@127.0.0.1:{pg_port}/public"
        peers = {
            (SUBJECT, "point_select"): PgPeer("bkgdb_point_select", ours, point_select),
            (SUBJECT, "insert"): PgPeer("bkgdb_insert", ours, insert_request()),
            (PEER, "point_select"): PgPeer("pg_point_select", cluster.conninfo, point_select),
            (PEER, "insert"): PgPeer("pg_insert", cluster.conninfo, insert_request()),
        }
        measured = _measure(peers, requests, quick)
    return _outcome(measured)


def _load_postgres(cluster: PostgresCluster) -> None:
    with psycopg.connect(cluster.conninfo, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {NAMESPACE} CASCADE")
        for sql in SETUP:
            conn.execute(sql)


def _measure(
    peers: dict[tuple[str, str], PgPeer], requests: int, quick: bool
) -> dict[tuple[str, str, int], Throughput]:
    measured: dict[tuple[str, str, int], Throughput] = {}
    for clients in CONCURRENCY:
        for _ in range(rounds(quick=quick)):
            for (system, kind), peer in peers.items():
                found = measure(peer, clients, requests)
                best = measured.get((system, kind, clients))
                if best is None or found.per_second > best.per_second:
                    measured[system, kind, clients] = found
    return measured


def _outcome(measured: dict[tuple[str, str, int], Throughput]) -> Outcome:
    figures: dict[str, Figure] = {}
    for (system, kind, c), t in measured.items():
        figures[figure_key(f"{system}_{kind}", c)] = Figure(t.per_second, "requests/s")
        figures[figure_key(f"{system}_{kind}_p99", c)] = Figure(t.p99_ms, "ms p99 latency")
    ratios = {
        ratio_key(f"{PEER}_{kind}", c): Ratio(
            measured[SUBJECT, kind, c].per_second / measured[PEER, kind, c].per_second,
            GOALS.get((kind, c)),
        )
        for (system, kind, c) in measured
        if system == PEER
    }
    return Outcome(figures=figures, ratios=ratios)


SCENARIO = Scenario(
    name="pgwire",
    peers=(PEER,),
    run=run,
    description=(
        "The same psycopg client code (point SELECT by primary key, single-row durable INSERT)"
        " from 1, 16 and 64 connections against bkg-db's PostgreSQL protocol and PostgreSQL 15."
    ),
    needs=frozenset({"postgres"}),
)
