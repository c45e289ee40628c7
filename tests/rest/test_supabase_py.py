"""The official `supabase` Python client against a real `bkgdb serve`, unmodified: an anon
key, a namespace key (the service role) and user tokens, over every filter, order, range,
count, embeds, single rows, writes with and without returning, and row-level security."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from postgrest.exceptions import APIError
from supabase import Client, ClientOptions, create_client

from tests.http.conftest import ServedProcess, bearer, serving

pytestmark = pytest.mark.filterwarnings(
    # supabase 2.34 passes its own default timeouts through deprecated parameters
    "ignore:The 'timeout' parameter is deprecated:DeprecationWarning",
    "ignore:The 'verify' parameter is deprecated:DeprecationWarning",
)

SETUP = [
    "CREATE TABLE public.authors (id INTEGER PRIMARY KEY, name TEXT NOT NULL, data JSONB)",
    "CREATE TABLE public.books (id INTEGER PRIMARY KEY, title TEXT NOT NULL,"
    " author_id INTEGER REFERENCES public.authors(id), pages INTEGER, genre TEXT)",
    "CREATE TABLE public.todos (id INTEGER PRIMARY KEY, owner TEXT NOT NULL, title TEXT)",
    "INSERT INTO public.authors VALUES (1, 'Ursula', '{\"main\": \"sf\"}'),"
    " (2, 'Terry', '{\"main\": \"fantasy\"}')",
    "INSERT INTO public.books VALUES (1, 'The Dispossessed', 1, 387, 'sf'),"
    " (2, 'The Left Hand of Darkness', 1, 304, 'sf'), (3, 'Small Gods', 2, 284, 'fantasy'),"
    " (4, 'Mort', 2, 243, 'fantasy'), (5, 'Anonymous', NULL, 100, NULL)",
    "INSERT INTO public.todos VALUES (1, 'alice', 'a1'), (2, 'bob', 'b1')",
    "CREATE SCHEMA lib",
    "CREATE TABLE lib.shelves (id INTEGER PRIMARY KEY, label TEXT)",
    "INSERT INTO lib.shelves VALUES (1, 'top')",
    "CREATE FUNCTION public.add_them(a int, b int) RETURNS int LANGUAGE sql IMMUTABLE"
    " AS $$ SELECT a + b $$",
    "CREATE FUNCTION public.books_of(g text) RETURNS TABLE(id int, title text) LANGUAGE sql"
    " STABLE AS $$ SELECT id, title FROM public.books WHERE genre = g ORDER BY id $$",
    "CREATE FUNCTION public.my_todos() RETURNS SETOF public.todos LANGUAGE sql STABLE"
    " AS $$ SELECT * FROM public.todos ORDER BY id $$",
]
POLICIES = [
    {
        "name": "books for all",
        "table": "public.books",
        "actions": ["select"],
        "roles": ["anon", "authenticated"],
        "using": "true",
    },
    {
        "name": "own todos",
        "table": "public.todos",
        "actions": ["select", "update", "delete"],
        "roles": ["authenticated"],
        "using": "owner = auth.uid()",
    },
    {
        "name": "insert own",
        "table": "public.todos",
        "actions": ["insert"],
        "roles": ["authenticated"],
        "check": "owner = auth.uid()",
    },
]


@dataclass
class Project:
    served: ServedProcess
    service: str
    anon: str
    alice: str
    lib_service: str

    def client(self, key: str, **options: Any) -> Client:
        return create_client(self.served.url, key, ClientOptions(**options) if options else None)

    def head(self) -> int:
        health = httpx.get(f"{self.served.url}/healthz").json()
        return int(health["head_lsn"])


def _admin(served: ServedProcess, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(f"{served.url}{path}", json=body, headers=bearer(served.admin_key))
    assert response.status_code in (200, 201), response.text
    found: dict[str, Any] = response.json()
    return found


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    root: Path = tmp_path_factory.mktemp("supabase") / "data"
    with serving(root) as served:
        for sql in SETUP:
            _admin(served, "/query", {"sql": sql})
        for policy in POLICIES:
            _admin(served, "/policy", policy)
        service = _admin(served, "/auth/keys", {"scope": "namespace", "namespace": "public"})
        anon = _admin(served, "/auth/keys", {"scope": "anon", "namespace": "public"})
        alice = _admin(served, "/auth/token", {"sub": "alice", "ns": "public"})
        lib = _admin(served, "/auth/keys", {"scope": "namespace", "namespace": "lib"})
        yield Project(served, service["key"], anon["key"], alice["access_token"], lib["key"])


def ids(response: Any) -> list[int]:
    return sorted(row["id"] for row in response.data)


def test_every_supported_filter(project: Project) -> None:
    books = project.client(project.anon).table("books")
    assert ids(books.select("id").eq("genre", "sf").execute()) == [1, 2]
    assert ids(books.select("id").neq("genre", "sf").execute()) == [3, 4]
    assert ids(books.select("id").gt("pages", 300).execute()) == [1, 2]
    assert ids(books.select("id").gte("pages", 304).execute()) == [1, 2]
    assert ids(books.select("id").lt("pages", 250).execute()) == [4, 5]
    assert ids(books.select("id").lte("pages", 243).execute()) == [4, 5]
    assert ids(books.select("id").like("title", "%Gods").execute()) == [3]
    assert ids(books.select("id").ilike("title", "the%").execute()) == [1, 2]
    assert ids(books.select("id").is_("genre", "null").execute()) == [5]
    assert ids(books.select("id").in_("id", [1, 3, 9]).execute()) == [1, 3]
    assert ids(books.select("id").not_.in_("id", [1, 3]).execute()) == [2, 4, 5]
    assert ids(books.select("id").not_.is_("genre", "null").execute()) == [1, 2, 3, 4]
    assert ids(books.select("id").or_("id.eq.1,pages.lt.250").execute()) == [1, 4, 5]
    assert ids(books.select("id").or_("genre.eq.sf,and(id.gt.3,id.lt.5)").execute()) == [1, 2, 4]
    assert ids(books.select("id").match({"genre": "fantasy", "pages": 243}).execute()) == [4]
    assert ids(books.select("id").filter("genre", "isdistinct", "sf").execute()) == [3, 4, 5]
    assert ids(books.select("id").filter("pages", "in", "(100,243)").execute()) == [4, 5]


def test_regex_and_text_search_filters(project: Project) -> None:
    books = project.client(project.anon).table("books")
    assert ids(books.select("id").filter("title", "match", "^S").execute()) == [3]
    assert ids(books.select("id").filter("title", "imatch", "^(s|m)").execute()) == [3, 4]
    assert ids(books.select("id").text_search("title", "gods").execute()) == [3]
    found = books.select("id").text_search("title", "left darkness", {"type": "plain"}).execute()
    assert ids(found) == [2]
    found = books.select("id").text_search(
        "title", '"small gods" or mort', {"type": "web_search", "config": "english"}
    )
    assert ids(found.execute()) == [3, 4]


def test_unsupported_operators_fail_in_postgrest_shape(project: Project) -> None:
    books = project.client(project.anon).table("books")
    with pytest.raises(APIError) as caught:
        books.select("id").contains("genre", ["sf"]).execute()
    assert caught.value.code == "0A000"


def test_order_range_count_embeds_single(project: Project) -> None:
    client = project.client(project.service)
    ordered = client.table("books").select("id").order("pages", desc=True).execute()
    assert [r["id"] for r in ordered.data] == [1, 2, 3, 4, 5]
    page = client.table("books").select("id", count="exact").order("id").range(1, 2).execute()
    assert [r["id"] for r in page.data] == [2, 3]
    assert page.count == 5
    embedded = (
        client.table("authors")
        .select("name, books(title)")
        .eq("id", 2)
        .order("id", foreign_table="books")
        .execute()
    )
    assert embedded.data == [
        {"name": "Terry", "books": [{"title": "Small Gods"}, {"title": "Mort"}]}
    ]
    to_one = client.table("books").select("title, authors!inner(name)").eq("authors.name", "Ursula")
    assert sorted(r["title"] for r in to_one.execute().data) == [
        "The Dispossessed",
        "The Left Hand of Darkness",
    ]
    json_path = client.table("authors").select("id, data->>main").eq("id", 1).execute()
    assert json_path.data == [{"id": 1, "main": "sf"}]
    counted = client.table("books").select("*", count="exact", head=True).execute()
    assert counted.count == 5
    csv = client.table("books").select("id,genre").in_("id", [4, 5]).order("id").csv().execute()
    assert csv.data == "id,genre\n4,fantasy\n5,\n"
    single = client.table("books").select("title").eq("id", 4).single().execute()
    assert single.data == {"title": "Mort"}
    with pytest.raises(APIError) as caught:
        client.table("books").select("title").single().execute()
    assert caught.value.code == "PGRST116"
    assert client.table("books").select("id").eq("id", 99).maybe_single().execute() is None


def test_writes_with_and_without_returning(project: Project) -> None:
    authors = project.client(project.service).table("authors")
    inserted = authors.insert({"id": 10, "name": "Iain"}).execute()
    assert inserted.data == [{"id": 10, "name": "Iain", "data": None}]
    quiet = authors.insert([{"id": 11, "name": "A"}, {"id": 12, "name": "B"}], returning="minimal")
    assert quiet.execute().data == []
    upserted = authors.upsert({"id": 10, "name": "Iain M."}).execute()
    assert upserted.data[0]["name"] == "Iain M."
    ignored = authors.upsert({"id": 11, "name": "x"}, ignore_duplicates=True).execute()
    assert ignored.data == []
    updated = authors.update({"name": "Banks"}).eq("id", 10).execute()
    assert updated.data == [{"id": 10, "name": "Banks", "data": None}]
    deleted = authors.delete().in_("id", [11, 12]).execute()
    assert sorted(r["id"] for r in deleted.data) == [11, 12]
    assert authors.delete(returning="minimal").eq("id", 10).execute().data == []
    with pytest.raises(APIError) as caught:
        authors.insert({"id": 1, "name": "dup"}).execute()
    assert caught.value.code == "23505"


def test_rls_as_user_and_anon(project: Project) -> None:
    alice = project.client(project.alice)
    assert alice.table("todos").select("owner").execute().data == [{"owner": "alice"}]
    head = project.head()
    with pytest.raises(APIError) as caught:
        alice.table("todos").insert({"id": 7, "owner": "bob"}).execute()
    assert caught.value.code == "42501"
    assert project.head() == head
    assert alice.table("todos").insert({"id": 7, "owner": "alice"}).execute().data
    assert alice.table("todos").update({"title": "x"}).eq("id", 2).execute().data == []
    anon = project.client(project.anon)
    assert anon.table("todos").select("*").execute().data == []
    with pytest.raises(APIError) as refused:
        anon.table("todos").insert({"id": 8, "owner": "anon"}).execute()
    assert refused.value.code == "42501"
    service = project.client(project.service)
    assert len(service.table("todos").select("id").execute().data) == 3


def test_other_schema_through_client_options(project: Project) -> None:
    lib = project.client(project.lib_service, schema="lib")
    assert lib.table("shelves").select("label").execute().data == [{"label": "top"}]
    with pytest.raises(APIError) as caught:
        project.client(project.lib_service).table("shelves").select("*").execute()
    assert caught.value.code == "PGRST106"


def test_bad_input_through_the_client(project: Project) -> None:
    books = project.client(project.service).table("books")
    head = project.head()
    for query, code in (
        (books.select("nope"), "42703"),
        (books.select("id").eq("nope", 1), "42703"),
        (books.select("id,authors(name"), "PGRST100"),
        (books.select("id").or_("id.eq.1,title.eq.x"), None),
        (books.select('id,"x; DROP TABLE books --"'), "42703"),
        (books.select("id::text) FROM todos --"), "PGRST100"),
        (books.select("id").in_("id", list(range(2000))), "PGRST100"),
    ):
        if code is None:
            assert query.execute().data == [{"id": 1}]
            continue
        with pytest.raises(APIError) as caught:
            query.execute()
        assert caught.value.code == code
    assert project.head() == head


def test_rpc_calls_sql_functions_as_the_caller(project: Project) -> None:
    anon = project.client(project.anon)
    assert anon.rpc("add_them", {"a": 2, "b": 40}).execute().data == 42
    assert anon.rpc("add_them", {"a": 2, "b": 40}, get=True).execute().data == 42
    sf = anon.rpc("books_of", {"g": "sf"}).execute().data
    assert sf == [
        {"id": 1, "title": "The Dispossessed"},
        {"id": 2, "title": "The Left Hand of Darkness"},
    ]
    mine = project.client(project.anon, headers={"Authorization": f"Bearer {project.alice}"})
    owners = [row["owner"] for row in mine.rpc("my_todos").execute().data]
    assert owners and set(owners) == {"alice"}  # the function reads with the caller's RLS
    assert anon.rpc("my_todos").execute().data == []  # anon has no todo policy
    with pytest.raises(APIError) as caught:
        anon.rpc("add_them", {"a": 1}).execute()
    assert caught.value.code == "PGRST202"
    with pytest.raises(APIError) as caught:
        anon.rpc("nothing_here", {}).execute()
    assert caught.value.code == "PGRST202"
    with pytest.raises(APIError) as caught:
        anon.rpc("add_them", {"a": "x", "b": 1}, get=True).execute()
    assert caught.value.code == "22P02"
    lib = project.client(project.lib_service)
    with pytest.raises(APIError) as caught:  # the client asks for public: not lib's schema
        lib.rpc("add_them", {"a": 1, "b": 2}).execute()
    assert caught.value.code == "PGRST106"
    with pytest.raises(APIError) as caught:  # in its own schema there is no such function
        project.client(project.lib_service, schema="lib").rpc(
            "add_them", {"a": 1, "b": 2}
        ).execute()
    assert caught.value.code == "PGRST202"
