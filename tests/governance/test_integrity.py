"""Declared integrity holds on the store as served: foreign keys (orphans, referenced
parents, ON DELETE CASCADE / SET NULL, logged as row images) and division by zero; and the
state a cascade leaves is the same live, rebuilt from the log, from a checkpoint plus the
tail, and read back as of any LSN."""

from __future__ import annotations

import contextlib
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from api.database import Database
from api.datadir import DataDir
from api.folds import all_folds
from api.initialise import initialise
from api.sql import ConflictError, SqlError, SqlValidationError
from eventlog import KeyRing, LogReader
from projections.checkpoints import CheckpointStore
from projections.export import replay_to_file
from tests.http.conftest import serve_shop
from tests.projections.projkit import dump

SCHEMA = [
    "CREATE TABLE parents (id int PRIMARY KEY, label text)",
    "CREATE TABLE kids (id int PRIMARY KEY, pid int REFERENCES parents ON DELETE CASCADE)",
    "CREATE TABLE pets (id int PRIMARY KEY, pid int REFERENCES parents (id) ON DELETE SET NULL)",
    "CREATE TABLE notes (id int PRIMARY KEY, pid int, FOREIGN KEY (pid) REFERENCES parents (id))",
    "CREATE TABLE tree (id int PRIMARY KEY, up int REFERENCES tree ON DELETE CASCADE)",
]


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    root = tmp_path / "data"
    initialise(DataDir(root), 1 << 20)
    with Database.open(root) as database:
        for sql in SCHEMA:
            database.execute(sql)
        database.execute("INSERT INTO parents VALUES (1, 'a'), (2, 'b'), (3, 'c')")
        yield database


def _refused(db: Database, sql: str, error: type[SqlError], sqlstate: str) -> None:
    head = db.log.head_lsn
    with pytest.raises(error) as caught:
        db.execute(sql)
    assert caught.value.sqlstate == sqlstate
    assert db.log.head_lsn == head


def test_orphans_and_referenced_parents_are_refused(db: Database) -> None:
    _refused(db, "INSERT INTO kids VALUES (1, 9)", ConflictError, "23503")
    _refused(db, "INSERT INTO notes VALUES (1, 9)", ConflictError, "23503")
    _refused(db, "INSERT INTO tree VALUES (1, 7)", ConflictError, "23503")
    db.execute("INSERT INTO notes VALUES (1, 2)")
    _refused(db, "DELETE FROM parents WHERE id = 2", ConflictError, "23503")
    _refused(db, "UPDATE notes SET pid = 9", ConflictError, "23503")
    db.execute("INSERT INTO tree VALUES (2, 1), (1, NULL)")  # checked at statement end
    assert db.execute("SELECT count(*) FROM parents").rows == [[3]]


def test_on_delete_actions_happen_and_are_logged_as_row_images(db: Database) -> None:
    db.execute("INSERT INTO kids VALUES (1, 1), (2, 1), (3, 2)")
    db.execute("INSERT INTO pets VALUES (1, 1), (2, 2)")
    db.execute("INSERT INTO tree VALUES (1, NULL), (2, 1), (3, 2), (4, NULL)")
    lsn = db.execute("DELETE FROM parents WHERE id = 1").lsn
    assert db.execute("SELECT id FROM kids ORDER BY id").rows == [[3]]
    assert db.execute("SELECT id, pid FROM pets ORDER BY id").rows == [[1, None], [2, 2]]
    changes = next(db.log.read(lsn, lsn)).payload["changes"]
    logged = sorted((c["table"], c["op"], c["pk"]["id"]) for c in changes)
    assert logged == [
        ("public.kids", "delete", 1),
        ("public.kids", "delete", 2),
        ("public.parents", "delete", 1),
        ("public.pets", "update", 1),
    ]
    lsn = db.execute("DELETE FROM tree WHERE id = 1").lsn
    assert db.execute("SELECT id FROM tree").rows == [[4]]
    assert len(next(db.log.read(lsn, lsn)).payload["changes"]) == 3


def test_division_by_zero_is_an_error_and_division_keeps_its_types(db: Database) -> None:
    for sql in [
        "SELECT 1 / 0",
        "SELECT 5 % 0",
        "SELECT 1.5 / 0",
        "SELECT id / (id - id) FROM parents",
    ]:
        with pytest.raises(SqlValidationError, match="division by zero") as caught:
            db.execute(sql)
        assert caught.value.sqlstate == "22012"
    _refused(db, "UPDATE parents SET id = id / 0", SqlValidationError, "22012")
    _refused(db, "INSERT INTO parents SELECT id % 0, 'x' FROM parents", SqlValidationError, "22012")
    _refused(db, "DELETE FROM parents WHERE 1 / (id - 2) > 0", SqlValidationError, "22012")
    row = db.execute(
        "SELECT 7 / 2, 7.0 / 2, -7 / 2, 7 % -3, 7 / 2.0, 1 / NULL, 7 / id FROM parents WHERE id = 2"
    )
    assert row.rows == [[3, 3.5, -3, 1, 3.5, None, 3]]
    # division is strict, as in Postgres: a NULL dividend gives NULL, even over zero
    nulls = db.execute(
        "SELECT CAST(NULL AS int) / 0, CAST(NULL AS int) % 0, NULL / (id - id) FROM parents"
    )
    assert nulls.rows == [[None, None, None]] * 3


