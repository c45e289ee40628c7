"""``rebuild``: rows/s replaying row images from the log into an empty projection.

A data directory is filled through ``api.Database`` with INSERT ... SELECT statements of
10,000 rows each (1M rows in a full run), so the log holds real row images. Ours: a rebuild
from scratch (``open_store(rebuild=True, from_scratch=True)``: read, check and decode every
record, apply its images). Peer: the same rows loaded with sqlite-utils ``insert_all`` into
a fresh table of the same shape, on a database with the projection's settings (WAL,
``synchronous=OFF``). Best of three interleaved rounds. Goal: at least 0.5x the peer.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlite_utils

from api.database import Database
from api.folds import all_folds
from bench.model import Figure, Outcome, Ratio, Scenario, ratio_key
from bench.scenarios._database import new_database
from bench.scenarios._eventlog import SUBJECT
from bench.sizing import rounds, scaled
from eventlog import KeyRing
from projections.checkpoints import CheckpointStore
from projections.repair import open_store

FULL_ROWS = 1_000_000
CHUNK = 10_000
PEER = "sqlite_utils"
UNIT = "rows/s"
GOAL = 0.5
CREATE = (
    "CREATE TABLE r (id bigint PRIMARY KEY, name text NOT NULL, score double precision, tag text)"
)
FILL = (
    "INSERT INTO r (id, name, score, tag) WITH RECURSIVE s(n) AS (SELECT $1::bigint "
    "UNION ALL SELECT n + 1 FROM s WHERE n < $2) SELECT n, 'name-' || n, n * 0.5, 'tag' FROM s"
)


def run(quick: bool) -> Outcome:
    """Fill a log once, then time rebuilds and the peer's loads, interleaved."""
    rows = scaled(FULL_ROWS, quick=quick, minimum=1000)
    ours, peer = 0.0, 0.0
    with tempfile.TemporaryDirectory(prefix="bkg-bench-") as scratch:
        db = new_database(Path(scratch))
        _fill(db, rows)
        for attempt in range(rounds(quick=quick)):
            ours = max(ours, _rebuild_rate(db, rows))
            peer = max(peer, _peer_rate(Path(scratch) / f"peer-{attempt}.db", rows))
        db.close()
    return Outcome(
        figures={SUBJECT: Figure(ours, UNIT), PEER: Figure(peer, UNIT)},
        ratios={ratio_key(PEER, 1): Ratio(ours / peer, GOAL)},
    )


def _fill(db: Database, rows: int) -> None:
    """Insert `rows` rows in chunks: one log record of row images per chunk."""
    db.execute(CREATE)
    for start in range(1, rows + 1, CHUNK):
        db.execute(FILL, [start, min(start + CHUNK - 1, rows)])


def _rebuild_rate(db: Database, rows: int) -> float:
    """Rows/s of a rebuild from scratch into a fresh store directory beside the live one."""
    key = db.log.signing_key
    target = db.data.root / f"rebuild-{time.monotonic_ns()}"
    began = time.perf_counter()
    store, report = open_store(
        target,
        db.log,
        CheckpointStore(target / "no-checkpoints"),
        KeyRing({key.key_id: key.public_bytes}),
        all_folds(),
        rebuild=True,
        from_scratch=True,
    )
    elapsed = time.perf_counter() - began
    store.close()
    if report.to_lsn != db.log.head_lsn:
        raise RuntimeError(f"rebuild stopped at {report.to_lsn}, head is {db.log.head_lsn}")
    return rows / elapsed


def _rows(rows: int) -> Iterator[dict[str, Any]]:
    for n in range(1, rows + 1):
        yield {"id": n, "name": f"name-{n}", "score": n * 0.5, "tag": "tag"}


def _peer_rate(path: Path, rows: int) -> float:
    """Rows/s of sqlite-utils insert_all into an empty table of the same shape."""
    peer = sqlite_utils.Database(path)
    peer.execute("PRAGMA journal_mode=WAL")
    peer.execute("PRAGMA synchronous=OFF")
    table = peer.table("r")
    table.create({"id": int, "name": str, "score": float, "tag": str}, pk="id")
    began = time.perf_counter()
    table.insert_all(_rows(rows), batch_size=1000)
    elapsed = time.perf_counter() - began
    if table.count != rows:
        raise RuntimeError(f"sqlite-utils loaded {table.count} rows, not {rows}")
    peer.close()
    return rows / elapsed


SCENARIO = Scenario(
    name="rebuild",
    peers=(PEER,),
    run=run,
    description=(
        "Rows/s replaying row images from the log into an empty projection (1M rows), "
        "against loading the same rows with sqlite-utils insert_all."
    ),
)
