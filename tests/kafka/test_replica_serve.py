"""`bkgdb replica --serve`: a replica process built from `bkg.log` answers `/query` over HTTP
like the primary at the same LSN, with the primary's keys, and refuses writes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.http.conftest import Api, bearer, make_data_dir, open_api
from tests.kafka.brokers import TansuBroker, free_port
from tests.kafka.test_mirror import start_mirror

PRIMARY_URL = "http://primary.example:8080"
WAIT_S = 30.0
QUERIES = (
    "SELECT id, owner, title FROM shop.todos ORDER BY id",
    "SELECT owner, count(*) FROM shop.todos GROUP BY owner ORDER BY owner",
    "SELECT t.title, n.body FROM shop.todos t JOIN shop.notes n ON n.todo_id = t.id ORDER BY 1",
)


class Replica:
    """A `bkgdb replica --serve` process and its base URL."""

    def __init__(self, process: subprocess.Popen[bytes], url: str) -> None:
        self.process, self.url = process, url

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


@pytest.fixture
def primary(tmp_path: Path, broker: TansuBroker) -> Iterator[Api]:
    for api in open_api(make_data_dir(tmp_path)):
        runner = start_mirror(api.backend.db, broker.bootstrap)
        try:
            api.setup_shop()
            yield api
        finally:
            runner.stop()


@pytest.fixture
def replica(tmp_path: Path, broker: TansuBroker, primary: Api) -> Iterator[Replica]:
    port = free_port()
    secret = (tmp_path / "data" / "keys" / "jwt_secret").read_text().strip()
    args = ["--data-dir", str(tmp_path / "replica"), "replica", "--json", "--serve"]
    args += ["--kafka-bootstrap", broker.bootstrap, "--port", str(port)]
    args += ["--primary-url", PRIMARY_URL]
    log = (tmp_path / "replica.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "api.cli", *args],
        stdout=subprocess.PIPE,
        stderr=log,
        env={**os.environ, "BKG_JWT_SECRET": secret},
    )
    try:
        assert process.stdout is not None
        started = json.loads(process.stdout.readline())
        yield Replica(process, started["url"])
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0, (tmp_path / "replica.log").read_text()
        log.close()
        if process.stdout is not None:
            process.stdout.close()


def same_answers(primary: Api, replica: Replica, token: str) -> None:
    for sql in QUERIES:
        mine = primary.ok(sql, token)
        theirs = replica.query(sql, token)
        assert theirs.status_code == 200, theirs.text
        assert theirs.json() == mine, sql


def test_replica_answers_like_the_primary_and_refuses_writes(
    primary: Api, replica: Replica
) -> None:
    replica.wait_for(primary.head)
    same_answers(primary, replica, primary.admin_key)
    shop_key = primary.create_key("namespace", "shop")["key"]
    alice = primary.user_token("alice")
    primary.ok("INSERT INTO shop.todos (id, owner, title) VALUES (4, 'alice', 'a3')")
    primary.ok("UPDATE shop.todos SET title = 'done' WHERE id = 1")
    primary.ok("DELETE FROM shop.notes WHERE id = 2")
    replica.wait_for(primary.head)
    for token in (primary.admin_key, shop_key, alice):
        same_answers(primary, replica, token)
    mine = [row[0] for row in primary.rows(QUERIES[0], alice)]
    assert mine == [1, 2, 4]
    secrets = replica.query("SELECT * FROM other.secrets", shop_key)
    assert secrets.status_code == primary.query("SELECT * FROM other.secrets", shop_key).status_code
    assert secrets.status_code in (403, 404)

    write = replica.query("INSERT INTO shop.todos (id, owner) VALUES (9, 'x')", primary.admin_key)
    assert write.status_code == 503
    error: dict[str, Any] = write.json()["error"]
    assert error["code"] == "UNAVAILABLE" and error["detail"] == {"primary": PRIMARY_URL}
    batch = httpx.post(
        f"{replica.url}/query",
        json={"statements": [{"sql": "SELECT 1"}, {"sql": "DELETE FROM shop.notes"}]},
        headers=bearer(primary.admin_key),
    )
    assert batch.status_code == 503
    assert replica.query(QUERIES[0], "bkg_nope").status_code == 401
    past = httpx.post(
        f"{replica.url}/query",
        json={"sql": QUERIES[0], "as_of_lsn": 2},
        headers=bearer(primary.admin_key),
    )
    assert past.status_code == 501, past.text
    schema = primary.client.get("/schema", headers=bearer(shop_key)).json()
    assert schema["tables"]
    assert httpx.get(f"{replica.url}/schema", headers=bearer(shop_key)).json() == schema
    assert replica.applied() == primary.head
    assert len(primary.rows("SELECT * FROM shop.notes")) == 1
