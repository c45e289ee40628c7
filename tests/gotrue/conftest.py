"""A real `bkgdb serve` with end-user accounts: owned todos under row-level security in two
namespaces (`public`, `lib`), their anon and service (namespace) keys, and a webhook
receiver that collects `user.recovery_requested` deliveries."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from supabase import Client, ClientOptions, create_client

from api.auth.webhook import SIGNATURE_HEADER, verify_signature
from tests.http.conftest import ServedProcess, bearer, serving

SECRET = "accounts-webhook-secret"
SETUP = [
    "CREATE TABLE public.todos (id INTEGER PRIMARY KEY, owner TEXT NOT NULL, title TEXT)",
    "CREATE SCHEMA lib",
    "CREATE TABLE lib.todos (id INTEGER PRIMARY KEY, owner TEXT NOT NULL, title TEXT)",
]
POLICIES = [
    {
        "name": f"own todos {ns}",
        "table": f"{ns}.todos",
        "actions": ["select", "update", "delete"],
        "roles": ["authenticated"],
        "using": "owner = auth.uid()",
    }
    for ns in ("public", "lib")
] + [
    {
        "name": f"insert own {ns}",
        "table": f"{ns}.todos",
        "actions": ["insert"],
        "roles": ["authenticated"],
        "check": "owner = auth.uid() AND auth.jwt() ->> 'role' = 'authenticated'",
    }
    for ns in ("public", "lib")
]
SERVE_ARGS = [
    "--rate-limit", "anon=off", "--rate-limit", "namespace=off", "--rate-limit", "user=off",
    "--rate-limit", "sign_in_email=5",
]  # fmt: skip


class Hooks(BaseHTTPRequestHandler):
    """Collects webhook deliveries (checked signatures only)."""

    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if verify_signature(SECRET.encode(), self.headers[SIGNATURE_HEADER], body):
            type(self).received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return


@dataclass
class Project:
    served: ServedProcess
    keys: dict[str, str]
    """`anon`, `service` (namespace key) of `public`; `lib_anon`, `lib_service` of `lib`."""
    hooks: list[dict[str, Any]] = field(default_factory=list)

    def client(self, key: str) -> Client:
        options = ClientOptions(auto_refresh_token=False, persist_session=False)
        return create_client(self.served.url, self.keys[key], options)

    def head(self) -> int:
        return int(httpx.get(f"{self.served.url}/healthz").json()["head_lsn"])

    def auth(self, method: str, path: str, key: str = "anon", **kw: Any) -> httpx.Response:
        headers = {"apikey": self.keys[key], **kw.pop("headers", {})}
        return httpx.request(method, f"{self.served.url}/auth/v1/{path}", headers=headers, **kw)

    def hook(self, event: str, email: str, timeout_s: float = 5.0) -> dict[str, Any]:
        """The data of the webhook `event` delivered for `email` (waiting for it)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for delivered in list(self.hooks):
                if delivered["type"] == event and delivered["data"]["email"] == email:
                    data: dict[str, Any] = delivered["data"]
                    return data
            time.sleep(0.05)
        raise AssertionError(f"no {event} webhook for {email}")


def admin_post(served: ServedProcess, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(f"{served.url}{path}", json=body, headers=bearer(served.admin_key))
    assert response.status_code in (200, 201), response.text
    found: dict[str, Any] = response.json()
    return found


@pytest.fixture(scope="module")
def hooks() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    Hooks.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hooks)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", Hooks.received
    server.shutdown()
    server.server_close()


def set_up(served: ServedProcess) -> dict[str, str]:
    """Tables, policies and keys; the keys by name."""
    for sql in SETUP:
        admin_post(served, "/query", {"sql": sql})
    for policy in POLICIES:
        admin_post(served, "/policy", policy)
    keys = {}
    for name, scope, ns in (
        ("anon", "anon", "public"), ("service", "namespace", "public"),
        ("lib_anon", "anon", "lib"), ("lib_service", "namespace", "lib"),
    ):  # fmt: skip
        keys[name] = admin_post(served, "/auth/keys", {"scope": scope, "namespace": ns})["key"]
    return keys


@pytest.fixture(scope="module")
def project(
    tmp_path_factory: pytest.TempPathFactory, hooks: tuple[str, list[dict[str, Any]]]
) -> Iterator[Project]:
    url, received = hooks
    root: Path = tmp_path_factory.mktemp("accounts") / "data"
    args = [*SERVE_ARGS, "--webhook-url", url, "--webhook-secret", SECRET]
    with serving(root, args=args) as served:
        yield Project(served, set_up(served), received)
