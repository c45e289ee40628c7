"""Differential: random DDL/DML (failing statements too) give one state however it is made,
also with views, SQL functions, sequences (nextval as defaults and in queries), ALTER
COLUMN, array columns, regular expressions and ordered aggregates, whose replay must not
re-evaluate anything that could differ.

(1) live, (2) rebuilt from the log alone, (3) a checkpoint at a random LSN plus the tail,
(4) as_of_lsn states compared with the states observed live at those LSNs.
"""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from api.database import Database
from api.datadir import DataDir
from api.folds import all_folds
from api.initialise import initialise
from api.sql.errors import SqlError
from eventlog import KeyRing, LogReader
from projections.checkpoints import CheckpointStore
from projections.export import replay_to_file
from tests.projections.projkit import dump

TABLES = ("t0", "t1", "t2")
CREATE = (
    "CREATE TABLE {t} (id integer primary key, a integer, b text unique, "
    "e text default now(), f integer default (random() * 1000)::int)"
)

table = st.sampled_from(TABLES)
small = st.integers(min_value=-5, max_value=30)
label = st.none() | st.text(alphabet="xyz", min_size=1, max_size=3)
insert = st.tuples(st.just("insert"), table, small, small, label)
operation = st.one_of(
    st.tuples(st.just("create"), table),
    st.tuples(st.just("drop"), table),
    st.tuples(st.just("add_column"), table, st.sampled_from(["g", "h"])),
    insert,
    insert,
    insert,
    st.tuples(st.just("update"), table, small, small),
    st.tuples(st.just("update"), table, small, small),
    st.tuples(st.just("delete"), table, small),
    st.tuples(st.just("batch"), st.lists(insert, min_size=1, max_size=3)),
    st.tuples(st.just("checkpoint")),
    st.tuples(st.just("view"), table),
    st.tuples(st.just("drop_view"), table),
    st.tuples(st.just("function"), table),
    st.tuples(st.just("call"), table, small),
    st.tuples(st.just("nextval"), table),
    st.tuples(st.just("copy_view"), table),
    st.tuples(st.just("insert_seq"), table, small),
    st.tuples(st.just("alter_column"), table, st.integers(min_value=0, max_value=5)),
    st.tuples(st.just("tags"), table),
    st.tuples(st.just("tags_append"), table, label),
)
ALTERATIONS = (
    "ALTER COLUMN a TYPE bigint",
    "ALTER COLUMN a SET DEFAULT 7",
    "ALTER COLUMN a DROP DEFAULT",
    "ALTER COLUMN b SET NOT NULL",
    "ALTER COLUMN b DROP NOT NULL",
    "ALTER COLUMN a TYPE text USING a::text",
)
EXTRA = {
    "view": "CREATE OR REPLACE VIEW v_{t} AS SELECT id, a FROM {t} WHERE a > 0",
    "drop_view": "DROP VIEW IF EXISTS v_{t}",
    "function": "CREATE OR REPLACE FUNCTION f_{t}(x int) RETURNS bigint LANGUAGE sql"
    " AS $$ SELECT count(*) FROM {t} WHERE id > x $$",
    "nextval": "SELECT nextval('s'), count(*) FROM {t}",
    "copy_view": "INSERT INTO {t} (id, a) SELECT id + 1000, a FROM v_{t} WHERE id < 1000",
    "tags_table": "CREATE TABLE tg (id serial PRIMARY KEY, tags text[], s text, agg text)",
    "tags": "INSERT INTO tg (tags, s, agg) SELECT string_to_array(b, 'y'),"
    " regexp_replace(b, 'x+', '-', 'g'), (SELECT string_agg(b, ',' ORDER BY b DESC) FROM {t})"
    " FROM {t} WHERE b ~ '^[xz]'",
}


