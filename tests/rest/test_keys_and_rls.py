"""Who may do what through /rest/v1: anon keys and users under row-level security, the
namespace key as the service role, profiles as namespaces, and the key headers."""

from __future__ import annotations

from tests.http.conftest import bearer
from tests.rest.conftest import Library


def test_anon_key_reads_what_anon_policies_allow(lib: Library) -> None:
    notices = lib.get("notices?select=body", key=lib.anon)
    assert notices.status_code == 200
    assert notices.json() == [{"body": "open day"}]
    assert len(lib.get("books", key=lib.anon).json()) == 5
    assert lib.get("todos", key=lib.anon).json() == []
    assert lib.get("authors", key=lib.anon).json() == []


def test_anon_writes_without_policy_are_401(lib: Library) -> None:
    head = lib.api.head
    refused = lib.request("POST", "todos", key=lib.anon, json={"id": 9, "owner": "x"})
    assert refused.status_code == 401
    assert refused.json()["code"] == "42501"
    assert lib.api.head == head


def test_user_sees_and_changes_only_own_rows(lib: Library) -> None:
    mine = lib.get("todos?select=id&order=id", key=lib.anon, headers=bearer(lib.alice))
    assert mine.json() == [{"id": 1}, {"id": 2}]
    bobs = lib.get("todos?select=id", key=lib.anon, headers=bearer(lib.bob))
    assert bobs.json() == [{"id": 3}]
    head = lib.api.head
    foreign = lib.request(
        "POST", "todos", key=lib.anon, headers=bearer(lib.alice), json={"id": 7, "owner": "bob"}
    )
    assert foreign.status_code == 403
    assert foreign.json()["code"] == "42501"
    assert lib.api.head == head
    own = lib.request(
        "POST", "todos", key=lib.anon, headers=bearer(lib.alice), json={"id": 7, "owner": "alice"}
    )
    assert own.status_code == 201, own.text
    untouched = lib.request(
        "PATCH",
        "todos?id=eq.3",
        key=lib.alice,
        json={"title": "mine now"},
        headers={"Prefer": "return=representation"},
    )
    assert untouched.json() == []
    assert lib.get("todos?id=eq.3&select=title").json() == [{"title": "b1"}]


def test_namespace_key_is_the_service_role(lib: Library) -> None:
    assert len(lib.get("todos").json()) == 3
    assert lib.get("notices").status_code == 200
    assert len(lib.get("notices").json()) == 2


def test_profiles_choose_namespaces(lib: Library) -> None:
    other = lib.get("books", headers={"Accept-Profile": "other"})
    assert other.status_code == 406
    assert other.json()["code"] == "PGRST106"
    write = lib.request("POST", "secrets", json={"id": 2}, headers={"Content-Profile": "other"})
    assert write.status_code == 406
    admin = lib.api.admin_key
    secrets = lib.get("secrets", key=admin, headers={"Accept-Profile": "other"})
    assert secrets.json() == [{"id": 1, "value": "top secret"}]
    assert lib.get("books", key=admin).status_code == 404  # admin's default is public
    assert lib.get("books", key=admin, headers={"Accept-Profile": "lib"}).status_code == 200
    unknown = lib.get("books", key=admin, headers={"Accept-Profile": "nowhere"})
    assert unknown.status_code == 406


def test_keys_from_either_header(lib: Library) -> None:
    assert lib.api.client.get("/rest/v1/books", headers=bearer(lib.service)).status_code == 200
    missing = lib.api.client.get("/rest/v1/books")
    assert missing.status_code == 401
    assert set(missing.json()) == {"code", "message", "details", "hint"}
    bad = lib.get("books", key="bkg_anon_" + "x" * 40)
    assert bad.status_code == 401


def test_anon_keys_are_created_per_namespace_and_manage_nothing(lib: Library) -> None:
    client = lib.api.client
    by_namespace_key = client.post(
        "/auth/keys", json={"scope": "anon", "namespace": "lib"}, headers=bearer(lib.service)
    )
    assert by_namespace_key.status_code == 201
    assert by_namespace_key.json()["key"].startswith("bkg_anon_")
    elsewhere = client.post(
        "/auth/keys", json={"scope": "anon", "namespace": "other"}, headers=bearer(lib.service)
    )
    assert elsewhere.status_code == 403
    no_namespace = client.post(
        "/auth/keys", json={"scope": "anon"}, headers=bearer(lib.api.admin_key)
    )
    assert no_namespace.status_code == 422
    for path, body in (
        ("/auth/keys", {"scope": "anon", "namespace": "lib"}),
        ("/auth/token", {"sub": "mallory"}),
        ("/policy", {"name": "p", "table": "lib.todos", "actions": ["select"], "using": "true"}),
    ):
        assert client.post(path, json=body, headers=bearer(lib.anon)).status_code == 403
    ddl = lib.api.query("CREATE TABLE lib.x (id INTEGER PRIMARY KEY)", lib.anon)
    assert ddl.status_code == 403
    via_query = lib.api.rows("SELECT body FROM notices", lib.anon)
    assert via_query == [["open day"]]


def test_embedded_tables_are_filtered_by_their_own_policies(lib: Library) -> None:
    books = lib.get("books?select=id,authors(name)&order=id", key=lib.anon).json()
    assert [b["authors"] for b in books] == [None] * 5  # no anon policy on authors
    assert lib.get("books?select=id,authors!inner(name)", key=lib.anon).json() == []
    hidden = lib.get("authors?select=name,books(id)", key=lib.anon).json()
    assert hidden == []
    ordered = lib.get(
        "books?select=id&order=authors(name).desc&authors.name=eq.Terry", key=lib.anon
    )
    assert ordered.status_code == 400  # ordering by an embed that is not selected


def test_writes_are_recorded_as_their_caller(lib: Library) -> None:
    created = lib.request(
        "POST", "todos", key=lib.anon, headers=bearer(lib.alice), json={"id": 8, "owner": "alice"}
    )
    assert created.status_code == 201
    record = lib.api.last_record()
    assert (record.kind, record.actor, record.namespace) == ("dml", "user:alice", "lib")
    assert [c["table"] for c in record.payload["changes"]] == ["lib.todos"]
