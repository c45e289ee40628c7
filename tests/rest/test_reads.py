"""Reads through /rest/v1 against a served directory: select trees, filters, order, ranges,
counts, singular objects, CSV and the OpenAPI description."""

from __future__ import annotations

import pytest

from tests.rest.conftest import Library


def rows(lib: Library, path: str, **kw: object) -> list[dict[str, object]]:
    response = lib.get(path, **kw)  # type: ignore[arg-type]
    assert response.status_code == 200, response.text
    found: list[dict[str, object]] = response.json()
    return found


def ids(lib: Library, path: str) -> list[object]:
    return [row["id"] for row in rows(lib, path)]


def test_columns_aliases_casts_and_json_paths(lib: Library) -> None:
    found = rows(lib, "authors?select=id,who:name,born::text,data->tags->>main&id=eq.1")
    assert found == [{"id": 1, "who": "Ursula", "born": "1929", "main": "sf"}]
    assert rows(lib, "authors?select=main:data->tags->>main&data->tags->>main=eq.fantasy") == [
        {"main": "fantasy"}
    ]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("id=eq.2", [2]),
        ("id=neq.2", [1, 3, 4, 5]),
        ("pages=gt.300", [1, 2]),
        ("pages=gte.304", [1, 2]),
        ("pages=lt.250", [4, 5]),
        ("pages=lte.243", [4, 5]),
        ("title=like.*Gods", [3]),
        ("title=ilike.the*", [1, 2]),
        ("genre=is.null", [5]),
        ("genre=not.is.null", [1, 2, 3, 4]),
        ("genre=isdistinct.sf", [3, 4, 5]),
        ("id=in.(1,3,9)", [1, 3]),
        ("id=not.in.(1,3)", [2, 4, 5]),
        ("id=in.()", []),
        ('title=in.("Mort","Small Gods")', [3, 4]),
        ("or=(id.eq.1,pages.lt.250)", [1, 4, 5]),
        ("and=(genre.eq.sf,pages.gt.300)", [1, 2]),
        ("or=(id.eq.5,and(genre.eq.fantasy,not.or(id.eq.3,id.eq.9)))", [4, 5]),
        ("not.or=(genre.eq.sf,genre.is.null)", [3, 4]),
        ("genre=eq.sf&pages=lt.350", [2]),
    ],
)
def test_filters(lib: Library, query: str, expected: list[int]) -> None:
    assert ids(lib, f"books?select=id&order=id&{query}") == expected


def test_order_limit_offset_and_range(lib: Library) -> None:
    assert ids(lib, "books?order=genre.desc.nullslast,id.asc") == [1, 2, 3, 4, 5]
    assert ids(lib, "books?order=genre.asc.nullsfirst,id.desc") == [5, 4, 3, 2, 1]
    assert ids(lib, "books?order=id&limit=2&offset=1") == [2, 3]
    response = lib.get("books?order=id", headers={"Range": "1-2", "Prefer": "count=exact"})
    assert response.status_code == 206
    assert response.headers["content-range"] == "1-2/5"
    assert [r["id"] for r in response.json()] == [2, 3]
    whole = lib.get("books?select=id", headers={"Prefer": "count=exact"})
    assert whole.status_code == 200
    assert whole.headers["content-range"] == "0-4/5"
    beyond = lib.get("books?offset=10", headers={"Prefer": "count=exact"})
    assert beyond.status_code == 416
    assert beyond.json()["code"] == "PGRST103"
    assert lib.get("books?id=eq.99").headers["content-range"] == "*/*"


def test_embeds_both_directions(lib: Library) -> None:
    found = rows(lib, "authors?select=name,books(title,reviews(stars))&id=eq.1&books.order=id")
    assert found == [
        {
            "name": "Ursula",
            "books": [
                {"title": "The Dispossessed", "reviews": [{"stars": 5}, {"stars": 4}]},
                {"title": "The Left Hand of Darkness", "reviews": []},
            ],
        }
    ]
    to_one = rows(lib, "books?select=id,writer:authors(name)&order=id&id=in.(3,5)")
    assert to_one == [{"id": 3, "writer": {"name": "Terry"}}, {"id": 5, "writer": None}]


def test_embed_filters_inner_hints_limits_and_order(lib: Library) -> None:
    inner = rows(lib, "books?select=id,authors!inner(name)&authors.name=eq.Terry&order=id")
    assert [r["id"] for r in inner] == [3, 4]
    outer = rows(lib, "books?select=id,authors(name)&authors.name=eq.Terry&order=id&id=lt.3")
    assert outer == [{"id": 1, "authors": None}, {"id": 2, "authors": None}]
    hinted = rows(lib, "books?select=id,authors!books_author_id_fkey(name)&id=eq.3")
    assert hinted == [{"id": 3, "authors": {"name": "Terry"}}]
    by_column = rows(lib, "books?select=id,authors!author_id(name)&id=eq.3")
    assert by_column == hinted
    limited = rows(lib, "authors?select=id,books(id)&books.order=id.desc&books.limit=1&order=id")
    assert limited == [
        {"id": 1, "books": [{"id": 2}]},
        {"id": 2, "books": [{"id": 4}]},
        {"id": 3, "books": []},
    ]
    ordered = rows(lib, "books?select=id,authors(name)&order=authors(name).desc.nullslast,id")
    assert [r["id"] for r in ordered] == [1, 2, 3, 4, 5]


