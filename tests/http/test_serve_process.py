"""End to end through a real `bkgdb serve` process on a loopback port: requests over TCP,
one server per directory (a second one fails naming the holder), clean stop on SIGTERM."""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.cli.runner import bkgdb as _bkgdb
from tests.http.conftest import free_port as _free_port
from tests.http.conftest import serving


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, str, str, subprocess.Popen[str]]]:
    with serving(tmp_path / "data") as server:
        yield server.root, server.url, server.admin_key, server.process


def test_real_server_round_trip_and_single_writer(
    served: tuple[Path, str, str, subprocess.Popen[str]],
) -> None:
    root, url, admin_key, process = served
    headers = {"Authorization": f"Bearer {admin_key}"}
    with httpx.Client(base_url=url, headers=headers, timeout=10) as client:
        for sql in (
            "CREATE SCHEMA shop",
            "CREATE TABLE shop.todos (id INTEGER PRIMARY KEY, owner TEXT, title TEXT)",
            "INSERT INTO shop.todos (id, owner, title) VALUES (1, 'alice', 'a'), (2, 'bob', 'b')",
        ):
            assert client.post("/query", json={"sql": sql}).status_code == 200
        policy = {
            "name": "own",
            "table": "shop.todos",
            "actions": ["select"],
            "using": "owner = auth.uid()",
        }
        assert client.post("/policy", json=policy).status_code == 201
        token = client.post("/auth/token", json={"sub": "alice", "ns": "shop"}).json()[
            "access_token"
        ]
        as_user = client.post(
            "/query",
            json={"sql": "SELECT id FROM todos"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert as_user.json()["rows"] == [[1]]
        assert (
            client.post(
                "/query", content=b"{", headers={"content-type": "application/json"}
            ).status_code
            == 400
        )
        assert httpx.get(f"{url}/query", timeout=5).status_code in (401, 405)
        assert "bkg_log_head_lsn" in client.get("/metrics").text

    second = _bkgdb(root, "serve", "--port", str(_free_port()), timeout=30)
    assert second.returncode != 0
    assert "held by another writer" in second.stderr
    assert f"pid {process.pid}" in second.stderr

    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=20)
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr
    after = _bkgdb(root, "sql", "--json", "SELECT count(*) FROM shop.todos")
    assert after.returncode == 0, after.stderr
    assert json.loads(after.stdout)["rows"] == [[2]]
