"""RLS bypass attempts, asserted on the rows that come back from a real SQLite database.

Alice owns todos 1 and 2; bob owns 3 and carol 4. Policies: a user sees, updates and deletes
only their own todos, inserts only rows they own; notes are readable by every user; the
audit table has no policy at all (no rows for users). These tests run the rewrite alone;
the check of the rows a write produced runs after the statement, on its captured rows, and is
tested through the served database in ``test_write_checks.py``.
"""

import sqlite3
from collections.abc import Callable
from typing import Any

import pytest
from sqlglot.errors import ParseError

from api.auth.principal import Principal, user_principal
from api.rls.errors import AccessDeniedError

Runner = Callable[..., list[tuple[Any, ...]]]


def _ids(rows: list[tuple[Any, ...]]) -> list[Any]:
    return sorted(row[0] for row in rows)


def test_plain_select_sees_only_own_rows(run: Runner, alice: Principal) -> None:
    assert _ids(run("SELECT id FROM todos", alice)) == [1, 2]
    assert _ids(run("SELECT id FROM shop.todos WHERE owner = 'bob'", alice)) == []
    assert run("SELECT count(*) FROM todos", alice) == [(2,)]


def test_table_without_policy_has_no_rows(run: Runner, alice: Principal) -> None:
    assert run("SELECT secret FROM audit", alice) == []


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT id FROM (SELECT * FROM todos) AS t",
        "SELECT id FROM todos WHERE id IN (SELECT id FROM todos WHERE owner <> 'alice') OR true",
        "WITH all_rows AS (SELECT * FROM todos) SELECT id FROM all_rows",
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 5) "
        "SELECT id FROM todos JOIN r ON r.n = todos.id",
        "SELECT id FROM todos WHERE owner = 'alice' UNION SELECT id FROM todos",
        "SELECT id FROM todos INTERSECT SELECT id FROM shop.todos",
        "SELECT id FROM todos EXCEPT SELECT 99",
        "SELECT todos.id FROM notes LEFT JOIN todos ON todos.id = notes.todo_id "
        "WHERE todos.id IS NOT NULL",
        "SELECT n.todo_id FROM notes AS n WHERE EXISTS "
        "(SELECT 1 FROM todos AS t WHERE t.id = n.todo_id)",
        "SELECT (SELECT max(id) FROM todos)",
        "SELECT t1.id FROM todos AS t1, todos AS t2 WHERE t1.id <> t2.id OR true",
        "SELECT todos.id FROM notes RIGHT JOIN todos ON todos.id = notes.todo_id",
        "SELECT todos.id FROM notes FULL JOIN todos ON todos.id = notes.todo_id",
        "SELECT todos.id FROM todos LEFT JOIN notes ON notes.todo_id = todos.id",
        "SELECT id FROM notes JOIN todos USING (id)",
        "SELECT id FROM todos NATURAL JOIN todos AS again",
        "SELECT min(id) FROM todos GROUP BY owner HAVING count(*) > 0",
        "SELECT id FROM todos ORDER BY (SELECT count(*) FROM todos) LIMIT 10",
        "SELECT count(*) OVER () FROM todos",
        "SELECT DISTINCT id FROM todos WHERE NOT EXISTS (SELECT 1 WHERE false)",
    ],
)
def test_query_shapes_only_ever_see_visible_rows(run: Runner, alice: Principal, sql: str) -> None:
    seen = [row[0] for row in run(sql, alice) if row[0] is not None]
    assert seen and set(seen) <= {1, 2}, seen


def test_join_to_a_readable_table_does_not_widen_the_protected_one(
    run: Runner, alice: Principal
) -> None:
    rows = run(
        "SELECT notes.body, todos.title FROM notes LEFT JOIN todos ON todos.id = notes.todo_id",
        alice,
    )
    assert sorted(rows, key=str) == sorted([("n1", "alice-1"), ("n3", None), ("n4", None)], key=str)


