"""One real `bkgdb serve --pg-port` process for the suite, with the shop data and policies
(tests/http's SHOP_SETUP), a namespace key and user tokens, set up through the HTTP API."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.http.conftest import SHOP_POLICIES, SHOP_SETUP, ServedProcess, bearer, free_port, serving

PSQL = "/usr/lib/postgresql/15/bin/psql"


@dataclass
class Pg:
    """The served process, its pgwire port and the credentials the tests use."""

    served: ServedProcess
    port: int
    namespace_key: str
    alice: str
    bob: str

    @property
    def admin_key(self) -> str:
        return self.served.admin_key

    def dsn(self, password: str, database: str = "shop", user: str = "tester") -> str:
        return f"postgresql://{user}:{password}@127.0.0.1:{self.port}/{database}"

    def http(self, sql: str, token: str | None = None) -> dict[str, Any]:
        response = httpx.post(
            f"{self.served.url}/query",
            json={"sql": sql},
            headers=bearer(token or self.admin_key),
            timeout=10,
        )
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def head(self) -> int:
        response = httpx.get(f"{self.served.url}/healthz", timeout=5)
        return int(response.json()["head_lsn"])

    def audit(self, lsn: int) -> dict[str, Any]:
        """The audit line of the record at `lsn` (the audit consumer follows the log)."""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            response = httpx.get(
                f"{self.served.url}/audit",
                params={"from_lsn": lsn, "to_lsn": lsn},
                headers=bearer(self.admin_key),
            )
            assert response.status_code == 200, response.text
            items: list[dict[str, Any]] = response.json()["items"]
            if items:
                return items[0]
            time.sleep(0.1)
        raise AssertionError(f"no audit line for LSN {lsn}")

    def psql(
        self, password: str, *args: str, database: str = "shop", stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "PGPASSWORD": password, "PGCONNECT_TIMEOUT": "5"}
        command = [PSQL, "-X", "-v", "VERBOSITY=verbose", "-h", "127.0.0.1", "-p", str(self.port)]
        return subprocess.run(
            [*command, "-U", "tester", "-d", database, *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            timeout=20,
            check=False,
        )


def _setup(served: ServedProcess) -> tuple[str, str, str]:
    client = httpx.Client(base_url=served.url, headers=bearer(served.admin_key), timeout=10)
    for sql in SHOP_SETUP:
        assert client.post("/query", json={"sql": sql}).status_code == 200
    for policy in SHOP_POLICIES:
        assert client.post("/policy", json=policy).status_code == 201
    key = client.post("/auth/keys", json={"scope": "namespace", "namespace": "shop"})
    assert key.status_code == 201, key.text
    tokens = [
        client.post("/auth/token", json={"sub": sub, "ns": "shop"}).json()["access_token"]
        for sub in ("alice", "bob")
    ]
    return key.json()["key"], tokens[0], tokens[1]


@pytest.fixture(scope="session")
def pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pg]:
    root: Path = tmp_path_factory.mktemp("pgwire") / "data"
    port = free_port()
    args = ["--pg-port", str(port), "--pg-max-connections", "20"]
    args += ["--rate-limit", "user=off", "--rate-limit", "namespace=off"]
    with serving(root, args=args) as served:
        namespace_key, alice, bob = _setup(served)
        yield Pg(served, port, namespace_key, alice, bob)
