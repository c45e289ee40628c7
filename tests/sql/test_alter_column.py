"""ALTER COLUMN rebuilds the table: rows, rowids, AUTOINCREMENT counter, indexes and
constraints survive, values are converted, and replaying the change gives the same table."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest

from api.sql import Catalog, SqlEngine, SqlError
from projections.apply import apply_changes
from tests.sql.conftest import projection


def _dump(conn: sqlite3.Connection) -> list[Any]:
    rows = conn.execute('SELECT rowid, * FROM "public.t" ORDER BY rowid').fetchall()
    seq = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'public.t'").fetchall()
    schema = conn.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'public.t' ORDER BY name"
    ).fetchall()
    return [rows, seq, schema]


def test_alter_column_keeps_rows_counters_indexes_and_replays(
    conn: sqlite3.Connection, engine: SqlEngine
) -> None:
    log: list[dict[str, Any]] = []
    for sql in (
        "CREATE TABLE t (id serial PRIMARY KEY, n text, s text UNIQUE, CHECK (length(s) < 9))",
        "CREATE INDEX t_n ON t (n)",
        "INSERT INTO t (n, s) VALUES ('1', 'a'), ('22', 'b'), ('3', 'c')",
        "DELETE FROM t WHERE id = 3",
        "ALTER TABLE t ALTER COLUMN n TYPE int USING n::int",
        "ALTER TABLE t ALTER COLUMN s SET DEFAULT 'dflt'",
        "ALTER TABLE t ALTER COLUMN s SET NOT NULL",
        "INSERT INTO t (n) VALUES (7)",
        "ALTER TABLE t ALTER COLUMN s DROP DEFAULT",
        "ALTER TABLE t ALTER COLUMN s DROP NOT NULL",
        "INSERT INTO t (n) VALUES (8)",
    ):
        log.extend(engine.execute(conn, sql).changes)
    out = engine.execute(conn, "SELECT id, n + 1, s FROM t ORDER BY id")
    assert out.rows == [[1, 2, "a"], [2, 23, "b"], [4, 8, "dflt"], [5, 9, None]]
    column = Catalog.load(conn).table("public.t").column("n")
    assert column is not None and column.type == "int"
    with pytest.raises(SqlError) as info:
        engine.execute(conn, "INSERT INTO t (n, s) VALUES (1, 'b')")
    assert info.value.sqlstate == "23505"
    with pytest.raises(SqlError):
        engine.execute(conn, "INSERT INTO t (n, s) VALUES (1, 'much too long')")
    rebuilt = projection()
    apply_changes(rebuilt, log)
    assert _dump(rebuilt) == _dump(conn)
    assert Catalog.load(rebuilt).tables == Catalog.load(conn).tables
    rebuilt.close()


def test_refusals(conn: sqlite3.Connection, engine: SqlEngine) -> None:
    engine.execute(conn, "CREATE TABLE p (id int PRIMARY KEY, v text)")
    engine.execute(conn, "CREATE TABLE c (id int PRIMARY KEY, pid int REFERENCES p (id))")
    engine.execute(conn, "INSERT INTO p VALUES (1, NULL)")
    for sql, sqlstate in (
        ("ALTER TABLE p ALTER COLUMN v SET NOT NULL", "0A000"),
        ("ALTER TABLE c ALTER COLUMN nosuch DROP DEFAULT", "42703"),
        ("ALTER TABLE c ALTER COLUMN id TYPE text", "0A000"),
    ):
        with pytest.raises(SqlError) as info:
            engine.execute(conn, sql)
        assert info.value.sqlstate == sqlstate, sql
    engine.execute(conn, "DROP TABLE c")
    with pytest.raises(SqlError) as info:
        engine.execute(conn, "ALTER TABLE p ALTER COLUMN v SET NOT NULL")
    assert info.value.sqlstate == "23502"
    assert engine.execute(conn, "SELECT count(*) FROM p").rows == [[1]]


def test_create_table_as_logs_a_definition_and_row_images(
    conn: sqlite3.Connection, engine: SqlEngine
) -> None:
    log: list[dict[str, Any]] = []
    for sql in (
        "CREATE TABLE src (id int PRIMARY KEY, v text, at timestamptz, ok boolean)",
        "INSERT INTO src VALUES (1, 'a', '2024-01-01 10:00:00+00', true), (2, 'b', NULL, false)",
        "CREATE TABLE copy AS SELECT id, upper(v) AS v, at, ok, id * 1.5 AS f"
        " FROM src WHERE id > 0",
    ):
        log.extend(engine.execute(conn, sql).changes)
    created = log[-3]
    assert (created["action"], created["sql"]) == (
        "create_table",
        "CREATE TABLE public.copy (id INT, v TEXT, at TIMESTAMPTZ, ok BOOLEAN, f DOUBLE PRECISION)",
    )
    assert [c["op"] for c in log[-2:]] == ["insert", "insert"]
    out = engine.execute(conn, "SELECT * FROM copy ORDER BY id")
    assert out.rows == [
        [1, "A", "2024-01-01T10:00:00+00:00", True, 1.5],
        [2, "B", None, False, 3.0],
    ]
    with pytest.raises(SqlError) as info:
        engine.execute(conn, "CREATE TABLE copy AS SELECT 1 AS x")
    assert info.value.sqlstate == "42P07"
    assert engine.execute(conn, "CREATE TABLE IF NOT EXISTS copy AS SELECT 1 AS x").changes == []
    rebuilt = projection()
    apply_changes(rebuilt, log)
    assert engine.execute(rebuilt, "SELECT * FROM copy ORDER BY id").rows == out.rows
    rebuilt.close()
