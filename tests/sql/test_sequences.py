"""Sequences: one-row tables stepped by nextval/setval, each step logged as a row image, so
replay leaves every sequence where the writer left it."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest

from api.sql import SqlEngine, SqlError
from projections.apply import apply_changes
from tests.sql.conftest import projection


def test_steps_are_writes_logged_as_row_images_and_replayed(
    conn: sqlite3.Connection, engine: SqlEngine
) -> None:
    log: list[dict[str, Any]] = []

    def run(sql: str) -> Any:
        outcome = engine.execute(conn, sql)
        log.extend(outcome.changes)
        return outcome

    run("CREATE SEQUENCE s START WITH 10 INCREMENT BY 5")
    assert engine.is_write("SELECT nextval('s')")
    assert not engine.is_write("SELECT currval('s')")
    first = run("SELECT nextval('s') AS a")
    assert first.rows == [[10]]
    assert [(c["op"], c["table"], c["new"]["last_value"]) for c in first.changes] == [
        ("update", "public.s", 10)
    ]
    assert run("SELECT nextval('public.s'), currval('s')").rows == [[15, 15]]
    assert run("SELECT setval('s', 100)").rows == [[100]]
    run("CREATE TABLE orders (no bigint DEFAULT nextval('s') PRIMARY KEY, item text)")
    run("INSERT INTO orders (item) VALUES ('a'), ('b')")
    assert run("SELECT no FROM orders ORDER BY no").rows == [[105], [110]]
    rebuilt = projection()
    apply_changes(rebuilt, log)
    for sql in ("SELECT * FROM s", "SELECT * FROM orders ORDER BY no"):
        assert engine.execute(rebuilt, sql).rows == engine.execute(conn, sql).rows
    assert engine.execute(rebuilt, "SELECT nextval('s')").rows == [[115]]
    rebuilt.close()


def test_errors(conn: sqlite3.Connection, engine: SqlEngine) -> None:
    engine.execute(conn, "CREATE SEQUENCE small MAXVALUE 2")
    engine.execute(conn, "CREATE TABLE t (id int DEFAULT nextval('small'))")
    for sql, sqlstate in (
        ("SELECT currval('small')", "55000"),
        ("SELECT nextval('nosuch')", "42P01"),
        ("CREATE SEQUENCE small", "42P07"),
        ("CREATE SEQUENCE z INCREMENT BY 0", "22023"),
        ("SELECT setval('small', 3)", "22003"),
        ("DROP SEQUENCE small", "2BP01"),
        ("DROP SEQUENCE nosuch", "42P01"),
    ):
        with pytest.raises(SqlError) as info:
            engine.execute(conn, sql)
        assert info.value.sqlstate == sqlstate, sql
    assert engine.execute(conn, "SELECT nextval('small'), nextval('small')").rows == [[1, 2]]
    with pytest.raises(SqlError) as info:
        engine.execute(conn, "SELECT nextval('small')")
    assert info.value.sqlstate == "2200H"
    engine.execute(conn, "DROP TABLE t")
    engine.execute(conn, "DROP SEQUENCE small")
    assert engine.execute(conn, "DROP SEQUENCE IF EXISTS small").changes == []
