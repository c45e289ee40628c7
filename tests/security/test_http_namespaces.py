"""Cross-namespace access through HTTP is denied on every endpoint and statement kind, for
namespace keys and user tokens alike; the other tenant's data and the log stay unchanged."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.http.conftest import Api, bearer, serve_shop

STATEMENTS = [
    "SELECT * FROM other.secrets",
    'SELECT * FROM "other.secrets"',
    "SELECT * FROM shop.todos JOIN other.secrets AS s ON s.id = todos.id",
    "SELECT (SELECT value FROM other.secrets LIMIT 1)",
    "WITH s AS (SELECT * FROM other.secrets) SELECT * FROM s",
    "SELECT id FROM shop.todos UNION SELECT id FROM other.secrets",
    "INSERT INTO other.secrets (id, value) VALUES (9, 'x')",
    "INSERT INTO shop.notes (id, body) SELECT id, value FROM other.secrets",
    "UPDATE other.secrets SET value = 'pwned'",
    "DELETE FROM other.secrets",
    "DROP TABLE other.secrets",
    "CREATE TABLE other.evil (id INTEGER PRIMARY KEY)",
    "ALTER TABLE other.secrets ADD COLUMN x TEXT",
    "CREATE INDEX evil ON other.secrets (value)",
    "CREATE SCHEMA evil",
    "SELECT * FROM sqlite_master",
    "SELECT * FROM _bkg_api_keys",
    "SELECT * FROM _bkg_policies",
    "PRAGMA table_info('other.secrets')",
    "ATTACH DATABASE '/tmp/x.db' AS x",
    "SELECT 1; DELETE FROM other.secrets",
]


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[Api]:
    yield from serve_shop(tmp_path)


def _callers(shop: Api) -> dict[str, str]:
    return {
        "namespace key": shop.create_key("namespace", "shop")["key"],
        "user": shop.user_token("alice"),
    }


def _other_untouched(shop: Api, head: int) -> None:
    assert shop.head == head
    assert shop.rows("SELECT id, value FROM other.secrets") == [[1, "top secret"]]


@pytest.mark.parametrize("sql", STATEMENTS)
def test_statements_reaching_another_namespace_are_refused(shop: Api, sql: str) -> None:
    callers = _callers(shop)
    head = shop.head
    for who, token in callers.items():
        response = shop.query(sql, token)
        assert response.status_code in (400, 403, 404, 422, 501), (who, response.text)
        assert "top secret" not in response.text
    batch = {"statements": [{"sql": "SELECT 1"}, {"sql": sql}]}
    for token in callers.values():
        response = shop.client.post("/query", json=batch, headers=bearer(token))
        assert response.status_code >= 400 and "top secret" not in response.text
    _other_untouched(shop, head)


def test_schema_shows_only_the_callers_namespace(shop: Api) -> None:
    for token in _callers(shop).values():
        tables = shop.client.get("/schema", headers=bearer(token)).json()["tables"]
        assert {t["name"] for t in tables} == {"shop.todos", "shop.notes"}


def test_keys_of_another_namespace_cannot_be_made_seen_or_touched(shop: Api) -> None:
    other_key = shop.create_key("namespace", "other")
    callers = _callers(shop)
    head = shop.head
    for who, token in callers.items():
        headers = bearer(token)
        for body in (
            {"scope": "namespace", "namespace": "other"},
            {"scope": "admin"},
        ):
            response = shop.client.post("/auth/keys", json=body, headers=headers)
            assert response.status_code == 403, (who, body, response.text)
        listing = shop.client.get("/auth/keys", headers=headers)
        if who == "user":
            assert listing.status_code == 403
        else:
            ids = {k["id"] for k in listing.json()["keys"]}
            assert other_key["id"] not in ids and ids
        expected = 403 if who == "user" else 404
        response = shop.client.delete(f"/auth/keys/{other_key['id']}", headers=headers)
        assert response.status_code == expected
        response = shop.client.post(
            f"/auth/keys/{other_key['id']}/rotate", json={}, headers=headers
        )
        assert response.status_code == expected
    assert shop.head == head
    assert shop.query("SELECT 1", other_key["key"]).status_code == 200


def test_policies_of_another_namespace_cannot_be_made_seen_or_dropped(shop: Api) -> None:
    shop.add_policy({"name": "o", "table": "other.secrets", "actions": ["select"], "using": "true"})
    callers = _callers(shop)
    head = shop.head
    policy = {"name": "mine", "table": "other.secrets", "actions": ["select"], "using": "true"}
    for who, token in callers.items():
        headers = bearer(token)
        assert shop.client.post("/policy", json=policy, headers=headers).status_code == 403
        response = shop.client.delete("/policy/o?namespace=other", headers=headers)
        assert response.status_code == 403
        listing = shop.client.get("/policy", headers=headers)
        if who == "user":
            assert listing.status_code == 403
        else:
            assert {p["table"] for p in listing.json()["policies"]} == {"shop.todos"}
    assert shop.head == head


def test_tokens_cannot_be_minted_for_another_namespace(shop: Api) -> None:
    for token in _callers(shop).values():
        body = {"sub": "mallory", "ns": "other"}
        response = shop.client.post("/auth/token", json=body, headers=bearer(token))
        assert response.status_code == 403


def test_a_namespace_key_works_inside_its_namespace(shop: Api) -> None:
    key = _callers(shop)["namespace key"]
    assert len(shop.rows("SELECT id FROM todos", key)) == 3
    shop.ok("CREATE TABLE items (id INTEGER PRIMARY KEY)", key)
    shop.ok("INSERT INTO items (id) VALUES (1)", key)
    assert shop.rows("SELECT id FROM shop.items") == [[1]]
