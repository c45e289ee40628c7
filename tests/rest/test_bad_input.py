"""Hostile and malformed requests: each is a PostgREST-shaped 4xx and appends nothing."""

from __future__ import annotations

import pytest

from api.rest.grammar import MAX_ITEMS
from tests.rest.conftest import Library

BAD_READS = [
    ("books?select=id,", 400, "PGRST100"),
    ("books?select=authors(name", 400, "PGRST100"),
    ("books?or=(id.eq.1,title.eq.x", 400, "PGRST100"),
    ("books?or=id.eq.1", 400, "PGRST100"),
    ("books?id=equals.1", 400, "PGRST100"),
    ("books?id=eq", 400, "PGRST100"),
    ("books?id=is.maybe", 400, "PGRST100"),
    ("books?limit=-1", 400, "PGRST100"),
    ("books?order=id.sideways", 400, "PGRST100"),
    ("books?nope=eq.1", 400, "42703"),
    ("books?select=nope", 400, "42703"),
    ("books?order=nope", 400, "42703"),
    ("books?select=id::regclass", 400, "42704"),
    ("books?select=id::text;drop", 400, "PGRST100"),
    ("books?select=unrelated(id)", 400, "PGRST200"),
    ("books?select=id&authors.name=eq.x", 400, "PGRST108"),
    ("books?id=cs.{1}", 501, "0A000"),
    ("books?title=match.(", 400, "2201B"),
    ("books?title=fts(klingon).word", 400, "42704"),
    ("nope", 404, "PGRST205"),
    # injection through names: every one is a name the catalogue does not know
    ('books?select="id""; DROP TABLE lib.books; --"', 400, "PGRST100"),
    ('books?select="id; DROP TABLE lib.books; --"', 400, "42703"),
    ("books?select=x:id),(select value from other.secrets", 400, "PGRST100"),
    ('books?select="title" FROM other.secrets --', 400, "PGRST100"),
    ("books?select=id::text) from other.secrets --", 400, "PGRST100"),
    ('books?order="id; DELETE FROM lib.books"', 400, "42703"),
    ("books?id);DELETE FROM lib.books;--=eq.1", 400, "PGRST100"),
    ("authors?select=data->>'x'", 400, "PGRST100"),
    ('authors?select=data->"a\')||(select value from other.secrets)--"', 200, None),
    ('authors?data->>"x\' OR 1%3D1 --"=eq.1', 200, None),
]


@pytest.mark.parametrize(("path", "status", "code"), BAD_READS)
def test_bad_reads(lib: Library, path: str, status: int, code: str | None) -> None:
    head = lib.api.head
    response = lib.get(path)
    assert response.status_code == status, response.text
    if code is not None:
        assert response.json()["code"] == code
        assert set(response.json()) == {"code", "message", "details", "hint"}
    else:  # a JSON key that looks like SQL is only ever a key: no such key, no rows leak
        assert "top secret" not in response.text
        assert (
            all(v is None for row in response.json() for v in row.values()) or not response.json()
        )
    assert lib.api.head == head


def test_huge_in_lists_are_refused(lib: Library) -> None:
    values = ",".join(str(i) for i in range(MAX_ITEMS + 1))
    response = lib.get(f"books?id=in.({values})")
    assert response.status_code == 400
    assert response.json()["code"] == "PGRST100"
    fits = ",".join(str(i) for i in range(MAX_ITEMS))
    assert lib.get(f"books?select=id&id=in.({fits})").status_code == 200
    long = lib.get("books?title=eq." + "x" * 40_000)
    assert long.status_code == 414
    assert long.json()["code"] == "PGRST100"


BAD_WRITES = [
    ("POST", "books", {"id": 9, "title": "t", "nope": 1}, 400, "PGRST204"),
    ("POST", "books", [1, 2], 400, "PGRST102"),
    ("POST", "books", [], 400, "PGRST102"),
    ("POST", "books?columns=id,nope", {"id": 9}, 400, "PGRST204"),
    ("POST", "books?on_conflict=nope", {"id": 1, "title": "t"}, 400, "42703"),
    ("POST", "books", {"id": 9, "title": None}, 400, None),
    ("POST", "books", {"id": 9, "title": "t", "author_id": 99}, 409, "23503"),
    ("PATCH", "books?id=eq.1", {'title" = 1; --': "x"}, 400, "PGRST204"),
    ("PATCH", "books?id=eq.1", [{"title": "x"}], 400, "PGRST102"),
    ("PATCH", "books?nope=eq.1", {"title": "x"}, 400, "42703"),
    ("DELETE", "books?id=eq.1", None, 409, "23503"),
    ("DELETE", "books?limit=1", None, 400, "PGRST109"),
    ("PUT", "books", {"id": 1, "title": "t"}, 405, "PGRST105"),
]


@pytest.mark.parametrize(("method", "path", "body", "status", "code"), BAD_WRITES)
def test_bad_writes(
    lib: Library, method: str, path: str, body: object, status: int, code: str | None
) -> None:
    head = lib.api.head
    response = (
        lib.request(method, path, json=body) if body is not None else lib.request(method, path)
    )
    assert response.status_code == status, response.text
    payload = response.json()
    assert set(payload) == {"code", "message", "details", "hint"}
    if code is not None:
        assert payload["code"] == code
    assert lib.api.head == head


def test_aliases_are_only_ever_names(lib: Library) -> None:
    head = lib.api.head
    alias = "x) FROM other.secrets --"
    found = lib.get(f'books?select="{alias}":id&id=eq.1')
    assert found.status_code == 200, found.text
    assert found.json() == [{alias: 1}]
    nested = lib.get(f'books?select=id,"{alias}":authors(name)&id=eq.1')
    assert nested.json() == [{"id": 1, alias: {"name": "Ursula"}}]
    for path, code in (
        ('books?select="a""b":id', "PGRST100"),
        ('books?columns=id,"title; --"', "PGRST204"),
        ('books?on_conflict="id) DO NOTHING; --"', "42703"),
    ):
        method = "GET" if "select" in path else "POST"
        body = None if method == "GET" else {"id": 30, "title": "t"}
        response = lib.request(method, path, json=body)
        assert response.json()["code"] == code, response.text
    assert lib.api.head == head