def test_correlated_exists_cannot_probe_hidden_rows(run: Runner, alice: Principal) -> None:
    probe = (
        "SELECT body FROM notes WHERE EXISTS "
        "(SELECT 1 FROM todos WHERE todos.id = notes.todo_id AND todos.owner = 'bob')"
    )
    assert run(probe, alice) == []


def test_comments_and_quoting_tricks(run: Runner, alice: Principal) -> None:
    assert _ids(run('SELECT id FROM "todos" -- WHERE owner = auth.uid()', alice)) == [1, 2]
    assert _ids(run("SELECT id FROM /* shop.audit */ shop . todos", alice)) == [1, 2]
    assert _ids(run('SELECT id FROM "shop"."todos"', alice)) == [1, 2]
    assert _ids(run("SELECT id FROM TODOS", alice)) == [1, 2]
    for sql in (
        'SELECT * FROM "shop.todos"',
        'SELECT * FROM "other.todos"',
        'WITH "shop.todos" AS (SELECT 1) SELECT * FROM todos',
        "SELECT * FROM sqlite_master",
        "SELECT * FROM _bkg_sql_catalog",
        "SELECT * FROM pragma_table_info('shop.todos')",
    ):
        with pytest.raises(AccessDeniedError):
            run(sql, alice)


def test_cte_named_like_the_table_does_not_hide_it(run: Runner, alice: Principal) -> None:
    sql = (
        "WITH mine AS (SELECT * FROM todos WHERE owner = 'carol') "
        "SELECT id FROM mine UNION ALL SELECT id FROM todos"
    )
    assert _ids(run(sql, alice)) == [1, 2]


def test_several_statements_in_one_string_are_each_rewritten(run: Runner, alice: Principal) -> None:
    assert _ids(run("SELECT 1; SELECT id FROM todos", alice)) == [1, 2]
    with pytest.raises(AccessDeniedError):
        run("SELECT id FROM todos; DROP TABLE todos", alice)
    with pytest.raises(AccessDeniedError):
        run("SELECT 1; SELECT * FROM other.todos", alice)


def test_predicate_injection_through_parameters(run: Runner, alice: Principal) -> None:
    for value in ("' OR '1'='1", "alice' OR owner <> 'alice", "x); DROP TABLE todos; --"):
        assert run("SELECT id FROM todos WHERE title = :v", alice, {"v": value}) == []
    assert _ids(run("SELECT id FROM todos WHERE owner = :v", alice, {"v": "bob"})) == []


def test_uid_with_quotes_is_a_literal_not_sql(run: Runner) -> None:
    mallory = user_principal("x' OR '1'='1", "shop")
    assert run("SELECT id FROM todos", mallory) == []


def test_cross_namespace_is_forbidden_for_every_statement_kind(
    run: Runner, alice: Principal
) -> None:
    for sql in (
        "SELECT * FROM other.todos",
        "SELECT * FROM todos JOIN other.todos AS o ON o.id = todos.id",
        "INSERT INTO other.todos (id, owner, title) VALUES (9, 'alice', 'x')",
        "INSERT INTO todos (owner) SELECT owner FROM other.todos",
        "UPDATE other.todos SET title = 'x'",
        "DELETE FROM other.todos",
        "UPDATE todos SET title = 'x' FROM other.todos AS o WHERE o.id = todos.id",
        "SELECT other.todos.id FROM todos",
    ):
        with pytest.raises(AccessDeniedError):
            run(sql, alice)


def test_user_may_not_run_ddl_or_pragmas(run: Runner, alice: Principal) -> None:
    for sql in (
        "CREATE TABLE t (a INT)",
        "DROP TABLE todos",
        "ALTER TABLE todos ADD COLUMN x INT",
        "PRAGMA table_info(todos)",
        "ATTACH DATABASE 'x.db' AS x",
        "BEGIN",
        "SET search_path = other",
        "TRUNCATE todos",
        "CREATE SCHEMA evil",
    ):
        with pytest.raises((AccessDeniedError, ParseError)):
            run(sql, alice)


