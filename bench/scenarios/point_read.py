"""``point_read``: in-process SELECT by primary key through ``api.Database``, reads/s.

Ours: ``Database.execute`` of a parameterised SELECT (parse cache, snapshot read transaction
with its applied LSN, typed rows). Peer: raw ``sqlite3`` running the same query on a SQLite
file holding the same rows. One thread, uniformly random keys, best of three rounds.
Goal (issue 18): at least 0.7x raw sqlite3.
"""

from __future__ import annotations

import random
import sqlite3
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from bench.model import Figure, Outcome, Ratio, Scenario, ratio_key
from bench.scenarios._database import new_database
from bench.scenarios._eventlog import SUBJECT
from bench.sizing import rounds, scaled

ROWS = 10_000
FULL_READS = 100_000
PEER = "sqlite"
UNIT = "reads/s"
GOAL = 0.7
CREATE = "CREATE TABLE kv (id bigint PRIMARY KEY, payload text NOT NULL)"
FILL = (
    "INSERT INTO kv (id, payload) WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL "
    "SELECT n + 1 FROM s WHERE n < $1) SELECT n, 'payload-' || n FROM s"
)
OURS = "SELECT id, payload FROM kv WHERE id = $1"
RAW = "SELECT id, payload FROM kv WHERE id = ?"


def run(quick: bool) -> Outcome:
    """Time random point reads through ours and through raw sqlite3, interleaved."""
    reads = scaled(FULL_READS, quick=quick, minimum=200)
    keys = [random.randint(1, ROWS) for _ in range(reads)]
    ours, peer = 0.0, 0.0
    with tempfile.TemporaryDirectory(prefix="bkg-bench-") as scratch:
        db = new_database(Path(scratch))
        db.execute(CREATE)
        db.execute(FILL, [ROWS])
        raw = _raw_copy(Path(scratch) / "raw.sqlite")
        for _ in range(rounds(quick=quick)):
            ours = max(ours, _rate(lambda k: db.execute(OURS, [k]).rows, keys))
            peer = max(peer, _rate(lambda k: raw.execute(RAW, (k,)).fetchall(), keys))
        raw.close()
        db.close()
    return Outcome(
        figures={SUBJECT: Figure(ours, UNIT), PEER: Figure(peer, UNIT)},
        ratios={ratio_key(PEER, 1): Ratio(ours / peer, GOAL)},
    )


def _raw_copy(path: Path) -> sqlite3.Connection:
    """A plain SQLite file with the same rows, opened like an application would."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE kv (id INTEGER PRIMARY KEY, payload TEXT NOT NULL)")
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO kv VALUES (?, ?)", ((n, f"payload-{n}") for n in range(1, ROWS + 1))
    )
    conn.execute("COMMIT")
    return conn


def _rate(read: Callable[[int], Sequence[object]], keys: list[int]) -> float:
    """Reads per second of `read` over `keys`; every key must find its row."""
    began = time.perf_counter()
    for key in keys:
        if len(read(key)) != 1:
            raise RuntimeError(f"point read of {key} did not return one row")
    return len(keys) / (time.perf_counter() - began)


SCENARIO = Scenario(
    name="point_read",
    peers=(PEER,),
    run=run,
    description=(
        "In-process SELECT by primary key through api.Database (snapshot read at a known "
        "LSN), against raw sqlite3 running the same query on the same rows."
    ),
)
