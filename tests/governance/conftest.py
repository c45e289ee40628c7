"""Governance tests run against a real `bkgdb serve` process (the event loop, the reader
pool, signals and the process's memory are what they check) or an in-process app.

`Tenants` holds two namespaces, `a` and `b`, each with a table `t` of a few rows, a
namespace key, a user token (policy: every row visible) and an insert policy."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.http.conftest import ServedProcess, bearer, serving

RUNAWAY = (
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT x FROM c WHERE x < 0"
)
RUNAWAY_INSERT = (
    "INSERT INTO t (id, v) WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c)"
    " SELECT x + 1000, 'r' FROM c WHERE x < 0"
)


@dataclass
class Tenants:
    server: ServedProcess
    keys: dict[str, str]
    users: dict[str, str]

    @property
    def url(self) -> str:
        return self.server.url

    def query(self, sql: str, token: str, timeout: float = 60, **body: Any) -> httpx.Response:
        return httpx.post(
            f"{self.url}/query", json={"sql": sql, **body}, headers=bearer(token), timeout=timeout
        )

    def metric(self, name: str) -> float:
        """The sum of a metric's samples whose line starts with `name` (labels included)."""
        text = httpx.get(f"{self.url}/metrics", timeout=10).text
        pattern = re.compile(rf"^{re.escape(name)}(?:\{{[^}}]*\}})? (\S+)$", re.MULTILINE)
        return sum(float(value) for value in pattern.findall(text))

    def head_lsn(self) -> int:
        lsn: int = httpx.get(f"{self.url}/healthz", timeout=10).json()["head_lsn"]
        return lsn


def setup_tenants(server: ServedProcess) -> Tenants:
    admin = bearer(server.admin_key)
    keys: dict[str, str] = {}
    users: dict[str, str] = {}
    with httpx.Client(base_url=server.url, headers=admin, timeout=30) as client:
        for ns in ("a", "b"):
            for sql in (
                f"CREATE SCHEMA {ns}",
                f"CREATE TABLE {ns}.t (id INTEGER PRIMARY KEY, v TEXT)",
                f"INSERT INTO {ns}.t (id, v) VALUES (1, 'one'), (2, 'two'), (3, 'three')",
            ):
                assert client.post("/query", json={"sql": sql}).status_code == 200, sql
            for name, actions in (("read", ["select"]), ("write", ["insert"])):
                policy: dict[str, Any] = {
                    "name": f"{ns} {name}",
                    "table": f"{ns}.t",
                    "actions": actions,
                    "roles": ["user"],
                }
                policy["using" if name == "read" else "check"] = "true"
                assert client.post("/policy", json=policy).status_code == 201
            created = client.post("/auth/keys", json={"scope": "namespace", "namespace": ns})
            keys[ns] = created.json()["key"]
            token = client.post("/auth/token", json={"sub": f"u-{ns}", "ns": ns})
            users[ns] = token.json()["access_token"]
    return Tenants(server, keys, users)


@contextmanager
def tenants(root: Path, env: Mapping[str, str]) -> Iterator[Tenants]:
    """A served directory with tenants `a` and `b`, under the governance settings `env`."""
    with serving(root, env) as server:
        yield setup_tenants(server)


class Background:
    """Run a call on a thread and keep its result, its exception and how long it took."""

    def __init__(self, call: Callable[[], httpx.Response]) -> None:
        self.response: httpx.Response | None = None
        self.error: BaseException | None = None
        self.seconds = 0.0
        self._call = call
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        began = time.monotonic()
        try:
            self.response = self._call()
        except BaseException as exc:
            self.error = exc
        self.seconds = time.monotonic() - began

    def join(self, timeout: float = 60) -> None:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the request did not finish"

    def wait(self, timeout: float = 60) -> httpx.Response:
        self.join(timeout)
        assert self.error is None, self.error
        assert self.response is not None
        return self.response


def wait_for(condition: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.05)


def timed(call: Callable[[], httpx.Response]) -> tuple[httpx.Response, float]:
    began = time.monotonic()
    response = call()
    return response, time.monotonic() - began
