"""Row-level security through POST /query, asserted on the rows returned: a user sees and
changes only what the policies allow, whatever the query's shape."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.http.conftest import Api, bearer, serve_shop

READS = [
    "SELECT id FROM todos",
    "SELECT id FROM shop.todos WHERE owner <> 'alice' OR true",
    "SELECT id FROM todos WHERE 1 = 1 -- AND owner = 'alice'",
    "SELECT id FROM todos /* owner = auth.uid() */",
    'SELECT id FROM "todos"',
    "WITH t AS (SELECT * FROM todos) SELECT id FROM t",
    "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3)"
    " SELECT id FROM todos, r WHERE r.n = 1",
    "SELECT id FROM todos UNION SELECT id FROM todos WHERE owner = 'bob'",
    "SELECT id FROM (SELECT id FROM todos) AS s",
    "SELECT t.id FROM notes JOIN todos AS t ON t.id = notes.todo_id",
    "SELECT t.id FROM todos AS t WHERE EXISTS (SELECT 1 FROM todos AS u WHERE u.id = 3)",
    "SELECT (SELECT max(id) FROM todos) AS id",
    "SELECT id FROM todos ORDER BY id LIMIT 10 OFFSET 0",
]


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[Api]:
    for api in serve_shop(tmp_path):
        api.add_policy(
            {"name": "notes", "table": "shop.notes", "actions": ["select"], "using": "true"}
        )
        yield api


def _ids(rows: list[list[Any]]) -> set[Any]:
    return {row[0] for row in rows}


@pytest.mark.parametrize("sql", READS)
def test_reads_return_only_the_users_rows(shop: Api, sql: str) -> None:
    alice = shop.user_token("alice")
    response = shop.query(sql, alice)
    assert response.status_code in (200, 403, 422, 501), response.text
    if response.status_code == 200:
        assert _ids(response.json()["rows"]) <= {1, 2}, sql
    assert "b1" not in response.text


def test_bob_and_alice_see_disjoint_rows(shop: Api) -> None:
    alice, bob = shop.user_token("alice"), shop.user_token("bob")
    assert shop.rows("SELECT id, title FROM todos ORDER BY id", alice) == [[1, "a1"], [2, "a2"]]
    assert shop.rows("SELECT id, title FROM todos ORDER BY id", bob) == [[3, "b1"]]
    assert shop.rows("SELECT count(*) FROM todos", bob) == [[1]]


def test_aggregates_and_correlated_probes_leak_nothing(shop: Api) -> None:
    alice = shop.user_token("alice")
    probe = "SELECT body FROM notes WHERE EXISTS (SELECT 1 FROM todos WHERE id = notes.todo_id)"
    assert shop.rows(probe, alice) == [["n1"]]
    assert shop.rows("SELECT count(*), sum(id) FROM todos", alice) == [[2, 3]]


def test_parameters_cannot_inject_predicates(shop: Api) -> None:
    alice = shop.user_token("alice")
    for value in ("x' OR '1'='1", "1 OR 1=1", "bob"):
        rows = shop.rows(
            "SELECT id FROM todos WHERE owner = $1 OR title = $1", alice, params=[value]
        )
        assert _ids(rows) <= {1, 2}
    rows = shop.rows("SELECT id FROM todos WHERE id = :id", alice, params={"id": 3})
    assert rows == []


def test_writes_are_confined_to_the_users_rows(shop: Api) -> None:
    alice = shop.user_token("alice")
    assert _ids(shop.rows("UPDATE todos SET title = 'x' RETURNING id", alice)) == {1, 2}
    assert shop.rows("DELETE FROM todos WHERE id = 3 RETURNING id", alice) == []
    head = shop.head
    forged = shop.query("INSERT INTO todos (id, owner, title) VALUES (10, 'bob', 'f')", alice)
    assert forged.status_code == 403 and forged.json()["error"]["code"] == "FORBIDDEN"
    assert shop.head == head
    steal = shop.query(
        "INSERT INTO todos (id, owner, title) SELECT id + 100, 'alice', title FROM shop.todos",
        alice,
    )
    if steal.status_code == 200:
        copied = shop.rows("SELECT title FROM shop.todos WHERE id > 100 ORDER BY id")
        assert copied == [["x"], ["x"]]
    own = shop.rows(
        "INSERT INTO todos (id, owner, title) VALUES (11, 'alice', 'm') RETURNING id", alice
    )
    assert own == [[11]]
    state = shop.rows("SELECT id, owner, title FROM shop.todos WHERE id <= 11 ORDER BY id")
    assert state == [[1, "alice", "x"], [2, "alice", "x"], [3, "bob", "b1"], [11, "alice", "m"]]


def test_update_cannot_move_a_row_out_of_reach(shop: Api) -> None:
    alice = shop.user_token("alice")
    response = shop.query("UPDATE todos SET owner = 'bob' WHERE id = 1", alice)
    assert response.status_code in (200, 403)
    owners = shop.rows("SELECT owner FROM shop.todos WHERE id = 1")
    assert owners == [["alice"]] or response.status_code == 200
    assert shop.rows("SELECT id FROM todos WHERE id = 3", alice) == []


def test_no_policy_means_no_rows(shop: Api) -> None:
    shop.ok("CREATE TABLE shop.open_table (id INTEGER PRIMARY KEY)")
    shop.ok("INSERT INTO shop.open_table (id) VALUES (1), (2)")
    alice = shop.user_token("alice")
    assert shop.rows("SELECT id FROM open_table", alice) == []
    assert shop.rows("SELECT t.id FROM todos AS t JOIN open_table AS o ON o.id = t.id", alice) == []


def test_errors_do_not_leak_row_values(shop: Api) -> None:
    alice = shop.user_token("alice")
    for sql in (
        "SELECT CAST(title AS INTEGER) FROM shop.todos WHERE id = 3",
        "INSERT INTO todos (id, owner, title) VALUES (3, 'alice', 'dup')",
        "SELECT title FROM todos WHERE title = 'b1' AND 1/0 = 1",
    ):
        response = shop.query(sql, alice)
        assert "b1" not in response.text and "bob" not in response.text, response.text


def test_batches_are_filtered_like_single_statements(shop: Api) -> None:
    alice = shop.user_token("alice")
    body = {"statements": [{"sql": "SELECT id FROM todos"}, {"sql": "SELECT count(*) FROM todos"}]}
    response = shop.client.post("/query", json=body, headers=bearer(alice))
    assert response.status_code == 200
    results = response.json()["results"]
    assert _ids(results[0]["rows"]) == {1, 2} and results[1]["rows"] == [[2]]


def test_time_travel_is_filtered_too(shop: Api) -> None:
    alice = shop.user_token("alice")
    response = shop.query("SELECT id FROM todos", alice, as_of_lsn=shop.head)
    assert response.status_code == 200
    assert _ids(response.json()["rows"]) == {1, 2}