# -- engine == replay == checkpoint + tail == as_of_lsn, with cascades -----------------------

TABLES = ("parents", "kids", "pets", "notes", "tree")
key = st.integers(min_value=1, max_value=6)
operation = st.one_of(
    st.tuples(st.just("insert"), st.sampled_from(TABLES), key, st.none() | key),
    st.tuples(st.just("delete"), st.sampled_from(("parents", "parents", "tree")), key),
    st.tuples(st.just("rekey"), st.sampled_from(("parents", "tree")), key),
    st.tuples(st.just("checkpoint")),
)


def _statement(op: tuple[Any, ...]) -> str:
    kind, table = op[0], op[1]
    if kind == "insert" and table == "parents":
        return f"INSERT INTO parents VALUES ({op[2]}, 'p')"
    if kind == "insert":
        ref = "NULL" if op[3] is None else op[3]
        column = "up" if table == "tree" else "pid"
        return f"INSERT INTO {table} (id, {column}) VALUES ({op[2]}, {ref})"
    if kind == "delete":
        return f"DELETE FROM {table} WHERE id >= {op[2]}"
    return f"UPDATE {table} SET id = id + 10 WHERE id = {op[2]}"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=st.lists(operation, min_size=5, max_size=30))
@example(ops=[("checkpoint",)] * 5)
def test_cascades_replay_to_the_same_state_every_way(ops: list[tuple[Any, ...]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "data"
        initialise(DataDir(root), 1 << 20)
        observed: dict[int, dict[str, Any]] = {}
        checkpoint_lsn = None
        with Database.open(root) as db:
            for sql in SCHEMA:
                db.execute(sql)
            with db.store.snapshot() as snap:  # the head when every operation is a checkpoint
                observed[snap.lsn] = dump(snap.conn)
            for op in ops:
                if op[0] == "checkpoint":
                    checkpoint_lsn = db.checkpoint().lsn
                    continue
                with contextlib.suppress(ConflictError):  # orphans, referenced parents
                    db.execute(_statement(op))
                with db.store.snapshot() as snap:
                    observed[snap.lsn] = dump(snap.conn)
            head = db.applied_lsn
            for lsn, state in observed.items():
                with db.time_travel.state_at(lsn) as conn:
                    assert dump(conn) == state
        _assert_rebuilds(root, head, checkpoint_lsn, observed[head])


def _assert_rebuilds(
    root: Path, head: int, checkpoint_lsn: int | None, live: dict[str, Any]
) -> None:
    data = DataDir(root)
    key = data.signing_key()
    ring = KeyRing({key.key_id: key.public_bytes})
    for from_scratch in (True, False):
        out = root / f"replay-{from_scratch}.sqlite"
        report = replay_to_file(
            LogReader(data.log),
            CheckpointStore(data.checkpoints),
            ring,
            all_folds(),
            head,
            out,
            from_scratch=from_scratch,
        )
        assert report.checkpoint_lsn == (None if from_scratch else checkpoint_lsn)
        conn = sqlite3.connect(out)
        try:
            assert dump(conn) == live
        finally:
            conn.close()


def test_the_served_api_answers_409_and_422_and_appends_nothing(tmp_path: Path) -> None:
    for api in serve_shop(tmp_path):
        api.ok("CREATE TABLE shop.tags (id int PRIMARY KEY, todo int REFERENCES shop.todos)")
        head = api.head
        for sql, status, code in [
            ("INSERT INTO shop.tags VALUES (1, 99)", 409, "CONFLICT"),
            ("SELECT 1 / 0", 422, "VALIDATION_ERROR"),
            ("UPDATE shop.todos SET id = id % 0", 422, "VALIDATION_ERROR"),
        ]:
            response = api.query(sql)
            assert response.status_code == status, response.text
            assert response.json()["error"]["code"] == code
        api.ok("INSERT INTO shop.tags VALUES (1, 1)")
        response = api.query("DELETE FROM shop.todos WHERE id = 1")
        assert (response.status_code, api.head) == (409, head + 1)