def statement(op: tuple[Any, ...]) -> tuple[str, list[Any] | None]:
    """The SQL and parameters of one generated operation."""
    kind, t = op[0], op[1]
    if kind == "sequence":
        return "CREATE SEQUENCE s", None
    if kind in EXTRA:
        return EXTRA[kind].format(t=t), None
    if kind == "call":
        return f"INSERT INTO {t} (id, a) VALUES ($1 + 2000, f_{t}($1))", [op[2]]
    if kind == "insert_seq":
        return f"INSERT INTO {t} (id, a) VALUES (nextval('s') + 500, $1)", [op[2]]
    if kind == "tags_append":
        return "UPDATE tg SET tags = array_append(tags, $1) WHERE tags && ARRAY['x', 'z']", [op[2]]
    if kind == "alter_column":
        return f"ALTER TABLE {t} {ALTERATIONS[op[2]]}", None
    if kind == "create":
        return CREATE.format(t=t), None
    if kind == "drop":
        return f"DROP TABLE {t}", None
    if kind == "add_column":
        return f"ALTER TABLE {t} ADD COLUMN {op[2]} integer", None
    if kind == "insert":
        return f"INSERT INTO {t} (id, a, b) VALUES ($1, $2, $3)", [op[2], op[3], op[4]]
    if kind == "update":
        return f"UPDATE {t} SET a = a + $1, id = id + 100 WHERE a >= $2", [op[2], op[3]]
    return f"DELETE FROM {t} WHERE a > $1", [op[2]]


def run(db: Database, op: tuple[Any, ...]) -> int | None:
    """Apply one operation; the LSN it was answered with, None if it failed."""
    try:
        if op[0] == "batch":
            return db.execute_batch([statement(inner) for inner in op[1]]).lsn
        sql, params = statement(op)
        return db.execute(sql, params).lsn
    except SqlError:
        return None


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    ops=st.lists(operation, min_size=8, max_size=25),
    checkpoint_at=st.integers(min_value=0, max_value=27),
    probes=st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=5),
)
def test_live_rebuilt_checkpointed_and_past_states_agree(
    ops: list[tuple[Any, ...]], checkpoint_at: int, probes: list[int]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "data"
        initialise(DataDir(root), 1 << 20)
        observed: dict[int, dict[str, Any]] = {}
        checkpoint_lsn = None
        ops = [("create", "t0"), ("create", "t1"), ("sequence", ""), ("tags_table", ""), *ops]
        with Database.open(root) as db:
            with db.store.snapshot() as snap:
                observed[snap.lsn] = dump(snap.conn)
            for position, op in enumerate(ops):
                if position == min(checkpoint_at, len(ops) - 1) or op[0] == "checkpoint":
                    checkpoint_lsn = db.checkpoint().lsn
                if op[0] == "checkpoint":
                    continue
                before = db.applied_lsn
                answered = run(db, op)
                with db.store.snapshot() as snap:
                    state = dump(snap.conn)
                    assert snap.lsn == db.applied_lsn
                # a write appends one record, or none when it failed or changed nothing
                assert snap.lsn - before in ((0, 1) if answered is not None else (0,))
                assert answered in (None, snap.lsn)
                if snap.lsn == before:
                    assert state == observed.get(before, state)
                observed[snap.lsn] = state
            live = observed[db.applied_lsn]
            for probe in probes:
                lsn = sorted(observed)[probe % len(observed)]
                with db.time_travel.state_at(lsn) as conn:
                    assert dump(conn) == observed[lsn]
                assert db.execute("SELECT 1 AS one", as_of_lsn=lsn).lsn == lsn
            head = db.applied_lsn
            event(f"committed records: {min((head - 2) // 5 * 5, 15)}+")
        _check_rebuilds(root, head, checkpoint_lsn, live)


def _check_rebuilds(
    root: Path, head: int, checkpoint_lsn: int | None, live: dict[str, Any]
) -> None:
    """The state rebuilt from the log alone and from checkpoint + tail equals the live one,
    and a reopened database serves it."""
    data = DataDir(root)
    key = data.signing_key()
    ring = KeyRing({key.key_id: key.public_bytes})
    log = LogReader(data.log)
    checkpoints = CheckpointStore(data.checkpoints)
    for from_scratch in (True, False):
        out = root / f"replay-{from_scratch}.sqlite"
        report = replay_to_file(
            log, checkpoints, ring, all_folds(), head, out, from_scratch=from_scratch
        )
        assert report.checkpoint_lsn == (None if from_scratch else checkpoint_lsn)
        conn = sqlite3.connect(out)
        try:
            assert dump(conn) == live
        finally:
            conn.close()
    with Database.open(root) as db, db.store.snapshot() as snap:
        assert not db.open_report.rebuilt
        assert dump(snap.conn) == live
