"""A served data directory (the `tests/http` fixtures) with a small library in namespace
`lib`: authors, books referencing them, reviews referencing books, and owned todos under
row-level security for users and anon keys."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.http.conftest import Api, make_data_dir, open_api

LIBRARY = [
    "CREATE SCHEMA lib",
    "CREATE SCHEMA other",
    "CREATE TABLE lib.authors (id INTEGER PRIMARY KEY, name TEXT NOT NULL, born INTEGER,"
    " data JSONB)",
    "CREATE TABLE lib.books (id INTEGER PRIMARY KEY, title TEXT NOT NULL,"
    " author_id INTEGER REFERENCES lib.authors(id), pages INTEGER, genre TEXT)",
    "CREATE TABLE lib.reviews (id INTEGER PRIMARY KEY, book_id INTEGER REFERENCES lib.books(id),"
    " stars INTEGER, body TEXT)",
    "CREATE TABLE lib.todos (id INTEGER PRIMARY KEY, owner TEXT NOT NULL, title TEXT,"
    " done BOOLEAN DEFAULT false)",
    "CREATE TABLE lib.notices (id INTEGER PRIMARY KEY, body TEXT, public BOOLEAN)",
    "CREATE TABLE other.secrets (id INTEGER PRIMARY KEY, value TEXT)",
    'INSERT INTO lib.authors VALUES (1, \'Ursula\', 1929, \'{"tags": {"main": "sf"}}\'),'
    " (2, 'Terry', 1948, '{\"tags\": {\"main\": \"fantasy\"}}'), (3, 'Nobody', NULL, NULL)",
    "INSERT INTO lib.books VALUES (1, 'The Dispossessed', 1, 387, 'sf'),"
    " (2, 'The Left Hand of Darkness', 1, 304, 'sf'), (3, 'Small Gods', 2, 284, 'fantasy'),"
    " (4, 'Mort', 2, 243, 'fantasy'), (5, 'Anonymous', NULL, 100, NULL)",
    "INSERT INTO lib.reviews VALUES (1, 1, 5, 'great'), (2, 1, 4, 'good'), (3, 3, 5, 'funny')",
    "INSERT INTO lib.todos (id, owner, title) VALUES (1, 'alice', 'a1'), (2, 'alice', 'a2'),"
    " (3, 'bob', 'b1')",
    "INSERT INTO lib.notices VALUES (1, 'open day', true), (2, 'staff only', false)",
    "INSERT INTO other.secrets VALUES (1, 'top secret')",
]
POLICIES = [
    {
        "name": "own todos",
        "table": "lib.todos",
        "actions": ["select", "update", "delete"],
        "roles": ["authenticated"],
        "using": "owner = auth.uid()",
    },
    {
        "name": "insert own todos",
        "table": "lib.todos",
        "actions": ["insert"],
        "roles": ["authenticated"],
        "check": "owner = auth.uid()",
    },
    {
        "name": "public notices",
        "table": "lib.notices",
        "actions": ["select"],
        "roles": ["anon", "user"],
        "using": "public = true",
    },
    {
        "name": "anyone reads books",
        "table": "lib.books",
        "actions": ["select"],
        "roles": ["anon", "user"],
        "using": "true",
    },
]


@dataclass
class Library:
    """The served API and the credentials of each kind of caller."""

    api: Api
    service: str
    anon: str
    alice: str
    bob: str

    def request(self, method: str, path: str, key: str | None = None, **kw: Any) -> httpx.Response:
        headers = {"apikey": key or self.service, **kw.pop("headers", {})}
        return self.api.client.request(method, f"/rest/v1/{path}", headers=headers, **kw)

    def get(self, path: str, key: str | None = None, **kw: Any) -> httpx.Response:
        return self.request("GET", path, key, **kw)


def setup_library(api: Api) -> Library:
    for sql in LIBRARY:
        api.ok(sql)
    for policy in POLICIES:
        api.add_policy(policy)
    return Library(
        api,
        api.create_key("namespace", "lib")["key"],
        api.create_key("anon", "lib")["key"],
        api.user_token("alice", "lib"),
        api.user_token("bob", "lib"),
    )


@pytest.fixture
def lib(tmp_path: Path) -> Iterator[Library]:
    for api in open_api(make_data_dir(tmp_path)):
        yield setup_library(api)
