"""Arrays stored as JSON: columns, literals, subscripts, operators and functions."""

from __future__ import annotations

import sqlite3

import pytest

from api.auth.principal import user_principal
from api.rls.authorizer import make_authorizer
from api.sql import SqlEngine
from api.sql.errors import SqlError
from projections.apply import apply_changes
from tests.sql.conftest import projection


def _posts(engine: SqlEngine, conn: sqlite3.Connection) -> None:
    engine.execute(conn, "CREATE TABLE posts (id int PRIMARY KEY, tags text[], scores int[])")
    engine.execute(
        conn,
        "INSERT INTO posts VALUES (1, ARRAY['a', 'b'], '{1,2}'), (2, '{c,\"d e\",NULL}', NULL),"
        " (3, '{}', ARRAY[]::int[])",
    )


def test_columns_literals_and_types(engine: SqlEngine, conn: sqlite3.Connection) -> None:
    _posts(engine, conn)
    out = engine.execute(conn, "SELECT id, tags, scores FROM posts ORDER BY id")
    assert out.rows == [[1, ["a", "b"], [1, 2]], [2, ["c", "d e", None], None], [3, [], []]]
    assert out.types == ("int", "text[]", "int[]")
    engine.execute(conn, "INSERT INTO posts (id, tags) VALUES (4, $1)", [["x", "y"]])
    engine.execute(conn, "UPDATE posts SET tags = '{z}' WHERE id = 4")
    assert engine.execute(conn, "SELECT tags FROM posts WHERE id = 4").rows == [[["z"]]]
    for bad in ("'notarray'", "'{a'", "'[1]'"):
        with pytest.raises(SqlError) as caught:
            engine.execute(conn, f"INSERT INTO posts (id, tags) VALUES (9, {bad})")
        assert caught.value.sqlstate == "22P02", bad
    with pytest.raises(SqlError) as caught:
        engine.execute(conn, "INSERT INTO posts (id, scores) VALUES (9, '{1,x}')")
    assert caught.value.sqlstate == "22P02"


def test_operators_and_functions(engine: SqlEngine, conn: sqlite3.Connection) -> None:
    _posts(engine, conn)
    ids = [
        r[0]
        for r in engine.execute(
            conn, "SELECT id FROM posts WHERE tags @> ARRAY['b'] OR tags && ARRAY['c'] ORDER BY id"
        ).rows
    ]
    assert ids == [1, 2]
    assert engine.execute(conn, "SELECT id FROM posts WHERE 'a' = ANY(tags)").rows == [[1]]
    rows = engine.execute(
        conn,
        "SELECT tags[1], tags[3], tags[0], array_length(tags, 1), cardinality(tags),"
        " array_to_string(tags, ',', '*') FROM posts ORDER BY id",
    ).rows
    assert rows == [
        ["a", None, None, 2, 2, "a,b"],
        ["c", None, None, 3, 3, "c,d e,*"],
        [None, None, None, None, 0, ""],
    ]
    row = engine.execute(
        conn,
        "SELECT ARRAY[1, 2] <@ ARRAY[1, 2, 3], array_append(ARRAY[1], 2), array_prepend(0,"
        " ARRAY[1]), array_cat(ARRAY['a'], ARRAY['b']), array_remove(ARRAY[1, 2, 1], 1),"
        " array_position(ARRAY['x', 'y'], 'y'), string_to_array('a,b', ','), '{1,2}'::int[]",
    ).rows[0]
    assert row == [True, [1, 2], [0, 1], ["a", "b"], [2], 2, ["a", "b"], [1, 2]]


def test_array_writes_replay(engine: SqlEngine, conn: sqlite3.Connection) -> None:
    changes = []
    for sql in (
        "CREATE TABLE posts (id int PRIMARY KEY, tags text[])",
        "INSERT INTO posts VALUES (1, '{a,b}'), (2, ARRAY['c'])",
        "UPDATE posts SET tags = array_append(tags, 'z') WHERE id = 2",
    ):
        changes.extend(engine.execute(conn, sql).changes)
    other = projection()
    apply_changes(other, changes)
    query = "SELECT id, tags FROM posts ORDER BY id"
    assert engine.execute(other, query).rows == engine.execute(conn, query).rows
    assert engine.execute(other, query).rows == [[1, ["a", "b"]], [2, ["c", "z"]]]


def test_jsonb_containment_with_parameters(engine: SqlEngine, conn: sqlite3.Connection) -> None:
    engine.execute(conn, "CREATE TABLE docs (id int PRIMARY KEY, j jsonb)")
    engine.execute(
        conn,
        'INSERT INTO docs VALUES (1, \'{"a": {"b": [1, 2, {"c": 3}]}, "d": null}\'),'
        " (2, '[1, [2, 3], \"x\"]'), (3, '{\"a\": 1}')",
    )
    cases = [
        ('{"a": {"b": [{"c": 3}]}}', [1]),
        ('{"a": {"b": [2, 1]}, "d": null}', [1]),
        ('{"a": 1}', [3]),
        ("[[3]]", [2]),
        ('"x"', [2]),
        ("[[4]]", []),
    ]
    for value, expected in cases:
        rows = engine.execute(
            conn, "SELECT id FROM docs WHERE j @> CAST($1 AS jsonb) ORDER BY id", [value]
        ).rows
        assert [r[0] for r in rows] == expected, value
    rows = engine.execute(
        conn, "SELECT id FROM docs WHERE j <@ $1::jsonb ORDER BY id", ['{"a": 1, "z": 2}']
    ).rows
    assert rows == [[3]]
    assert engine.execute(conn, "SELECT ARRAY[1, NULL] @> ARRAY[NULL]::int[]").rows == [[False]]


def test_any_of_an_array_column_under_row_level_security(
    engine: SqlEngine, conn: sqlite3.Connection
) -> None:
    _posts(engine, conn)
    conn.set_authorizer(make_authorizer(user_principal("alice", "public")))
    try:
        rows = engine.execute(conn, "SELECT id FROM posts WHERE 'c' = ANY(tags)").rows
        nulls = engine.execute(
            conn, "SELECT id, 'zz' = ANY(tags), NULL = ANY(tags) FROM posts ORDER BY id"
        ).rows
        listed = engine.execute(conn, "SELECT id FROM posts WHERE id = ANY($1)", [[1, 3]]).rows
    finally:
        conn.set_authorizer(None)
    assert rows == [[2]]
    # three-valued, as in Postgres: no match but a NULL element is NULL; nothing in {} is false
    assert nulls == [[1, False, None], [2, None, None], [3, False, False]]
    assert sorted(listed) == [[1], [3]]


def test_text_parameters_take_the_element_type(engine: SqlEngine, conn: sqlite3.Connection) -> None:
    engine.execute(conn, "CREATE TABLE s (id int PRIMARY KEY, n int[], t text[])")
    engine.execute(conn, "INSERT INTO s VALUES (1, $1, $2)", ["{1,2}", "{1,2}"])
    assert engine.execute(conn, "SELECT n, t FROM s").rows == [[[1, 2], ["1", "2"]]]
