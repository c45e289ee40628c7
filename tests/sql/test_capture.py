"""Row capture per table: each statement gets exactly its own images, across many
statements of one transaction (the capture tables are emptied now and then), values keep
their storage classes, and a table whose capture SQLite refuses blocks only its own
writes."""

from __future__ import annotations

import sqlite3

import pytest

from api.sql import SqlEngine, SqlError
from api.sql.capture import _KEEP_ROWS


def test_each_statement_gets_its_own_images_across_many_statements(
    conn: sqlite3.Connection, engine: SqlEngine
) -> None:
    engine.execute(conn, "CREATE TABLE a (id int PRIMARY KEY, v text)")
    engine.execute(conn, "CREATE TABLE b (id int PRIMARY KEY, x bytea, y float8)")
    conn.execute("BEGIN")
    for i in range(2 * _KEEP_ROWS + 10):
        changes = engine.execute(conn, "INSERT INTO a VALUES ($1, 'v')", [i]).changes
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
        changes = engine.execute(conn, "INSERT INTO narrow VALUES (1, 'a')").changes
        assert changes[0]["new"] == {"id": 1, "v": "a"}
        with pytest.raises(SqlError, match="wide cannot be written"):
            engine.execute(conn, "INSERT INTO wide (id) VALUES (1)")
        assert conn.execute('SELECT count(*) FROM "public.wide"').fetchone() == (0,)
        assert engine.execute(conn, "DELETE FROM narrow").rowcount == 1
    finally:
        conn.setlimit(sqlite3.SQLITE_LIMIT_COLUMN, 2000)
