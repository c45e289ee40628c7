"""A real `bkgdb serve` process for the HTTP scenarios, and request kinds as load peers.

The server runs as a separate process (as it would in production), bound to a free loopback
port, with rate limits off. Each load thread keeps one HTTP/1.1 keep-alive connection
(`http.client`, the lightest client in the standard library, so the client's own cost stays
small next to the server's). A request that does not answer 200 fails the measurement.
"""

from __future__ import annotations

import http.client
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from bench.errors import PeerFailedError
from bench.load import Throughput, Write, measure
from bench.model import Figure, figure_key
from bench.sizing import rounds

ROWS = 1000
NAMESPACE = "bench"
OWNER = "u1"
SETUP = [
    f"CREATE SCHEMA {NAMESPACE}",
    f"CREATE TABLE {NAMESPACE}.items (id bigint PRIMARY KEY, owner text NOT NULL, v text)",
    f"INSERT INTO {NAMESPACE}.items (id, owner, v) WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL"
    f" SELECT n + 1 FROM s WHERE n < {ROWS}) SELECT n, '{OWNER}', 'value-' || n FROM s",
    f"CREATE TABLE {NAMESPACE}.log (id bigint PRIMARY KEY, v text)",
]
POLICY = {
    "name": "own items",
    "table": f"{NAMESPACE}.items",
    "actions": ["select"],
    "using": "owner = auth.uid()",
}
POINT_SELECT = f"SELECT id, owner, v FROM {NAMESPACE}.items WHERE id = $1"
INSERT = f"INSERT INTO {NAMESPACE}.log (id, v) VALUES ($1, $2)"

Request = Callable[[http.client.HTTPConnection, int], None]


class Server:
    """A served, initialised data directory with the bench rows, an admin key and a user
    token of the policy's owner."""

    def __init__(self, port: int, admin_key: str, process: subprocess.Popen[bytes]) -> None:
        self.port = port
        self.admin_key = admin_key
        self.process = process
        self.user_token = ""

    def call(self, method: str, path: str, body: Any = None, token: str | None = None) -> Any:
        """One request on a fresh connection (set-up only); the decoded JSON answer."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            return _request(conn, method, path, body, token or self.admin_key)
        finally:
            conn.close()


@contextmanager
def running_server(*flags: str) -> Iterator[Server]:
    """Initialise a scratch directory, start `bkgdb serve` on it (with extra `flags`), load
    the bench rows."""
    with tempfile.TemporaryDirectory(prefix="bkg-bench-http-") as scratch:
        root = Path(scratch) / "data"
        cli = [sys.executable, "-m", "api.cli", "--data-dir", str(root)]
        init = subprocess.run([*cli, "init", "--json"], capture_output=True, check=True)
        admin_key = json.loads(init.stdout)["admin_key"]
        port = _free_port()
        rate_off = ["--rate-limit", "admin=off", "--rate-limit", "user=off"]
        command = [*cli, "serve", "--port", str(port), *rate_off, *flags]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        server = Server(port, admin_key, process)
        try:
            _wait_until_up(server)
            for sql in SETUP:
                server.call("POST", "/query", {"sql": sql})
            server.call("POST", "/policy", POLICY)
            body = {"sub": OWNER, "ns": NAMESPACE, "ttl_seconds": 24 * 3600}
            server.user_token = server.call("POST", "/auth/token", body)["access_token"]
            yield server
        finally:
            stop_server(process)


def namespace_key(server: Server) -> str:
    """A namespace key of the bench namespace: Supabase's service_role there."""
    created = server.call("POST", "/auth/keys", {"scope": "namespace", "namespace": NAMESPACE})
    key: str = created["key"]
    return key


class Reachable(Protocol):
    """A server on a loopback port: ours, or a peer such as PocketBase."""

    @property
    def port(self) -> int:
        """The TCP port it listens on at 127.0.0.1."""
        ...


