"""Full-text search: vectors, queries, @@ and ts_rank over the Snowball English stemmer."""

from __future__ import annotations

import sqlite3

import pytest

from api.auth.principal import user_principal
from api.rls.authorizer import make_authorizer
from api.sql import SqlEngine
from api.sql.errors import SqlError


def _one(engine: SqlEngine, conn: sqlite3.Connection, sql: str) -> list[object]:
    return engine.execute(conn, sql).rows[0]


def test_vectors_and_queries_print_as_postgres(engine: SqlEngine, conn: sqlite3.Connection) -> None:
    out = engine.execute(
        conn,
        "SELECT to_tsvector('english', 'The quick brown foxes, the fox!'),"
        " to_tsquery('english', 'Foxes & !(dog | cats) & jump:*'),"
        " plainto_tsquery('the lazy dogs'), phraseto_tsquery('english', 'lazy the dog'),"
        " websearch_to_tsquery('english', '\"quick fox\" or cat -dog'),"
        " to_tsvector('simple', 'The A')",
    )
    assert out.rows[0] == [
        "'brown':3 'fox':4,6 'quick':2",
        "'fox' & !( 'dog' | 'cat' ) & 'jump':*",
        "'lazi' & 'dog'",
        "'lazi' <2> 'dog'",
        "'quick' <-> 'fox' | 'cat' & !'dog'",
        "'a':2 'the':1",
    ]
    assert out.types == ("tsvector", "tsquery", "tsquery", "tsquery", "tsquery", "tsvector")


def test_matching(engine: SqlEngine, conn: sqlite3.Connection) -> None:
    row = _one(
        engine,
        conn,
        "SELECT to_tsvector('english', 'The quick brown foxes') @@ to_tsquery('fox'),"
        " 'jumped over the lazy dog' @@ plainto_tsquery('english', 'lazy dogs'),"
        " to_tsvector('quick brown fox') @@ to_tsquery('quick <-> fox'),"
        " to_tsvector('quick brown fox') @@ to_tsquery('quick <2> fox'),"
        " to_tsvector('red apples') @@ websearch_to_tsquery('apple -banana'),"
        " to_tsvector('red apples and bananas') @@ websearch_to_tsquery('apple -banana'),"
        " to_tsvector('supernovae') @@ to_tsquery('supern:*'),"
        " to_tsvector('x') @@ plainto_tsquery('the'), NULL @@ to_tsquery('x')",
    )
    assert row == [True, True, False, True, True, False, True, False, None]


def test_table_search_and_rank(engine: SqlEngine, conn: sqlite3.Connection) -> None:
    engine.execute(conn, "CREATE TABLE articles (id int PRIMARY KEY, body text)")
    engine.execute(
        conn,
        "INSERT INTO articles VALUES (1, 'Postgres full text search'), (2, 'SQLite is small'),"
        " (3, 'Searching texts, searching text fully')",
    )
    query = (
        "SELECT id, ts_rank(to_tsvector(body), to_tsquery('search')) AS r FROM articles"
        " WHERE to_tsvector('english', body) @@ to_tsquery('english', 'search') ORDER BY r DESC"
    )
    conn.set_authorizer(make_authorizer(user_principal("alice", "public")))
    try:
        rows = engine.execute(conn, query).rows
    finally:
        conn.set_authorizer(None)
    assert [r[0] for r in rows] == [3, 1]
    assert rows[1][1] == pytest.approx(0.0607927, rel=1e-5)


def test_errors(engine: SqlEngine, conn: sqlite3.Connection) -> None:
    for sql, sqlstate in (
        ("SELECT to_tsvector('klingon', 'x')", "42704"),
        ("SELECT to_tsquery('english', 'a & (b')", "42601"),
        ("SELECT to_tsquery('english', 'a b')", "42601"),
    ):
        with pytest.raises(SqlError) as caught:
            engine.execute(conn, sql)
        assert caught.value.sqlstate == sqlstate, sql
