"""A real `bkgdb serve` process on a free loopback port, and a small SSE reader over httpx.

One server serves the whole package (starting one costs seconds on this machine); every test
works on tables of its own. Before it starts, the fixture writes a few changes, stops and
takes a checkpoint offline, so that resuming from LSN 1 reaches behind every checkpoint.
Rate limits are off: a thousand subscriptions in a second are the point of one test.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

STARTUP_S = 60.0
CLI = [sys.executable, "-m", "api.cli"]
RATE_OFF = ["--rate-limit", "admin=off", "--rate-limit", "namespace=off"]
RATE_OFF += ["--rate-limit", "user=off"]
EARLY_ROWS = 3


@dataclass
class Event:
    """One server-sent event (comments, the heartbeats, are skipped by the reader)."""

    id: str | None
    event: str
    data: dict[str, Any]


@dataclass
class Stream:
    """Events of one open `/realtime` response, read with a deadline."""

    response: httpx.Response
    lines: Iterator[str]
    ids: list[str] = field(default_factory=list)

    def next(self, timeout: float = 10.0) -> Event:
        """The next event; fails when none arrives within `timeout`."""
        event = self.poll(timeout)
        if event is None:
            raise AssertionError(f"no event within {timeout} s (after {self.ids[-3:]})")
        return event

    def poll(self, timeout: float) -> Event | None:
        """The next event, or None after `timeout` (checked between lines: subscribe with
        a short heartbeat so that an idle stream still yields lines)."""
        deadline = time.monotonic() + timeout
        fields: dict[str, str] = {}
        data: list[str] = []
        while time.monotonic() < deadline:
            line = next(self.lines)
            if line.startswith(":"):
                continue
            if line:
                name, _, value = line.partition(":")
                value = value.removeprefix(" ")
                if name == "data":
                    data.append(value)
                else:
                    fields[name] = value
            elif data:
                event = Event(fields.get("id"), fields.get("event", "message"), json.loads(data[0]))
                if event.id is not None:
                    self.ids.append(event.id)
                return event
        return None

    def take(self, count: int, timeout: float = 20.0) -> list[Event]:
        deadline = time.monotonic() + timeout
        return [self.next(max(0.1, deadline - time.monotonic())) for _ in range(count)]


@dataclass
class Server:
    """The served directory: URL, admin key, the process, and its data directory."""

    url: str
    admin_key: str
    process: subprocess.Popen[bytes]
    root: Path
    client: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=30))

    def post(self, path: str, body: Any, token: str | None = None) -> Any:
        headers = {"Authorization": f"Bearer {token or self.admin_key}"}
        response = self.client.post(f"{self.url}{path}", json=body, headers=headers)
        assert response.status_code in (200, 201), response.text
        return response.json()

    def ok(self, sql: str, token: str | None = None, params: Any = None) -> dict[str, Any]:
        body: dict[str, Any] = {"sql": sql} if params is None else {"sql": sql, "params": params}
        answer: dict[str, Any] = self.post("/query", body, token)
        return answer

    def namespace_key(self, namespace: str) -> str:
        created = self.post("/auth/keys", {"scope": "namespace", "namespace": namespace})
        return str(created["key"])

    def user_token(self, namespace_key: str, sub: str) -> str:
        answer = self.post("/auth/token", {"sub": sub}, namespace_key)
        return str(answer["access_token"])

    @contextmanager
    def subscribe(
        self, token: str | None = None, last_id: str | None = None, **params: Any
    ) -> Iterator[Stream]:
        """An open `/realtime` stream (token in the header unless given as a parameter)."""
        headers = (
            {}
            if "access_token" in params
            else {"Authorization": f"Bearer {token or self.admin_key}"}
        )
        if last_id is not None:
            headers["Last-Event-ID"] = last_id
        timeout = httpx.Timeout(30.0, read=15.0)
        with httpx.stream(
            "GET", f"{self.url}/realtime", params=params, headers=headers, timeout=timeout
        ) as response:
            assert response.status_code == 200, response.read().decode()
            yield Stream(response, response.iter_lines())

    def refused(self, token: str | None = None, **params: Any) -> httpx.Response:
        """A `/realtime` request expected to fail before streaming."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = self.client.get(f"{self.url}/realtime", params=params, headers=headers)
        assert response.status_code != 200
        return response

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError("no VmRSS")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _bkgdb(root: Path, *args: str) -> str:
    done = subprocess.run(
        [*CLI, "--data-dir", str(root), *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@contextmanager
def _serving(root: Path, admin_key: str) -> Iterator[Server]:
    port = _free_port()
    command = [*CLI, "--data-dir", str(root), "serve", "--port", str(port), *RATE_OFF]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    server = Server(f"http://127.0.0.1:{port}", admin_key, process, root)
    try:
        deadline = time.monotonic() + STARTUP_S
        while True:
            assert process.poll() is None, process.communicate()[1].decode()[-800:]
            assert time.monotonic() < deadline, "bkgdb serve did not come up"
            try:
                if server.client.get(f"{server.url}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield server
    finally:
        server.client.close()
        process.send_signal(signal.SIGTERM)
        try:
            process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            raise


@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("realtime") / "data"
    admin_key = json.loads(_bkgdb(root, "init", "--json"))["admin_key"]
    with _serving(root, admin_key) as first:
        first.ok("CREATE TABLE early (id INTEGER PRIMARY KEY, v TEXT)")
        for i in range(EARLY_ROWS):
            first.ok("INSERT INTO early (id, v) VALUES ($1, $2)", params=[i, f"v{i}"])
    _bkgdb(root, "checkpoint")
    assert list((root / "checkpoints").iterdir()), "the checkpoint was not taken"
    with _serving(root, admin_key) as served:
        yield served
