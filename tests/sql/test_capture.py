"""Row capture per table: each statement gets exactly its own images, across many
statements of one transaction (the capture tables are emptied now and then), values keep
their storage classes, and a table whose capture SQLite refuses blocks only its own
writes."""

from __future__ import annotations

import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.sql import SqlEngine, SqlError
from api.sql.capture import _KEEP_ROWS
from tests.sql.conftest import projection


def test_each_statement_gets_its_own_images_across_many_statements(
    conn: sqlite3.Connection, engine: SqlEngine
) -> None:
    engine.execute(conn, "CREATE TABLE a (id int PRIMARY KEY, v text)")
    engine.execute(conn, "CREATE TABLE b (id int PRIMARY KEY, x bytea, y float8)")
    conn.execute("BEGIN")
    for i in range(2 * _KEEP_ROWS + 10):
        insert = "INSERT INTO a VALUES ($1, 'v') ON CONFLICT DO NOTHING"  # captured by triggers
        changes = engine.execute(conn, insert, [i]).changes
        assert [(c["op"], c["new"]) for c in changes] == [("insert", {"id": i, "v": "v"})]
        journal = conn.execute("SELECT count(*) FROM temp._bkg_cap").fetchone()[0]
        assert journal <= _KEEP_ROWS + 1
    changes = engine.execute(conn, "INSERT INTO b VALUES (1, $1, 2)", [b"\x00\xff"]).changes
    assert changes[0]["new"] == {"id": 1, "x": b"\x00\xff", "y": 2.0}
    assert isinstance(changes[0]["new"]["y"], float)
    changes = engine.execute(conn, "UPDATE a SET v = 'w' WHERE id < 3").changes
    assert [(c["old"]["v"], c["new"]["v"]) for c in changes] == [("v", "w")] * 3
    conn.execute("ROLLBACK")


def test_a_table_whose_capture_sqlite_refuses_blocks_only_its_own_writes(
    conn: sqlite3.Connection, engine: SqlEngine
) -> None:
    columns = ", ".join(f"c{i} int" for i in range(40))
    engine.execute(conn, f"CREATE TABLE wide (id int PRIMARY KEY, {columns})")
    engine.execute(conn, "CREATE TABLE narrow (id int PRIMARY KEY, v text)")
    conn.setlimit(sqlite3.SQLITE_LIMIT_COLUMN, 20)  # e.g. a limit set for user statements
    try:
        insert = "INSERT INTO narrow VALUES (1, 'a') ON CONFLICT DO NOTHING"  # triggers
        changes = engine.execute(conn, insert).changes
        assert changes[0]["new"] == {"id": 1, "v": "a"}
        with pytest.raises(SqlError, match="wide cannot be written"):
            engine.execute(conn, "INSERT INTO wide (id) VALUES (1) ON CONFLICT DO NOTHING")
        assert conn.execute('SELECT count(*) FROM "public.wide"').fetchone() == (0,)
        assert engine.execute(conn, "DELETE FROM narrow").rowcount == 1
    finally:
        conn.setlimit(sqlite3.SQLITE_LIMIT_COLUMN, 2000)


VALUES = st.one_of(
    st.none(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=5),
    st.sampled_from(["5", "2.0", "1e3", " 7", "0x10", "true", "-0", "1.5"]),
)


@settings(max_examples=200, deadline=None)
@given(row=st.tuples(VALUES, VALUES, VALUES, VALUES, VALUES))
def test_a_returned_row_image_is_the_image_the_triggers_capture(
    row: tuple[object, ...],
) -> None:
    """A single-row INSERT returns its own image instead of using the triggers; both must
    log exactly the same values, storage classes included (REAL's integral values)."""
    conn, engine = projection(), SqlEngine(cache_size=64)
    columns = "i bigint, t text, r float8, n numeric, b bytea"
    for table in ("fast", "slow"):
        engine.execute(conn, f"CREATE TABLE {table} (id bigserial PRIMARY KEY, {columns})")
    answers = []
    for sql in (
        "INSERT INTO fast (i, t, r, n, b) VALUES ($1, $2, $3, $4, $5)",
        "INSERT INTO slow (i, t, r, n, b) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
    ):
        try:
            outcome = engine.execute(conn, sql, list(row))
        except SqlError as exc:
            answers.append((type(exc), None))
            continue
        images = [(c["op"], c["rowid"], c["pk"], c["old"], c["new"]) for c in outcome.changes]
        answers.append((outcome.rowcount, [(i, *map(_typed, i[4].values())) for i in images]))
    assert answers[0] == answers[1]
    conn.close()


def _typed(value: object) -> tuple[str, object]:
    return type(value).__name__, value


def test_an_insert_that_steps_a_sequence_logs_the_step(
    conn: sqlite3.Connection, engine: SqlEngine
) -> None:
    engine.execute(conn, "CREATE SEQUENCE s")
    engine.execute(conn, "CREATE TABLE q (id int PRIMARY KEY, a int)")
    for sql in (
        "INSERT INTO q (id, a) VALUES (nextval('s'), 1)",
        "INSERT INTO q (id, a) VALUES (2, setval('s', 5))",
    ):
        changes = engine.execute(conn, sql).changes
        assert [(c["table"], c["op"]) for c in changes] == [
            ("public.s", "update"),
            ("public.q", "insert"),
        ]
