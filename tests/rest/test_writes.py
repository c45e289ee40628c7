"""Writes through /rest/v1: one request is one batch and at most one log record."""

from __future__ import annotations

from tests.rest.conftest import Library

REPRESENT = {"Prefer": "return=representation"}


def test_insert_one_and_many(lib: Library) -> None:
    head = lib.api.head
    one = lib.request("POST", "authors", json={"id": 10, "name": "Iain"}, headers=REPRESENT)
    assert one.status_code == 201, one.text
    assert one.json() == [{"id": 10, "name": "Iain", "born": None, "data": None}]
    assert lib.api.head == head + 1
    many = lib.request("POST", "authors", json=[{"id": 11, "name": "A"}, {"id": 12, "name": "B"}])
    assert many.status_code == 201
    assert many.content == b""
    assert lib.api.head == head + 2
    picked = lib.request(
        "POST",
        "authors?columns=id,name&select=id",
        json=[{"id": 13, "name": "C", "ignored": 1}],
        headers=REPRESENT,
    )
    assert picked.json() == [{"id": 13}]
    located = lib.request(
        "POST", "authors", json={"id": 14, "name": "D"}, headers={"Prefer": "return=headers-only"}
    )
    assert located.status_code == 201
    assert located.headers["location"] == "/authors?id=eq.14"


def test_a_large_body_is_one_record(lib: Library) -> None:
    head = lib.api.head
    rows = [{"id": 1000 + i, "name": f"n{i}", "born": i} for i in range(12_000)]
    created = lib.request("POST", "authors", json=rows, headers={"Prefer": "count=exact"})
    assert created.status_code == 201, created.text
    assert created.headers["content-range"] == "*/12000"
    assert lib.api.head == head + 1
    counted = lib.get("authors?select=id&limit=1", headers={"Prefer": "count=exact"})
    assert counted.headers["content-range"] == "0-0/12003"


def test_missing_default_and_json_values(lib: Library) -> None:
    created = lib.request(
        "POST",
        "todos",
        json=[{"id": 10, "owner": "x", "title": "t"}, {"id": 11, "owner": "y"}],
        headers={"Prefer": "return=representation,missing=default"},
    )
    assert created.status_code == 201, created.text
    assert [r["done"] for r in created.json()] == [False, False]
    stored = lib.request(
        "POST", "authors", json={"id": 20, "name": "J", "data": {"a": [1, 2]}}, headers=REPRESENT
    )
    assert stored.json()[0]["data"] == {"a": [1, 2]}


def test_upserts(lib: Library) -> None:
    merged = lib.request(
        "POST",
        "authors",
        json=[{"id": 1, "name": "Ursula K."}, {"id": 30, "name": "New"}],
        headers={"Prefer": "resolution=merge-duplicates,return=representation"},
    )
    assert merged.status_code == 201, merged.text
    assert sorted(r["name"] for r in merged.json()) == ["New", "Ursula K."]
    ignored = lib.request(
        "POST",
        "authors?on_conflict=id",
        json={"id": 2, "name": "Not Terry"},
        headers={"Prefer": "resolution=ignore-duplicates,return=representation"},
    )
    assert ignored.status_code == 201
    assert ignored.json() == []
    assert lib.get("authors?id=eq.2&select=name").json() == [{"name": "Terry"}]
    put = lib.request("PUT", "authors?id=eq.40", json={"id": 40, "name": "Put"}, headers=REPRESENT)
    assert put.status_code == 200
    assert put.json()[0]["name"] == "Put"
    again = lib.request("PUT", "authors?id=eq.40", json={"id": 40, "name": "Put2"})
    assert again.status_code == 204
    mismatch = lib.request("PUT", "authors?id=eq.41", json={"id": 42, "name": "x"})
    assert mismatch.status_code == 400
    assert mismatch.json()["code"] == "PGRST115"


