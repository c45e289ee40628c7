"""A write that changes nothing appends nothing: it is answered 200, rowcount 0, with the LSN
of the state it ran on, and the log head stays where it was."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.http.conftest import Api, serve_shop

NO_OPS = [
    "UPDATE shop.todos SET title = 'x' WHERE id = 999",
    "DELETE FROM shop.todos WHERE owner = 'nobody'",
    "DROP TABLE IF EXISTS shop.missing",
    "CREATE TABLE IF NOT EXISTS shop.todos (id int PRIMARY KEY)",
    "CREATE SCHEMA IF NOT EXISTS shop",
    "CREATE INDEX IF NOT EXISTS todos_owner ON shop.todos (owner)",
    "DROP INDEX IF EXISTS shop.missing_idx",
    "ALTER TABLE shop.todos ADD COLUMN IF NOT EXISTS title text",
    "ALTER TABLE shop.todos DROP COLUMN IF EXISTS missing",
    "INSERT INTO shop.todos (id, owner) SELECT id, owner FROM shop.todos WHERE id < 0",
    "INSERT INTO shop.todos (id, owner) VALUES (1, 'alice') ON CONFLICT (id) DO NOTHING",
    "UPDATE shop.todos SET title = 'x' WHERE id = 999 RETURNING id",
]


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[Api]:
    for api in serve_shop(tmp_path):
        api.ok("CREATE INDEX todos_owner ON shop.todos (owner)")
        yield api


@pytest.mark.parametrize("sql", NO_OPS)
def test_a_write_that_changes_nothing_appends_nothing(shop: Api, sql: str) -> None:
    head = shop.head
    answer = shop.ok(sql)
    assert (answer["rowcount"], answer["rows"], answer["lsn"]) == (0, [], head)
    assert shop.head == head


def test_a_batch_of_no_ops_appends_nothing_and_a_real_write_still_does(shop: Api) -> None:
    head = shop.head
    statements = [{"sql": sql} for sql in NO_OPS[:4]]
    response = shop.client.post(
        "/query",
        json={"statements": statements},
        headers={"Authorization": f"Bearer {shop.admin_key}"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["lsn"] == head and shop.head == head
    written = shop.ok("UPDATE shop.todos SET title = 'x' WHERE id = 1")
    assert written["rowcount"] == 1 and written["lsn"] == shop.head == head + 1


def test_a_users_no_op_is_answered_at_the_current_lsn(shop: Api) -> None:
    token = shop.user_token("alice")
    head = shop.head
    answer = shop.ok("UPDATE todos SET title = 'x' WHERE owner = 'bob'", token)
    assert (answer["rowcount"], answer["lsn"], shop.head) == (0, head, head)
