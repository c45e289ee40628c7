"""``parse_cache``: a repeated parameterised INSERT through the SQL engine, cached vs uncached.

The same statement text with fresh parameters, run by ``api.sql.SqlEngine`` on a projection
connection inside one transaction: once with the statement cache (parse and translation
reused) and once with it disabled (``cache_size=0``: every execution parses and translates).
Best of three rounds. Goal: cached at least 10x uncached.
"""

from __future__ import annotations

import sqlite3
import time

from api.sql import SqlEngine
from bench.model import Figure, Outcome, Ratio, Scenario, ratio_key
from bench.scenarios._eventlog import SUBJECT
from bench.sizing import rounds, scaled
from projections.meta import init_schema

FULL_STATEMENTS = 20_000
PEER = "uncached"
UNIT = "statements/s"
GOAL = 10.0
CREATE = "CREATE TABLE events (id bigint PRIMARY KEY, kind text NOT NULL, body text)"
INSERT = "INSERT INTO events (id, kind, body) VALUES ($1, $2, $3)"


def run(quick: bool) -> Outcome:
    """Time the same INSERT with and without the engine's caches."""
    statements = scaled(FULL_STATEMENTS, quick=quick, minimum=100)
    cached, uncached = 0.0, 0.0
    for _ in range(rounds(quick=quick)):
        cached = max(cached, _rate(SqlEngine(), statements))
        uncached = max(uncached, _rate(SqlEngine(cache_size=0), max(statements // 10, 50)))
    return Outcome(
        figures={SUBJECT: Figure(cached, UNIT), PEER: Figure(uncached, UNIT)},
        ratios={ratio_key(PEER, 1): Ratio(cached / uncached, GOAL)},
    )


def _rate(engine: SqlEngine, statements: int) -> float:
    """Statements/s of `engine` running the INSERT `statements` times in one transaction."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    init_schema(conn)
    conn.execute("BEGIN")
    engine.execute(conn, CREATE)
    began = time.perf_counter()
    for n in range(statements):
        engine.execute(conn, INSERT, [n, "kind", "body"])
    elapsed = time.perf_counter() - began
    conn.execute("COMMIT")
    conn.close()
    return statements / elapsed


SCENARIO = Scenario(
    name="parse_cache",
    peers=(PEER,),
    run=run,
    description=(
        "A repeated parameterised INSERT through the SQL engine with its parse and "
        "translation caches, against the same with the caches disabled."
    ),
)
