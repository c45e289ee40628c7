"""A real `bkgdb serve` with object storage, and the official `supabase` client for each
kind of caller: the namespace key (service role), the anon key, users alice and bob (their
JWTs beside the anon key, as an application sends them) and another namespace's key."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from supabase import Client, ClientOptions, create_client

from tests.http.conftest import ServedProcess, bearer, serving

OWN_FOLDER = {
    "name": "own folder",
    "table": "storage.objects",
    "actions": ["select", "insert", "update", "delete"],
    "roles": ["user"],
    "using": "starts_with(name, auth.uid() || '/')",
    "check": "starts_with(name, auth.uid() || '/')",
}


@dataclass
class Project:
    served: ServedProcess
    service: str
    anon: str
    alice: str
    bob: str
    other: str

    @property
    def url(self) -> str:
        return self.served.url

    def client(self, key: str, user_jwt: str | None = None) -> Client:
        """A supabase client with `key` as its API key (and a user's JWT as bearer)."""
        headers = {} if user_jwt is None else {"Authorization": f"Bearer {user_jwt}"}
        return create_client(self.url, key, ClientOptions(headers=headers))

    def head(self) -> int:
        return int(httpx.get(f"{self.url}/healthz").json()["head_lsn"])

    def raw(self, method: str, path: str, key: str | None = None, **kw: Any) -> httpx.Response:
        """A plain HTTP request to `/storage/v1/<path>` (with `key` as apikey and bearer)."""
        headers = {} if key is None else {"apikey": key, **bearer(key)}
        headers.update(kw.pop("headers", {}))
        return httpx.request(method, f"{self.url}/storage/v1/{path}", headers=headers, **kw)


def admin_post(served: ServedProcess, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(f"{served.url}{path}", json=body, headers=bearer(served.admin_key))
    assert response.status_code in (200, 201), response.text
    found: dict[str, Any] = response.json()
    return found


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    root: Path = tmp_path_factory.mktemp("storage_v1") / "data"
    with serving(root) as served:
        admin_post(served, "/query", {"sql": "CREATE SCHEMA other"})
        admin_post(served, "/policy", OWN_FOLDER)
        keys = [
            admin_post(served, "/auth/keys", {"scope": scope, "namespace": ns})["key"]
            for scope, ns in (("namespace", "public"), ("anon", "public"), ("namespace", "other"))
        ]
        alice, bob = (
            admin_post(served, "/auth/token", {"sub": sub, "ns": "public"})["access_token"]
            for sub in ("alice", "bob")
        )
        yield Project(served, keys[0], keys[1], alice, bob, keys[2])
