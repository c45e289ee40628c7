"""A real `bkgdb serve` with a namespace ``public`` holding owned todos under row-level
security, its keys and two users' tokens, for the `/realtime/v1/websocket` tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.http.conftest import ServedProcess, bearer, serving

SETUP = [
    "CREATE TABLE public.todos (id INTEGER PRIMARY KEY, owner TEXT NOT NULL, title TEXT,"
    " done BOOLEAN DEFAULT false, meta JSONB)",
    "CREATE TABLE public.notes (id INTEGER PRIMARY KEY, body TEXT)",
    "CREATE SCHEMA other",
    "CREATE TABLE other.secrets (id INTEGER PRIMARY KEY, value TEXT)",
]
POLICIES = [
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
    """The served process and its credentials."""

    served: ServedProcess
    service: str
    anon: str
    other: str
    alice: str
    bob: str

    @property
    def url(self) -> str:
        return self.served.url

    @property
    def ws(self) -> str:
        return self.served.url.replace("http://", "ws://") + "/realtime/v1/websocket"

    def sql(self, sql: str, token: str | None = None) -> dict[str, Any]:
        return admin(self.served, "/query", {"sql": sql}, token)

    def token(self, sub: str, ns: str = "public", **body: Any) -> str:
        found = admin(self.served, "/auth/token", {"sub": sub, "ns": ns, **body})
        return str(found["access_token"])


def admin(
    served: ServedProcess, path: str, body: dict[str, Any], token: str | None = None
) -> dict[str, Any]:
    response = httpx.post(
        f"{served.url}{path}", json=body, headers=bearer(token or served.admin_key)
    )
    assert response.status_code in (200, 201), response.text
    found: dict[str, Any] = response.json()
    return found


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    root: Path = tmp_path_factory.mktemp("realtime_v1") / "data"
    with serving(root) as served:
        for sql in SETUP:
            admin(served, "/query", {"sql": sql})
        for policy in POLICIES:
            admin(served, "/policy", policy)
        service = admin(served, "/auth/keys", {"scope": "namespace", "namespace": "public"})
        anon = admin(served, "/auth/keys", {"scope": "anon", "namespace": "public"})
        other = admin(served, "/auth/keys", {"scope": "namespace", "namespace": "other"})
        alice = admin(served, "/auth/token", {"sub": "alice", "ns": "public"})
        bob = admin(served, "/auth/token", {"sub": "bob", "ns": "public"})
        yield Project(
            served, service["key"], anon["key"], other["key"], alice["access_token"],
            bob["access_token"],
        )  # fmt: skip
