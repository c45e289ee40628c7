"""GET/POST /policy and DELETE /policy/{name}: validated, logged, enforced at once."""

from __future__ import annotations

from tests.http.conftest import SHOP_POLICIES, Api, bearer


def test_policies_are_listed_as_created(shop: Api) -> None:
    response = shop.client.get("/policy", headers=bearer(shop.admin_key))
    assert response.status_code == 200
    listed = response.json()["policies"]
    assert [p["name"] for p in listed] == ["insert own", "own"]
    own = next(p for p in listed if p["name"] == "own")
    assert own == {**SHOP_POLICIES[0], "roles": ["user"], "check": None}


def test_a_new_policy_applies_to_the_next_query(shop: Api) -> None:
    alice = shop.user_token("alice")
    assert shop.rows("SELECT id FROM notes", alice) == []
    shop.add_policy(
        {"name": "notes", "table": "shop.notes", "actions": ["select"], "using": "true"}
    )
    assert shop.rows("SELECT id FROM notes ORDER BY id", alice) == [[1], [2]]
    response = shop.client.delete("/policy/notes?namespace=shop", headers=bearer(shop.admin_key))
    assert response.status_code == 200
    assert response.json()["name"] == "notes"
    assert shop.rows("SELECT id FROM notes", alice) == []


def test_invalid_policies_are_refused_and_not_logged(shop: Api) -> None:
    before = shop.head
    bad = [
        {"name": "x", "table": "todos", "actions": ["select"], "using": "true"},
        {"name": "x", "table": "shop.todos", "actions": ["fly"], "using": "true"},
        {"name": "x", "table": "shop.todos", "actions": ["select"]},
        {"name": "x", "table": "shop.todos", "actions": ["select"], "using": "(SELECT 1)"},
        {"name": "x", "table": "shop.todos", "actions": ["select"], "using": "owner = 'a' OR"},
        {"name": "", "table": "shop.todos", "actions": ["select"], "using": "true"},
    ]
    for policy in bad:
        response = shop.client.post("/policy", json=policy, headers=bearer(shop.admin_key))
        assert response.status_code in (400, 422), (policy, response.text)
    assert shop.head == before


def test_policy_events_are_in_the_log(shop: Api) -> None:
    shop.add_policy({"name": "n", "table": "shop.notes", "actions": ["select"], "using": "true"})
    record = shop.last_record()
    assert record.kind == "policy"
    assert record.payload["policy"]["name"] == "n"
