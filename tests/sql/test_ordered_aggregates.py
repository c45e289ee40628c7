"""Aggregates with an order (``ORDER BY`` inside the call, ``WITHIN GROUP``) on SQLite 3.40."""

from __future__ import annotations

import sqlite3

from hypothesis import given, settings
from hypothesis import strategies as st

from api.auth.principal import user_principal
from api.rls.authorizer import make_authorizer
from api.sql import SqlEngine
from api.sql.errors import SqlError
from tests.sql.conftest import projection


def _table(engine: SqlEngine, conn: sqlite3.Connection) -> None:
    engine.execute(conn, "CREATE TABLE m (g text, v int, f float8)")
    engine.execute(
        conn,
        "INSERT INTO m VALUES ('a', 1, 0.5), ('a', 3, 1.5), ('b', 5, NULL), ('b', NULL, 2.0),"
        " ('c', 3, 2.0)",
    )


def test_ordered_string_and_json_aggregates(engine: SqlEngine, conn: sqlite3.Connection) -> None:
    _table(engine, conn)
    row = engine.execute(
        conn,
        "SELECT string_agg(v::text, ',' ORDER BY v DESC), string_agg(DISTINCT g, '' ORDER BY g"
        " DESC), array_agg(v ORDER BY v), jsonb_agg(g ORDER BY f DESC, g), json_agg(v ORDER BY"
        " v NULLS FIRST) FILTER (WHERE g <> 'c') FROM m",
    ).rows[0]
    assert row == [
        "5,3,3,1",
        "cba",
        [1, 3, 3, 5, None],
        ["b", "b", "c", "a", "a"],
        [None, 1, 3, 5],
    ]
    rows = engine.execute(
        conn, "SELECT g, string_agg(v::text, '+' ORDER BY v DESC) FROM m GROUP BY g ORDER BY g"
    ).rows
    assert rows == [["a", "3+1"], ["b", "5"], ["c", "3"]]
    none = engine.execute(
        conn, "SELECT string_agg(g, ',' ORDER BY g), array_agg(v ORDER BY v) FROM m WHERE false"
    ).rows
    assert none == [[None, None]]


def test_ordered_set_aggregates(engine: SqlEngine, conn: sqlite3.Connection) -> None:
    _table(engine, conn)
    row = engine.execute(
        conn,
        "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY v), percentile_cont(0.25) WITHIN"
        " GROUP (ORDER BY v DESC), percentile_disc(0.5) WITHIN GROUP (ORDER BY v),"
        " mode() WITHIN GROUP (ORDER BY v), mode() WITHIN GROUP (ORDER BY g DESC) FROM m",
    ).rows[0]
    assert row == [3.0, 3.5, 3, 3, "b"]
    try:
        engine.execute(conn, "SELECT percentile_cont(2) WITHIN GROUP (ORDER BY v) FROM m")
    except SqlError as exc:
        assert exc.sqlstate == "22003"
    else:
        raise AssertionError("a fraction above 1 is an error")


def test_users_may_call_them(engine: SqlEngine, conn: sqlite3.Connection) -> None:
    _table(engine, conn)
    conn.set_authorizer(make_authorizer(user_principal("alice", "public")))
    try:
        row = engine.execute(
            conn,
            "SELECT string_agg(g, ',' ORDER BY g), mode() WITHIN GROUP (ORDER BY g) FROM m",
        ).rows[0]
    finally:
        conn.set_authorizer(None)
    assert row == ["a,a,b,b,c", "a"]


@settings(max_examples=60, deadline=None)
@given(values=st.lists(st.integers(-50, 50) | st.none(), max_size=12), fraction=st.floats(0, 1))
def test_they_agree_with_python(values: list[int | None], fraction: float) -> None:
    engine, conn = SqlEngine(cache_size=8), projection()
    engine.execute(conn, "CREATE TABLE n (v int)")
    for value in values:
        engine.execute(conn, "INSERT INTO n VALUES ($1)", [value])
    present = sorted(v for v in values if v is not None)
    row = engine.execute(
        conn,
        "SELECT string_agg(v::text, ',' ORDER BY v DESC), percentile_cont($1) WITHIN GROUP"
        " (ORDER BY v), array_agg(v ORDER BY v NULLS FIRST) FROM n",
        [fraction],
    ).rows[0]
    assert row[0] == (",".join(str(v) for v in reversed(present)) or None)
    if present:
        position = fraction * (len(present) - 1)
        low, high = present[int(position)], present[min(int(position) + 1, len(present) - 1)]
        expected = low + (high - low) * (position - int(position))
        assert abs(row[1] - expected) < 1e-9
    else:
        assert row[1] is None
    nulls = [None] * (len(values) - len(present))
    assert row[2] == ((nulls + present) if values else None)
    conn.close()
