"""The rewrite's output for shapes SQLite cannot run directly, and per-principal rules."""

from collections.abc import Mapping

import pytest
import sqlglot
from sqlglot import exp

from api.auth.principal import ADMIN, Principal, user_principal
from api.rls.errors import AccessDeniedError
from api.rls.policy import PolicySet, created_event, parse_policy
from api.rls.rewrite import RlsRewriter

SHOP_KEY = Principal(kind="namespace", id="key:k", namespace="shop")


def _policies(*documents: Mapping[str, object]) -> PolicySet:
    policies = PolicySet()
    for document in documents:
        policies.apply(created_event(parse_policy(document)))
    return policies


OWN = {"name": "own", "table": "shop.todos", "actions": ["select", "delete"],
       "using": "owner = auth.uid()"}  # fmt: skip
TEAM = {"name": "team", "table": "shop.todos", "actions": ["select"],
        "using": "team = auth.jwt() ->> 'team'"}  # fmt: skip


def _rewrite(sql: str, principal: Principal, policies: PolicySet | None = None) -> str:
    parsed = sqlglot.parse_one(sql, read="postgres")
    return RlsRewriter(policies or _policies(OWN), principal).rewrite(parsed).sql("postgres")


def test_admin_statements_pass_unchanged() -> None:
    sql = "SELECT * FROM other.secrets JOIN sqlite_master ON true"
    assert _rewrite(sql, ADMIN) == sqlglot.parse_one(sql, read="postgres").sql("postgres")


def test_namespace_key_is_qualified_into_its_schema_and_not_filtered() -> None:
    assert _rewrite("SELECT * FROM todos", SHOP_KEY) == "SELECT * FROM shop.todos"
    assert "shop.items" in _rewrite("CREATE TABLE items (id INT)", SHOP_KEY)
    for sql in (
        "SELECT * FROM other.todos",
        "CREATE TABLE other.evil (id INT)",
        "ALTER TABLE todos RENAME TO other.todos",
        "CREATE TABLE t (id INT REFERENCES other.parents (id))",
        "CREATE SCHEMA evil",
        "DROP SCHEMA shop",
        "ALTER SCHEMA other RENAME TO hacked",
        "CREATE FUNCTION f() RETURNS INT AS 'select 1' LANGUAGE sql",
        "SELECT * FROM generate_series(1, 3)",
    ):
        with pytest.raises(AccessDeniedError):
            _rewrite(sql, SHOP_KEY)


def test_permissive_policies_are_or_ed_with_bound_claims() -> None:
    alice = user_principal("alice", "shop", {"team": "red"})
    out = _rewrite("SELECT id FROM todos", alice, _policies(OWN, TEAM))
    assert (
        out == "SELECT id FROM shop.todos WHERE ((todos.owner = 'alice') OR (todos.team = 'red'))"
    )


def test_delete_using_wraps_the_using_table_and_guards_the_target() -> None:
    alice = user_principal("alice", "shop")
    out = _rewrite("DELETE FROM todos USING audit WHERE audit.id = todos.id", alice)
    assert "USING (SELECT * FROM shop.audit WHERE FALSE) AS audit" in out
    assert "(todos.owner = 'alice')" in out


def test_policy_subqueries_are_not_rewritten_again() -> None:
    shared = {
        "name": "shared", "table": "shop.todos", "actions": ["select"],
        "using": "id IN (SELECT todo_id FROM shares WHERE member = auth.uid())",
    }  # fmt: skip
    out = _rewrite("SELECT id FROM todos", user_principal("bob", "shop"), _policies(shared))
    assert "SELECT todo_id FROM shop.shares WHERE member = 'bob'" in out


def test_user_statement_kinds_and_names_are_limited() -> None:
    alice = user_principal("alice", "shop")
    for sql in (
        "CREATE TABLE t (a INT)",
        "SELECT * FROM json_each('[1]')",
        'SELECT * FROM "todos.x"',
        "WITH _bkg_rls_new AS (SELECT 1) SELECT * FROM _bkg_rls_new",
        "SELECT * FROM shop.todos.extra",
        "INSERT INTO todos (id, owner) VALUES (1, 'alice') ON CONFLICT (id) DO UPDATE SET id = 2",
        "UPDATE todos SET (owner, title) = ('a', 'b')",
    ):
        with pytest.raises(AccessDeniedError):
            _rewrite(sql, alice)


def test_cte_names_shadow_only_inside_their_query() -> None:
    alice = user_principal("alice", "shop")
    out = sqlglot.parse_one(
        _rewrite(
            "SELECT * FROM (WITH todos AS (SELECT 1 AS id) SELECT id FROM todos) AS a, todos",
            alice,
        )
    )
    real = [t for t in out.find_all(exp.Table) if t.db]
    assert [t.sql() for t in real] == ["shop.todos"]
    assert "todos.owner = 'alice'" in out.sql()


def test_every_guard_survives_nested_rewrites() -> None:
    alice = user_principal("alice", "shop")
    sql = (
        "SELECT id FROM todos AS a WHERE EXISTS (SELECT 1 FROM todos AS b WHERE b.id = a.id"
        " AND EXISTS (SELECT 1 FROM todos AS c LEFT JOIN todos AS d ON d.id = c.id))"
    )
    out = _rewrite(sql, alice)
    for alias in "abcd":
        assert f"{alias}.owner = 'alice'" in out


def test_insert_keeps_a_user_with_clause_and_leaves_the_check_to_the_written_rows() -> None:
    own_insert = {"name": "ins", "table": "shop.todos", "actions": ["insert"],
                  "check": "owner = auth.uid()"}  # fmt: skip
    out = _rewrite(
        "WITH src AS (SELECT 'alice' AS o) INSERT INTO todos (owner) SELECT o FROM src",
        user_principal("alice", "shop"),
        _policies(own_insert),
    )
    assert out.startswith("WITH src AS")
    assert out.endswith("INSERT INTO shop.todos (owner) SELECT o FROM src")
