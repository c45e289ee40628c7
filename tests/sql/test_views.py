"""Views: created, replaced and dropped through change records, expanded where statements
name them, read with the caller's row-level security, and rebuilt identically by replay."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest

from api.auth.principal import user_principal
from api.rls.access import RlsHook
from api.rls.policy import PolicySet, created_event, parse_policy
from api.rls.rewrite import RlsRewriter
from api.sql import Catalog, SqlEngine, SqlError, inline
from projections.apply import apply_changes
from tests.sql.conftest import projection


def _run(engine: SqlEngine, conn: sqlite3.Connection, log: list[dict[str, Any]], sql: str) -> Any:
    outcome = engine.execute(conn, sql)
    log.extend(outcome.changes)
    return outcome


@pytest.fixture
def shop(conn: sqlite3.Connection, engine: SqlEngine) -> list[dict[str, Any]]:
    log: list[dict[str, Any]] = []
    for sql in (
        "CREATE TABLE items (id int PRIMARY KEY, name text, price float8, owner text)",
        "INSERT INTO items VALUES (1, 'pen', 2.5, 'ann'), (2, 'book', 12, 'bob'),"
        " (3, 'cup', 4, 'ann')",
        "CREATE VIEW cheap AS SELECT id, name FROM items WHERE price < 5",
    ):
        _run(engine, conn, log, sql)
    return log


def test_a_view_reads_its_query(
    conn: sqlite3.Connection, engine: SqlEngine, shop: list[dict[str, Any]]
) -> None:
    out = engine.execute(conn, "SELECT * FROM cheap ORDER BY id")
    assert (out.columns, out.rows) == (["id", "name"], [[1, "pen"], [3, "cup"]])
    out = engine.execute(
        conn, "SELECT c.name FROM cheap c JOIN items i ON i.id = c.id WHERE c.id > 1"
    )
    assert out.rows == [["cup"]]


def test_views_over_views_aggregates_and_column_lists(
    conn: sqlite3.Connection, engine: SqlEngine, shop: list[dict[str, Any]]
) -> None:
    engine.execute(conn, "CREATE VIEW shout AS SELECT upper(name) FROM cheap")
    engine.execute(
        conn, "CREATE VIEW per_owner (who, n) AS SELECT owner, count(*) FROM items GROUP BY owner"
    )
    out = engine.execute(conn, "SELECT * FROM shout ORDER BY 1")
    assert (out.columns, out.rows) == (["upper"], [["CUP"], ["PEN"]])
    out = engine.execute(conn, "SELECT who, n FROM per_owner ORDER BY who")
    assert out.rows == [["ann", 2], ["bob", 1]]


def test_replace_drop_and_errors(
    conn: sqlite3.Connection, engine: SqlEngine, shop: list[dict[str, Any]]
) -> None:
    engine.execute(
        conn, "CREATE OR REPLACE VIEW cheap AS SELECT id, name FROM items WHERE price < 3"
    )
    assert engine.execute(conn, "SELECT id FROM cheap").rows == [[1]]
    for sql, sqlstate in (
        ("CREATE VIEW cheap AS SELECT 1", "42P07"),
        ("CREATE TABLE cheap (id int)", None),
        ("CREATE VIEW items AS SELECT 1", "42P07"),
        ("CREATE VIEW bad AS SELECT nosuch FROM items", "42703"),
        ("CREATE VIEW bad AS SELECT 1 FROM nosuch", "42P01"),
        ("DELETE FROM cheap", "55000"),
        ("INSERT INTO cheap VALUES (9, 'x')", "55000"),
        ("DROP TABLE items", "2BP01"),
        ("DROP VIEW nosuch", "42P01"),
    ):
        with pytest.raises(SqlError) as info:
            engine.execute(conn, sql)
        if sqlstate is not None:
            assert info.value.sqlstate == sqlstate, sql
    engine.execute(conn, "CREATE VIEW over AS SELECT * FROM cheap")
    with pytest.raises(SqlError) as info:
        engine.execute(conn, "DROP VIEW cheap")
    assert info.value.sqlstate == "2BP01"
    engine.execute(conn, "DROP VIEW over")
    engine.execute(conn, "DROP VIEW cheap")
    engine.execute(conn, "DROP VIEW IF EXISTS cheap")
    with pytest.raises(SqlError):
        engine.execute(conn, "SELECT * FROM cheap")
    engine.execute(conn, "DROP TABLE items")


def test_a_view_that_reaches_itself_is_refused(conn: sqlite3.Connection, engine: SqlEngine) -> None:
    engine.execute(conn, "CREATE VIEW a AS SELECT 1 AS x")
    engine.execute(conn, "CREATE VIEW b AS SELECT x FROM a")
    with pytest.raises(SqlError) as info:
        engine.execute(conn, "CREATE OR REPLACE VIEW a AS SELECT x FROM b")
    assert info.value.sqlstate == "42P17"


def test_replay_rebuilds_the_same_views(
    conn: sqlite3.Connection, engine: SqlEngine, shop: list[dict[str, Any]]
) -> None:
    log = list(shop)
    _run(engine, conn, log, "CREATE VIEW named (a, b) AS SELECT id, name FROM items WHERE id = 1")
    _run(
        engine, conn, log, "CREATE OR REPLACE VIEW cheap AS SELECT name FROM items WHERE price < 3"
    )
    _run(engine, conn, log, "CREATE VIEW gone AS SELECT 1 AS one")
    _run(engine, conn, log, "DROP VIEW gone")
    assert [c["action"] for c in log if c["op"] == "ddl"][-3:] == [
        "create_view",
        "create_view",
        "drop_view",
    ]
    assert all("public." in c["sql"] for c in log if c.get("action") == "create_view")
    rebuilt = projection()
    apply_changes(rebuilt, log)
    assert Catalog.load(rebuilt).views == Catalog.load(conn).views
    for sql in ("SELECT * FROM named", "SELECT * FROM cheap"):
        assert engine.execute(rebuilt, sql).rows == engine.execute(conn, sql).rows
    rebuilt.close()


def test_a_view_reads_with_the_callers_row_level_security(
    conn: sqlite3.Connection, engine: SqlEngine
) -> None:
    engine.execute(conn, "CREATE SCHEMA shop")
    engine.execute(conn, "CREATE TABLE shop.todos (id int PRIMARY KEY, owner text, title text)")
    engine.execute(
        conn,
        "INSERT INTO shop.todos VALUES (1, 'alice', 'a1'), (2, 'bob', 'b1'), (3, 'alice', 'a2')",
    )
    engine.execute(conn, "CREATE VIEW shop.titles AS SELECT title FROM todos", namespace="shop")
    engine.execute(
        conn, "CREATE VIEW shop.counts AS SELECT count(*) AS n FROM shop.titles", namespace="shop"
    )
    policies = PolicySet()
    policy = {
        "name": "own",
        "table": "shop.todos",
        "actions": ["select"],
        "using": "owner = auth.uid()",
    }
    policies.apply(created_event(parse_policy(policy)))
    hook = RlsHook(RlsRewriter(policies, user_principal("alice", "shop", {})), ("alice",))
    out = engine.execute(
        conn, "SELECT title FROM titles ORDER BY title", namespace="shop", rewrite=hook
    )
    assert out.rows == [["a1"], ["a2"]]
    assert engine.execute(conn, "SELECT n FROM counts", namespace="shop", rewrite=hook).rows == [
        [2]
    ]
    assert engine.execute(conn, "SELECT n FROM counts", namespace="shop").rows == [[3]]


def test_exponential_view_expansion_is_refused(
    conn: sqlite3.Connection, engine: SqlEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inline, "MAX_NODES", 2000)
    engine.execute(conn, "CREATE VIEW v0 AS SELECT 1 AS x")
    with pytest.raises(SqlError) as info:
        for level in range(1, 40):
            inner = f"(SELECT x FROM v{level - 1})"
            engine.execute(conn, f"CREATE VIEW v{level} AS SELECT {inner} + {inner} + {inner} AS x")
    assert info.value.sqlstate == "54000"
    assert info.value.detail == {"limit": "max_expanded_nodes", "value": 2000}
    assert level == 5


def test_bad_arguments_of_registered_functions_have_their_sqlstates(
    conn: sqlite3.Connection, engine: SqlEngine
) -> None:
    for sql, sqlstate in (
        ("SELECT split_part('a,b', ',', 0)", "22023"),
        ("SELECT jsonb_set('{\"a\": 1}', '{a}', 'nope')", "22P02"),
        ("SELECT jsonb_strip_nulls(repeat('[', 100000))", "54001"),
    ):
        with pytest.raises(SqlError) as info:
            engine.execute(conn, sql)
        assert info.value.sqlstate == sqlstate, sql


def test_drop_schema_cascade_drops_views_functions_and_sequences(
    conn: sqlite3.Connection, engine: SqlEngine
) -> None:
    log: list[dict[str, Any]] = []
    for sql in (
        "CREATE SCHEMA shop",
        "CREATE TABLE shop.t (id int PRIMARY KEY)",
        "CREATE VIEW shop.a AS SELECT id FROM shop.t",
        "CREATE VIEW shop.b AS SELECT id FROM shop.a",
        "CREATE FUNCTION shop.f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$",
        "CREATE SEQUENCE shop.s",
        "CREATE TYPE shop.e AS ENUM ('x')",
    ):
        log.extend(engine.execute(conn, sql).changes)
    with pytest.raises(SqlError) as info:
        engine.execute(conn, "DROP SCHEMA shop")
    assert info.value.sqlstate == "2BP01"
    engine.execute(conn, "CREATE VIEW public.peek AS SELECT id FROM shop.b")
    with pytest.raises(SqlError) as info:
        engine.execute(conn, "DROP SCHEMA shop CASCADE")
    assert info.value.sqlstate == "2BP01"
    engine.execute(conn, "DROP VIEW public.peek")
    changes = engine.execute(conn, "DROP SCHEMA shop CASCADE").changes
    actions = [c["action"] for c in changes]
    assert actions[:3] == ["drop_view", "drop_view", "drop_function"]
    assert sorted(actions[3:5]) == ["drop_sequence", "drop_table"]
    assert actions[5:] == ["drop_type", "drop_schema"]
    assert [c["table"] for c in changes][:2] == ["shop.b", "shop.a"]
    catalog = Catalog.load(conn)
    assert not (catalog.views or catalog.functions or catalog.sequences or catalog.enums)
    engine.execute(conn, "CREATE SCHEMA shop")
    engine.execute(conn, "CREATE SEQUENCE shop.s")
