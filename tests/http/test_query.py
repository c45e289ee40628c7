"""POST /query: single statements, parameters, atomic batches, time travel, error codes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.http.conftest import Api, bearer, make_data_dir, open_api


def _table(api: Api) -> None:
    api.ok("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, qty INTEGER)")
    api.ok("INSERT INTO items (id, name, qty) VALUES (1, 'a', 10), (2, 'b', 20)")


def test_select_returns_columns_rows_and_the_lsn_read_at(api: Api) -> None:
    _table(api)
    result = api.ok("SELECT id, name FROM items ORDER BY id")
    assert result == {
        "columns": ["id", "name"],
        "rows": [[1, "a"], [2, "b"]],
        "rowcount": 2,
        "lsn": api.head,
    }


def test_write_commits_one_record_and_returns_its_lsn(api: Api) -> None:
    _table(api)
    before = api.head
    result = api.ok("UPDATE items SET qty = qty + 1 WHERE id = 1")
    assert result["rowcount"] == 1
    assert result["lsn"] == before + 1 == api.head
    record = api.last_record()
    assert record.kind == "dml"
    assert record.actor.startswith("key:")


def test_positional_and_named_parameters(api: Api) -> None:
    _table(api)
    assert api.rows("SELECT name FROM items WHERE id = $1", params=[2]) == [["b"]]
    assert api.rows("SELECT name FROM items WHERE qty > :q", params={"q": 15}) == [["b"]]
    api.ok("INSERT INTO items (id, name, qty) VALUES ($1, $2, $3)", params=[3, "it's; DROP", 1])
    assert api.rows("SELECT name FROM items WHERE id = 3") == [["it's; DROP"]]


def test_batch_is_atomic_and_one_record(api: Api) -> None:
    _table(api)
    before = api.head
    body = {
        "statements": [
            {"sql": "INSERT INTO items (id, name, qty) VALUES ($1, 'c', 1)", "params": [3]},
            {"sql": "UPDATE items SET qty = 0 WHERE id = 1"},
            {"sql": "SELECT count(*) FROM items"},
        ]
    }
    response = api.client.post("/query", json=body, headers=bearer(api.admin_key))
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["lsn"] == before + 1 == api.head
    assert [r["rowcount"] for r in answer["results"][:2]] == [1, 1]
    assert answer["results"][2]["rows"] == [[3]]


def test_failing_batch_changes_nothing(api: Api) -> None:
    _table(api)
    before = api.head
    body = {
        "statements": [
            {"sql": "INSERT INTO items (id, name, qty) VALUES (3, 'c', 1)"},
            {"sql": "INSERT INTO items (id, name, qty) VALUES (1, 'dup', 1)"},
        ]
    }
    response = api.client.post("/query", json=body, headers=bearer(api.admin_key))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "CONFLICT"
    assert api.head == before
    assert api.rows("SELECT count(*) FROM items") == [[2]]


def test_as_of_lsn_reads_a_past_state(api: Api) -> None:
    _table(api)
    past = api.head
    api.ok("DELETE FROM items WHERE id = 1")
    assert api.rows("SELECT id FROM items ORDER BY id", as_of_lsn=past) == [[1], [2]]
    assert api.rows("SELECT id FROM items ORDER BY id") == [[2]]


@pytest.mark.parametrize(
    ("sql", "body", "status", "code"),
    [
        ("SELEC id FROM items", {}, 400, "SYNTAX_ERROR"),
        ("SELECT * FROM nowhere", {}, 404, "NOT_FOUND"),
        ("SELECT nope FROM items", {}, 422, "VALIDATION_ERROR"),
        ("INSERT INTO items (id, name, qty) VALUES (9, 'x', 'many')", {}, 422, "VALIDATION_ERROR"),
        ("INSERT INTO items (id, name) VALUES (1, 'dup')", {}, 409, "CONFLICT"),
        ("INSERT INTO items (id, qty) VALUES (9, 1)", {}, 422, "VALIDATION_ERROR"),
        ("SELECT name FROM items WHERE id = $1", {}, 400, "BAD_REQUEST"),
        ("SELECT 1", {"as_of_lsn": 10_000}, 422, "VALIDATION_ERROR"),
        ("DELETE FROM items", {"as_of_lsn": 1}, 400, "BAD_REQUEST"),
        ("PRAGMA table_info(items)", {}, 400, None),
    ],
)
def test_errors_have_their_status_and_change_nothing(
    api: Api, sql: str, body: dict[str, Any], status: int, code: str | None
) -> None:
    _table(api)
    before = api.head
    response = api.query(sql, **body)
    error = response.json()["error"]
    assert set(error) <= {"code", "message", "detail"}
    assert response.status_code in ((status, 403, 501) if code is None else (status,)), (
        response.text
    )
    if code is not None:
        assert error["code"] == code
    assert api.head == before


def test_sql_and_statements_together_is_a_validation_error(api: Api) -> None:
    body = {"sql": "SELECT 1", "statements": [{"sql": "SELECT 1"}]}
    response = api.client.post("/query", json=body, headers=bearer(api.admin_key))
    assert response.status_code == 422
    response = api.client.post("/query", json={}, headers=bearer(api.admin_key))
    assert response.status_code == 422


def test_idempotency_key_replays_and_appends_nothing(api: Api) -> None:
    _table(api)
    headers = {**bearer(api.admin_key), "Idempotency-Key": "k-1"}
    body = {"sql": "INSERT INTO items (id, name, qty) VALUES (5, 'e', 1)"}
    first = api.client.post("/query", json=body, headers=headers)
    assert first.status_code == 200
    head = api.head
    again = api.client.post("/query", json=body, headers=headers)
    assert again.status_code == 200
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert api.head == head
    other = api.client.post("/query", json={"sql": "DELETE FROM items"}, headers=headers)
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "CONFLICT"
    assert api.head == head
    assert api.rows("SELECT count(*) FROM items") == [[3]]


def test_failed_write_releases_its_idempotency_key(api: Api) -> None:
    _table(api)
    headers = {**bearer(api.admin_key), "Idempotency-Key": "retry-me"}
    body = {"sql": "INSERT INTO later (id) VALUES (1)"}
    assert api.client.post("/query", json=body, headers=headers).status_code == 404
    api.ok("CREATE TABLE later (id INTEGER PRIMARY KEY)")
    assert api.client.post("/query", json=body, headers=headers).status_code == 200


def test_idempotency_survives_a_restart(tmp_path: Path) -> None:
    root = make_data_dir(tmp_path)
    body = {"sql": "CREATE TABLE once (id INTEGER PRIMARY KEY)"}
    gen = open_api(root)
    api = next(gen)
    headers = {**bearer(api.admin_key), "Idempotency-Key": "create-once"}
    first = api.client.post("/query", json=body, headers=headers)
    assert first.status_code == 200
    head = api.head
    gen.close()
    gen = open_api(root)
    api = next(gen)
    again = api.client.post("/query", json=body, headers=headers)
    assert again.status_code == 200
    assert again.json() == first.json()
    assert api.head == head
    gen.close()


def test_schema_lists_tables_with_columns_and_rls_flag(shop: Api) -> None:
    response = shop.client.get("/schema", headers=bearer(shop.admin_key))
    assert response.status_code == 200
    schema = response.json()
    assert schema["lsn"] == shop.head
    tables = {t["name"]: t for t in schema["tables"]}
    assert set(tables) == {"shop.todos", "shop.notes", "other.secrets"}
    assert schema["views"] == []
    todos = tables["shop.todos"]
    assert todos["rls_enabled"] is True
    assert tables["shop.notes"]["rls_enabled"] is False
    assert todos["columns"][0] == {
        "name": "id",
        "type": "int",
        "nullable": False,
        "primary_key": True,
    }


def test_schema_lists_views_of_the_callers_namespace(shop: Api) -> None:
    created = shop.query("CREATE VIEW shop.titles AS SELECT id, title FROM shop.todos")
    assert created.status_code == 200, created.text
    schema = shop.client.get("/schema", headers=bearer(shop.admin_key)).json()
    assert schema["views"] == [
        {
            "name": "shop.titles",
            "columns": ["id", "title"],
            "sql": "SELECT id, title FROM shop.todos",
        }
    ]