def test_update_and_delete(lib: Library) -> None:
    patched = lib.request("PATCH", "books?genre=eq.sf", json={"pages": 1}, headers=REPRESENT)
    assert patched.status_code == 200
    assert sorted(r["id"] for r in patched.json()) == [1, 2]
    quiet = lib.request("PATCH", "books?id=eq.3", json={"pages": 2})
    assert quiet.status_code == 204
    limited = lib.request(
        "DELETE", "reviews?order=id.desc&limit=1", headers={"Prefer": "return=representation"}
    )
    assert [r["id"] for r in limited.json()] == [3]
    unordered = lib.request("DELETE", "reviews?limit=1")
    assert unordered.status_code == 400
    assert unordered.json()["code"] == "PGRST109"
    gone = lib.request("DELETE", "reviews?book_id=eq.1")
    assert gone.status_code == 204
    assert lib.get("reviews").json() == []


def test_rollback_max_affected_and_singular_change_nothing(lib: Library) -> None:
    head = lib.api.head
    rolled = lib.request(
        "DELETE", "reviews", headers={"Prefer": "tx=rollback,return=representation"}
    )
    assert rolled.status_code == 200
    assert len(rolled.json()) == 3
    assert rolled.headers["preference-applied"] == "tx=rollback, return=representation"
    capped = lib.request("DELETE", "reviews", headers={"Prefer": "max-affected=2"})
    assert capped.status_code == 400
    assert capped.json()["code"] == "PGRST124"
    single = lib.request(
        "PATCH",
        "books?genre=eq.sf",
        json={"pages": 0},
        headers={**REPRESENT, "Accept": "application/vnd.pgrst.object+json"},
    )
    assert single.status_code == 406
    assert single.json()["code"] == "PGRST116"
    assert lib.api.head == head
    assert len(lib.get("reviews").json()) == 3
    assert {r["pages"] for r in lib.get("books?genre=eq.sf").json()} == {387, 304}


def test_constraint_errors(lib: Library) -> None:
    head = lib.api.head
    duplicate = lib.request("POST", "authors", json={"id": 1, "name": "again"})
    assert duplicate.status_code == 409
    assert duplicate.json()["code"] == "23505"
    null = lib.request("POST", "authors", json={"id": 50, "name": None})
    assert null.status_code == 400
    assert set(null.json()) == {"code", "message", "details", "hint"}
    unknown = lib.request("POST", "authors", json={"id": 51, "nope": 1})
    assert unknown.status_code == 400
    assert unknown.json()["code"] == "PGRST204"
    uneven = lib.request("POST", "authors", json=[{"id": 52, "name": "a"}, {"id": 53}])
    assert uneven.json()["code"] == "PGRST102"
    bad_json = lib.request(
        "POST", "authors", content=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert bad_json.status_code == 400
    assert bad_json.json()["code"] == "PGRST102"
    assert lib.api.head == head


def test_written_rows_come_back_with_their_embeds(lib: Library) -> None:
    created = lib.request(
        "POST",
        "books?select=title,authors(name)",
        json=[
            {"id": 20, "title": "Guards! Guards!", "author_id": 2},
            {"id": 21, "title": "Solo", "author_id": None},
        ],
        headers=REPRESENT,
    )
    assert created.status_code == 201, created.text
    assert created.json() == [
        {"title": "Guards! Guards!", "authors": {"name": "Terry"}},
        {"title": "Solo", "authors": None},
    ]
    patched = lib.request(
        "PATCH",
        "authors?id=eq.1&select=name,books(id)",
        json={"name": "U. K. Le Guin"},
        headers=REPRESENT,
    )
    assert patched.json() == [{"name": "U. K. Le Guin", "books": [{"id": 1}, {"id": 2}]}]
    head = lib.api.head
    bad = lib.request(
        "POST", "books?select=id,nowhere(id)", json={"id": 22, "title": "x"}, headers=REPRESENT
    )
    assert bad.status_code == 400
    assert bad.json()["code"] == "PGRST200"
    assert lib.api.head == head