def test_update_and_delete_touch_only_visible_rows(
    run: Runner, alice: Principal, conn: sqlite3.Connection
) -> None:
    assert _ids(run("UPDATE todos SET title = 'mine' RETURNING id", alice)) == [1, 2]
    assert _ids(run("DELETE FROM todos WHERE id > 1 RETURNING id", alice)) == [2]
    rows = conn.execute('SELECT id, title FROM "shop.todos" ORDER BY id').fetchall()
    assert rows == [(1, "mine"), (3, "bob-1"), (4, "carol-1")]


def test_update_from_and_delete_using_cannot_reach_hidden_rows(
    run: Runner, alice: Principal, conn: sqlite3.Connection
) -> None:
    run("UPDATE todos SET title = notes.body FROM notes WHERE notes.todo_id = todos.id", alice)
    run("DELETE FROM todos WHERE id IN (SELECT todo_id FROM notes WHERE body = 'n3')", alice)
    rows = conn.execute('SELECT id, title FROM "shop.todos" ORDER BY id').fetchall()
    assert rows == [(1, "n1"), (2, "alice-2"), (3, "bob-1"), (4, "carol-1")]


def test_returning_cannot_expose_rows_of_others(run: Runner, alice: Principal) -> None:
    rows = run(
        "UPDATE todos SET title = title RETURNING (SELECT string_agg(title, ',') FROM todos)",
        alice,
    )
    assert {row[0] for row in rows} == {"alice-1,alice-2"}


def test_returning_of_an_insert_cannot_reveal_hidden_rows(run: Runner, alice: Principal) -> None:
    sql = (
        "INSERT INTO todos (owner, title) VALUES ('alice', 'peek') "
        "RETURNING (SELECT count(*) FROM todos)"
    )
    assert run(sql, alice) == [(3,)]


def test_insert_select_copies_only_visible_rows(
    run: Runner, alice: Principal, conn: sqlite3.Connection
) -> None:
    run("INSERT INTO todos (owner, title) SELECT owner, title || '-copy' FROM todos", alice)
    copies = conn.execute("SELECT title FROM \"shop.todos\" WHERE title LIKE '%-copy'").fetchall()
    assert sorted(copies) == [("alice-1-copy",), ("alice-2-copy",)]
    sql = "INSERT INTO todos (owner, title) SELECT 'alice', secret FROM audit RETURNING title"
    assert run(sql, alice) == []


def test_upserts_are_refused_for_users(run: Runner, alice: Principal) -> None:
    with pytest.raises(AccessDeniedError):
        run(
            "INSERT INTO todos (id, owner) VALUES (3, 'alice') "
            "ON CONFLICT (id) DO UPDATE SET owner = 'alice'",
            alice,
        )


def test_write_without_policy_is_refused(run: Runner, alice: Principal) -> None:
    with pytest.raises(AccessDeniedError):
        run("INSERT INTO audit (secret) VALUES ('x')", alice)
    assert run("DELETE FROM audit RETURNING secret", alice) == []


def test_policy_is_tested_before_terms_that_could_raise_on_hidden_rows(
    run: Runner, alice: Principal, conn: sqlite3.Connection
) -> None:
    conn.execute("""UPDATE "shop.todos" SET title = '{"a": ' || id || '}' WHERE owner = 'alice'""")
    probe = "CAST(json_extract({}title, '$.a') AS INTEGER)"
    assert run(f"SELECT id FROM todos WHERE {probe.format('')} = 1", alice) == [(1,)]
    joined = f"SELECT n.id FROM notes AS n JOIN todos AS t ON {probe.format('t.')} = n.id"
    assert sorted(run(joined, alice)) == [(1,), (2,)]
