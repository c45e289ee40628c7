"""A served data directory behind Litestar's in-process TestClient, with helpers to set up
namespaces, rows, keys, policies and user tokens through the HTTP API itself."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Generator, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import TestClient

from api.datadir import DataDir
from api.http import Backend, ServerConfig, create_app
from api.initialise import initialise
from api.settings import Settings
from api.storage.settings import StorageSettings
from api.wiring import open_primary
from eventlog import Record
from tests.cli.runner import bkgdb

UNLIMITED: dict[str, float] = {}

SHOP_SETUP = [
    "CREATE SCHEMA shop",
    "CREATE SCHEMA other",
    "CREATE TABLE shop.todos (id INTEGER PRIMARY KEY, owner TEXT NOT NULL, title TEXT)",
    "CREATE TABLE shop.notes (id INTEGER PRIMARY KEY, todo_id INTEGER, body TEXT)",
    "CREATE TABLE other.secrets (id INTEGER PRIMARY KEY, value TEXT)",
    "INSERT INTO shop.todos (id, owner, title) VALUES (1, 'alice', 'a1'), (2, 'alice', 'a2'),"
    " (3, 'bob', 'b1')",
    "INSERT INTO shop.notes (id, todo_id, body) VALUES (1, 1, 'n1'), (2, 3, 'n3')",
    "INSERT INTO other.secrets (id, value) VALUES (1, 'top secret')",
]
SHOP_POLICIES = [
    {
        "name": "own",
        "table": "shop.todos",
        "actions": ["select", "update", "delete"],
        "using": "owner = auth.uid()",
    },
    {
        "name": "insert own",
        "table": "shop.todos",
        "actions": ["insert"],
        "check": "owner = auth.uid()",
    },
]


CLI = [sys.executable, "-m", "api.cli"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class ServedProcess:
    root: Path
    url: str
    admin_key: str
    process: subprocess.Popen[str]


@contextmanager
def serving(
    root: Path,
    env: Mapping[str, str] | None = None,
    admin_key: str | None = None,
    args: Sequence[str] = (),
) -> Iterator[ServedProcess]:
    """A real `bkgdb serve` process on `root` (with `env` added to the environment and
    `args` to its flags), up and answering `/healthz`; killed afterwards if still running.
    `root` is initialised first unless its `admin_key` is given (a directory served
    before)."""
    if admin_key is None:
        init = bkgdb(root, "init", "--json")
        assert init.returncode == 0, init.stderr
        admin_key = json.loads(init.stdout)["admin_key"]
    port = free_port()
    process = subprocess.Popen(
        [*CLI, "--data-dir", str(root), "serve", "--port", str(port), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert process.poll() is None, process.communicate()[1]
        assert time.monotonic() < deadline, "server did not come up"
        time.sleep(0.1)
    try:
        yield ServedProcess(root, url, admin_key, process)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class Api:
    """The client, the backend behind it and the admin key of a fresh data directory."""

    def __init__(self, client: TestClient[Any], backend: Backend, admin_key: str) -> None:
        self.client, self.backend, self.admin_key = client, backend, admin_key

    @property
    def head(self) -> int:
        return self.backend.db.log.head_lsn

    def last_record(self) -> Record:
        return next(iter(self.backend.db.log.read(self.head)))

    def query(self, sql: str, token: str | None = None, **body: Any) -> httpx.Response:
        return self.client.post(
            "/query", json={"sql": sql, **body}, headers=bearer(token or self.admin_key)
        )

    def ok(self, sql: str, token: str | None = None, **body: Any) -> dict[str, Any]:
        response = self.query(sql, token, **body)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def rows(self, sql: str, token: str | None = None, **body: Any) -> list[list[Any]]:
        rows: list[list[Any]] = self.ok(sql, token, **body)["rows"]
        return rows

    def create_key(
        self, scope: str, namespace: str | None = None, token: str | None = None
    ) -> dict[str, Any]:
        body = {"scope": scope, "namespace": namespace}
        response = self.client.post(
            "/auth/keys", json=body, headers=bearer(token or self.admin_key)
        )
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    def user_token(self, sub: str, ns: str = "shop", **claims: Any) -> str:
        body: dict[str, Any] = {"sub": sub, "ns": ns}
        if claims:
            body["claims"] = claims
        response = self.client.post("/auth/token", json=body, headers=bearer(self.admin_key))
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token

    def add_policy(self, policy: dict[str, Any], token: str | None = None) -> None:
        response = self.client.post("/policy", json=policy, headers=bearer(token or self.admin_key))
        assert response.status_code == 201, response.text

    def setup_shop(self) -> None:
        for sql in SHOP_SETUP:
            self.ok(sql)
        for policy in SHOP_POLICIES:
            self.add_policy(policy)


def open_api(root: Path, **config: Any) -> Generator[Api, None, None]:
    """Serve an initialised directory in-process until the generator is closed."""
    admin_key = (root / "admin_key").read_text()
    options: dict[str, Any] = {"rate_limits": UNLIMITED, **config}
    backend = open_backend(root, **options)
    try:
        with TestClient(create_app(backend), raise_server_exceptions=False) as client:
            yield Api(client, backend, admin_key)
    finally:
        backend.close()


def open_backend(root: Path, **config: Any) -> Backend:
    """The backend `bkgdb serve` would build for `root` (storage settings from the
    environment), without consumers or archive."""
    settings = Settings(ServerConfig(data_dir=root, **config), StorageSettings.from_env())
    return open_primary(settings)


def make_data_dir(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    admin_key = initialise(DataDir(root), 1 << 20)["admin_key"]
    (tmp_path / "data" / "admin_key").write_text(admin_key)
    return root


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    yield from open_api(make_data_dir(tmp_path))


@pytest.fixture
def shop(api: Api) -> Api:
    api.setup_shop()
    return api


def serve_shop(tmp_path: Path) -> Generator[Api, None, None]:
    """A served directory with the shop data and policies (for tests outside tests/http)."""
    for api in open_api(make_data_dir(tmp_path)):
        api.setup_shop()
        yield api
