"""A `bkgdb replica --serve` process for tests: started on a free port, followed to an LSN,
queried, subscribed to (with the realtime tests' SSE client), stopped or killed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from bench.peers.kafka import free_port
from tests.http.conftest import bearer
from tests.realtime.conftest import Server

PRIMARY_URL = "http://primary.example:8080"
WAIT_S = 30.0


class Replica:
    """A `bkgdb replica --serve` process and its base URL."""

    def __init__(self, process: subprocess.Popen[bytes], url: str, root: Path) -> None:
        self.process, self.url, self.root = process, url, root

    def applied(self) -> int:
        answer = httpx.get(f"{self.url}/healthz", timeout=5).json()
        assert answer["head_lsn"] == answer["applied_lsn"]
        lsn: int = answer["applied_lsn"]
        return lsn

    def wait_for(self, lsn: int) -> None:
        """Until the replica answers and has applied `lsn` (it binds after printing)."""
        deadline = time.monotonic() + WAIT_S
        while True:
            assert self.process.poll() is None, "the replica exited"
            try:
                if self.applied() >= lsn:
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"the replica did not reach LSN {lsn}"
            time.sleep(0.05)

    def query(self, sql: str, token: str) -> httpx.Response:
        return httpx.post(f"{self.url}/query", json={"sql": sql}, headers=bearer(token), timeout=10)

    @contextmanager
    def sse(self, admin_key: str) -> Iterator[Server]:
        """The replica as the realtime tests' `Server`, for their `/realtime` client."""
        server = Server(self.url, admin_key, self.process, self.root)
        try:
            yield server
        finally:
            server.client.close()


def jwt_secret(tmp_path: Path) -> str:
    """The project secret of the primary in `tmp_path / "data"`, which a replica needs to
    accept the primary's user tokens."""
    return (tmp_path / "data" / "keys" / "jwt_secret").read_text().strip()


@contextmanager
def running_replica(
    root: Path, bootstrap: str, jwt_secret: str, log_path: Path, *args: str
) -> Iterator[Replica]:
    """A replica process of `root` following `bootstrap`, stopped with SIGTERM (and checked
    to exit cleanly) unless the test killed it."""
    command = ["--data-dir", str(root), "replica", "--json", "--serve"]
    command += ["--kafka-bootstrap", bootstrap, "--port", str(free_port())]
    command += ["--primary-url", PRIMARY_URL, *args]
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "api.cli", *command],
            stdout=subprocess.PIPE,
            stderr=log,
            env={**os.environ, "BKG_JWT_SECRET": jwt_secret},
        )
        try:
            assert process.stdout is not None
            started = json.loads(process.stdout.readline())
            yield Replica(process, started["url"], root)
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                assert process.wait(timeout=15) == 0, log_path.read_text()
            if process.stdout is not None:
                process.stdout.close()
