"""SQL functions: created, replaced and dropped through change records, inlined where
statements call them (scalar, RETURNS TABLE, SETOF), run with the caller's row-level
security, listed for RPC, and rebuilt identically by replay."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest

from api.auth.principal import user_principal
from api.rls.access import RlsHook
from api.rls.policy import PolicySet, created_event, parse_policy
from api.rls.rewrite import RlsRewriter
from api.sql import Catalog, SqlEngine, SqlError
from projections.apply import apply_changes
from tests.sql.conftest import projection

SETUP = (
    "CREATE TABLE acct (id int PRIMARY KEY, owner text, balance int)",
    "INSERT INTO acct VALUES (1, 'ann', 10), (2, 'bob', 20), (3, 'ann', 5)",
    "CREATE FUNCTION add_one(x int) RETURNS int LANGUAGE sql IMMUTABLE AS $$ SELECT x + 1 $$",
    "CREATE FUNCTION balance_of(who text) RETURNS bigint LANGUAGE sql STABLE"
    " AS $$ SELECT sum(balance) FROM acct WHERE owner = who $$",
    "CREATE FUNCTION accounts_of(who text) RETURNS TABLE (id int, balance int) LANGUAGE sql"
    " AS $$ SELECT id, balance FROM acct WHERE owner = accounts_of.who $$",
    "CREATE FUNCTION rich() RETURNS SETOF acct LANGUAGE sql AS $$ SELECT * FROM acct"
    " WHERE balance >= 10 $$",
    "CREATE FUNCTION mul(int, int) RETURNS int LANGUAGE sql AS 'SELECT $1 * $2'",
)


@pytest.fixture
def log(conn: sqlite3.Connection, engine: SqlEngine) -> list[dict[str, Any]]:
    changes: list[dict[str, Any]] = []
    for sql in SETUP:
        changes.extend(engine.execute(conn, sql).changes)
    return changes


def test_calls_are_inlined(
    conn: sqlite3.Connection, engine: SqlEngine, log: list[dict[str, Any]]
) -> None:
    out = engine.execute(conn, "SELECT add_one(41), public.mul(6, 7) AS p, balance_of('ann')")
    assert (out.columns, out.rows) == (["add_one", "p", "balance_of"], [[42, 42, 15]])
    out = engine.execute(conn, "SELECT * FROM accounts_of($1) ORDER BY id", ["ann"])
    assert (out.columns, out.rows) == (["id", "balance"], [[1, 10], [3, 5]])
    out = engine.execute(conn, "SELECT r.id, r.owner FROM rich() AS r ORDER BY r.id")
    assert out.rows == [[1, "ann"], [2, "bob"]]
    out = engine.execute(conn, "SELECT id FROM acct WHERE balance > add_one(add_one(3))")
    assert sorted(out.rows) == [[1], [2]]
    out = engine.execute(
        conn, "UPDATE acct SET balance = add_one(balance) WHERE id = 3 RETURNING balance"
    )
    assert out.rows == [[6]]
    assert out.changes[0]["new"]["balance"] == 6


def test_errors(conn: sqlite3.Connection, engine: SqlEngine, log: list[dict[str, Any]]) -> None:
    for sql, sqlstate in (
        ("SELECT add_one(1, 2)", "42883"),
        ("SELECT nosuch(1)", "42883"),
        ("SELECT rich()", "0A000"),
        ("CREATE FUNCTION add_one(x int) RETURNS int LANGUAGE sql AS $$ SELECT 1 $$", "42723"),
        ("CREATE FUNCTION two() RETURNS int LANGUAGE sql AS $$ SELECT 1, 2 $$", "42P13"),
        (
            "CREATE FUNCTION bad() RETURNS int LANGUAGE sql AS $$ SELECT nosuch FROM acct $$",
            "42703",
        ),
        ("CREATE FUNCTION pl() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END $$", "0A000"),
        ("DROP FUNCTION nosuch", "42883"),
    ):
        with pytest.raises(SqlError) as info:
            engine.execute(conn, sql)
        assert info.value.sqlstate == sqlstate, sql
    assert engine.execute(conn, "DROP FUNCTION IF EXISTS nosuch(int)").changes == []
    with pytest.raises(SqlError):  # SECURITY INVOKER only
        engine.execute(
            conn, "CREATE FUNCTION d() RETURNS int LANGUAGE sql SECURITY DEFINER AS $$ SELECT 1 $$"
        )


def test_a_function_that_reaches_itself_is_refused(
    conn: sqlite3.Connection, engine: SqlEngine
) -> None:
    engine.execute(conn, "CREATE FUNCTION f(x int) RETURNS int LANGUAGE sql AS $$ SELECT x $$")
    with pytest.raises(SqlError) as info:
        engine.execute(
            conn,
            "CREATE OR REPLACE FUNCTION f(x int) RETURNS int LANGUAGE sql AS $$ SELECT f(x) $$",
        )
    assert info.value.sqlstate == "42P17"


def test_replace_drop_and_replay(
    conn: sqlite3.Connection, engine: SqlEngine, log: list[dict[str, Any]]
) -> None:
    changes = list(log)
    for sql in (
        "CREATE OR REPLACE FUNCTION add_one(x int) RETURNS int LANGUAGE sql"
        " AS $$ SELECT x + 100 $$",
        "DROP FUNCTION mul(int, int)",
    ):
        changes.extend(engine.execute(conn, sql).changes)
    assert engine.execute(conn, "SELECT add_one(1)").rows == [[101]]
    with pytest.raises(SqlError):
        engine.execute(conn, "SELECT mul(1, 2)")
    logged = [c["sql"] for c in changes if c.get("action") == "create_function"]
    assert "FROM public.acct WHERE owner = $1 $$" in logged[1]
    rebuilt = projection()
    apply_changes(rebuilt, changes)
    assert Catalog.load(rebuilt).functions == Catalog.load(conn).functions
    sql = "SELECT add_one(1), balance_of('bob')"
    assert engine.execute(rebuilt, sql).rows == engine.execute(conn, sql).rows
    rebuilt.close()


def test_functions_are_listed_with_a_statement_that_calls_them(
    conn: sqlite3.Connection, engine: SqlEngine, log: list[dict[str, Any]]
) -> None:
    listed = {f.short_name: f for f in engine.functions(conn, "public")}
    assert sorted(listed) == ["accounts_of", "add_one", "balance_of", "mul", "rich"]
    add_one = listed["add_one"]
    assert (add_one.return_type, add_one.volatility, add_one.returns_set) == (
        "int",
        "immutable",
        False,
    )
    assert [(a.name, a.type) for a in add_one.arguments] == [("x", "int")]
    assert listed["accounts_of"].return_type == "TABLE(id int, balance int)"
    assert listed["rich"].columns == ["id", "owner", "balance"]
    out = engine.execute(conn, listed["accounts_of"].call_sql(), {"who": "bob"})
    assert out.rows == [[2, 20]]
    out = engine.execute(conn, listed["mul"].call_sql(), {"arg1": 3, "arg2": 4})
    assert (out.columns, out.rows) == (["mul"], [[12]])
    assert engine.functions(conn, "other") == []


def test_a_function_reads_with_the_callers_row_level_security(
    conn: sqlite3.Connection, engine: SqlEngine
) -> None:
    engine.execute(conn, "CREATE SCHEMA shop")
    engine.execute(conn, "CREATE TABLE shop.todos (id int PRIMARY KEY, owner text)")
    engine.execute(conn, "INSERT INTO shop.todos VALUES (1, 'alice'), (2, 'bob'), (3, 'alice')")
    engine.execute(
        conn,
        "CREATE FUNCTION shop.total() RETURNS bigint LANGUAGE sql"
        " AS $$ SELECT count(*) FROM todos $$",
        namespace="shop",
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
    assert engine.execute(conn, "SELECT total()", namespace="shop", rewrite=hook).rows == [[2]]
    assert engine.execute(conn, "SELECT total()", namespace="shop").rows == [[3]]


def test_setof_is_read_in_create_function_only(conn: sqlite3.Connection, engine: SqlEngine) -> None:
    out = engine.execute(conn, "SELECT 'RETURNS SETOF acct' AS s")
    assert out.rows == [["RETURNS SETOF acct"]]