def test_single_object_and_csv(lib: Library) -> None:
    one = lib.get(
        "books?id=eq.4&select=title", headers={"Accept": "application/vnd.pgrst.object+json"}
    )
    assert one.status_code == 200
    assert one.json() == {"title": "Mort"}
    for query in ("books", "books?id=eq.99"):
        many = lib.get(query, headers={"Accept": "application/vnd.pgrst.object+json"})
        assert many.status_code == 406
        assert many.json()["code"] == "PGRST116"
    csv = lib.get("books?select=id,genre&id=in.(4,5)&order=id", headers={"Accept": "text/csv"})
    assert csv.status_code == 200
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text == "id,genre\n4,fantasy\n5,\n"
    stripped = lib.get(
        "books?select=id,genre&id=eq.5", headers={"Accept": "application/json;nulls=stripped"}
    )
    assert stripped.json() == [{"id": 5}]
    refused = lib.get("books", headers={"Accept": "application/xml"})
    assert refused.status_code == 406
    assert refused.json()["code"] == "PGRST107"


def test_head_options_openapi_and_rpc(lib: Library) -> None:
    head = lib.request("HEAD", "books", headers={"Prefer": "count=exact"})
    assert head.status_code == 200
    assert head.headers["content-range"] == "0-4/5"
    assert head.content == b""
    assert lib.request("OPTIONS", "books").status_code in (200, 204)
    described = lib.get("")
    assert described.status_code == 200
    document = described.json()
    assert document["swagger"] == "2.0"
    assert {"/books", "/authors", "/todos"} <= set(document["paths"])
    assert "title" in document["definitions"]["books"]["properties"]
    deeper = lib.get("books/1")
    assert deeper.status_code == 404
    assert deeper.json()["code"] == "PGRST125"
    for method in ("GET", "POST"):
        missing = lib.request(method, "rpc/anything", json={})
        assert missing.status_code == 404
        assert missing.json()["code"] == "PGRST202"


def test_ambiguous_embeds_need_a_hint(lib: Library) -> None:
    lib.api.ok(
        "CREATE TABLE lib.loans (id INTEGER PRIMARY KEY,"
        " lender INTEGER REFERENCES lib.authors(id), borrower INTEGER REFERENCES lib.authors(id))"
    )
    lib.api.ok("INSERT INTO lib.loans VALUES (1, 1, 2)")
    ambiguous = lib.get("loans?select=id,authors(name)")
    assert ambiguous.status_code == 300
    assert ambiguous.json()["code"] == "PGRST201"
    hinted = rows(
        lib, "loans?select=id,from:authors!lender(name),to:authors!loans_borrower_fkey(name)"
    )
    assert hinted == [{"id": 1, "from": {"name": "Ursula"}, "to": {"name": "Terry"}}]
    lent = rows(lib, "authors?select=name,loans!lender(id)&id=eq.1")
    assert lent == [{"name": "Ursula", "loans": [{"id": 1}]}]


def test_filter_values_take_their_column_type(lib: Library) -> None:
    assert ids(lib, "notices?select=id&public=eq.true") == [1]
    assert ids(lib, "notices?select=id&public=eq.false") == [2]
    assert ids(lib, "notices?select=id&public=in.(t,f)&order=id") == [1, 2]
    assert ids(lib, "books?select=id&pages=in.(243,284)&order=id") == [3, 4]
    for query, kind in (("books?id=eq.abc", "integer"), ("notices?public=eq.maybe", "boolean")):
        response = lib.get(query)
        assert response.status_code == 400
        assert response.json()["code"] == "22P02"
        assert kind in response.json()["message"]


def test_the_request_after_a_ddl_change_sees_it(lib: Library) -> None:
    """The catalogue is memoised per snapshot transaction; a DDL commit must reach the very
    next request (a new column, a new table, a dropped table)."""
    for _ in range(3):
        assert ids(lib, "authors?select=id&id=eq.1") == [1]
    lib.api.ok("ALTER TABLE lib.authors ADD COLUMN nick TEXT")
    assert rows(lib, "authors?select=id,nick&id=eq.1") == [{"id": 1, "nick": None}]
    lib.api.ok("CREATE TABLE lib.fresh (id INTEGER PRIMARY KEY)")
    assert rows(lib, "fresh") == []
    lib.api.ok("DROP TABLE lib.fresh")
    assert lib.get("fresh").status_code == 404
