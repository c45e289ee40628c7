"""Enum types: labels checked on every write, ordering by declaration, replayed from the log."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest

from api.sql import Catalog, SqlEngine, SqlError
from projections.apply import apply_changes
from tests.sql.conftest import projection


def test_enums(conn: sqlite3.Connection, engine: SqlEngine) -> None:
    log: list[dict[str, Any]] = []
    for sql in (
        "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')",
        "CREATE TABLE person (name text, m mood NOT NULL)",
        "INSERT INTO person VALUES ('a', 'happy'), ('b', 'sad'), ('c', 'ok')",
    ):
        log.extend(engine.execute(conn, sql).changes)
    assert log[0]["sql"] == "CREATE TYPE public.mood AS ENUM ('sad', 'ok', 'happy')"
    out = engine.execute(conn, "SELECT name FROM person WHERE m >= 'ok' ORDER BY m DESC")
    assert out.rows == [["a"], ["c"]]
    for sql, sqlstate in (
        ("INSERT INTO person VALUES ('d', 'angry')", "22P02"),
        ("UPDATE person SET m = 'meh'", "22P02"),
        ("SELECT 'meh'::mood", "22P02"),
        ("SELECT 1::nosuchtype", "42704"),
        ("CREATE TYPE mood AS ENUM ('x')", "42710"),
        ("DROP TYPE mood", "2BP01"),
    ):
        with pytest.raises(SqlError) as info:
            engine.execute(conn, sql)
        assert info.value.sqlstate == sqlstate, sql
    with pytest.raises(SqlError):  # a parameter is refused by the column's CHECK
        engine.execute(conn, "INSERT INTO person VALUES ('d', $1)", ["angry"])
    rebuilt = projection()
    apply_changes(rebuilt, log)
    assert Catalog.load(rebuilt).enums == {"public.mood": ["sad", "ok", "happy"]}
    sql = "SELECT name, m FROM person ORDER BY m"
    assert engine.execute(rebuilt, sql).rows == engine.execute(conn, sql).rows
    rebuilt.close()
    engine.execute(conn, "DROP TABLE person")
    engine.execute(conn, "DROP TYPE mood")
    assert engine.execute(conn, "DROP TYPE IF EXISTS mood").changes == []