class HttpPeer:
    """One kind of request as a load peer: each thread gets its own keep-alive connection."""

    def __init__(self, name: str, server: Reachable, request: Request) -> None:
        self.name = name
        self._server = server
        self._request = request
        self._tickets = itertools.count(1)

    @contextmanager
    def session(self) -> Iterator[Write]:
        conn = http.client.HTTPConnection("127.0.0.1", self._server.port, timeout=60)

        def write(_: bytes) -> None:
            self._request(conn, next(self._tickets))

        try:
            yield write
        finally:
            conn.close()


def measure_best(
    peers: dict[str, HttpPeer], concurrency: tuple[int, ...], requests: int, quick: bool
) -> dict[tuple[str, int], Throughput]:
    """Every peer at every concurrency point, peers interleaved within a point; the best of
    a few rounds is kept for each (see `bench.sizing.rounds`)."""
    measured: dict[tuple[str, int], Throughput] = {}
    for clients in concurrency:
        for _ in range(rounds(quick=quick)):
            for name, peer in peers.items():
                found = measure(peer, clients, requests)
                best = measured.get((name, clients))
                if best is None or found.per_second > best.per_second:
                    measured[name, clients] = found
    return measured


def healthz(conn: http.client.HTTPConnection, _: int) -> None:
    _request(conn, "GET", "/healthz", None, None)


def point_select(token: str) -> Request:
    """A primary-key SELECT of one of the bench rows as the bearer of `token`."""

    def request(conn: http.client.HTTPConnection, ticket: int) -> None:
        key = ticket % ROWS + 1
        answer = _request(conn, "POST", "/query", {"sql": POINT_SELECT, "params": [key]}, token)
        if len(answer["rows"]) != 1:
            raise PeerFailedError(f"point select of {key} returned {answer['rows']!r}")

    return request


def insert(token: str) -> Request:
    """A single-row INSERT (one durable log record) with a fresh key."""
    prefix = os.getpid() * 10_000_000 + int(time.time() * 1000) % 1_000_000 * 10

    def request(conn: http.client.HTTPConnection, ticket: int) -> None:
        body = {"sql": INSERT, "params": [prefix + ticket, "x" * 100]}
        _request(conn, "POST", "/query", body, token)

    return request


def _request(
    conn: http.client.HTTPConnection, method: str, path: str, body: Any, token: str | None
) -> Any:
    status, data = send(conn, method, path, body, token)
    if status not in (200, 201):
        raise PeerFailedError(f"{method} {path} answered {status}: {data[:200]!r}")
    return json.loads(data)


def send(
    conn: http.client.HTTPConnection, method: str, path: str, body: Any, token: str | None
) -> tuple[int, bytes]:
    """One request on `conn`: its status and raw body, whatever the status."""
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    payload = None if body is None else json.dumps(body).encode()
    conn.request(method, path, body=payload, headers=headers)
    response = conn.getresponse()
    return response.status, response.read()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_until_up(server: Server) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            _, err = server.process.communicate()
            raise PeerFailedError(f"bkgdb serve exited: {err.decode(errors='replace')[-500:]}")
        try:
            server.call("GET", "/healthz")
            return
        except OSError:
            time.sleep(0.1)
    raise PeerFailedError("bkgdb serve did not come up within 60 s")


def stop_server(process: subprocess.Popen[bytes]) -> None:
    """Stop a `bkgdb serve` process: SIGTERM for a clean stop, a kill after 30 s."""
    process.send_signal(signal.SIGTERM)
    try:
        process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()


def throughput_figures(measured: dict[tuple[str, int], Throughput]) -> dict[str, Figure]:
    """Requests/s, median and 99th-percentile latency of every kind at every point."""
    figures: dict[str, Figure] = {}
    for (kind, c), t in measured.items():
        figures[figure_key(kind, c)] = Figure(t.per_second, "requests/s")
        figures[figure_key(f"{kind}_p50", c)] = Figure(t.p50_ms, "ms p50 latency")
        figures[figure_key(f"{kind}_p99", c)] = Figure(t.p99_ms, "ms p99 latency")
    return figures
