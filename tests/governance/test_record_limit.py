"""A transaction whose log record is over the log's `max_record_bytes` is the client's
error -- 413 LIMIT_EXCEEDED naming the limit, SQL `LimitExceededError` embedded -- appends
nothing, and leaves the commit pipeline taking writes (before: 503 "retry later" forever)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.database import Database, DatabaseOptions
from api.datadir import DataDir
from api.initialise import initialise
from api.sql.errors import LimitExceededError
from eventlog import LogOptions
from tests.http.conftest import Api, make_data_dir, open_api

LIMIT = 64 * 1024
INSERT = "INSERT INTO t (id, body) VALUES ($1, $2)"


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    for served in open_api(make_data_dir(tmp_path)):
        log = served.backend.db.log
        log.options = dataclasses.replace(log.options, max_record_bytes=LIMIT)
        served.ok("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)")
        yield served


def test_an_oversized_record_is_a_413_and_appends_nothing(api: Api) -> None:
    before = api.head
    for _ in range(3):  # the same answer every time: never "retry later"
        response = api.query(INSERT, params=[1, "x" * (2 * LIMIT)])
        assert response.status_code == 413, response.text
        error = response.json()["error"]
        assert error["code"] == "LIMIT_EXCEEDED"
        assert error["detail"] == {"limit": "max_record_bytes", "value": LIMIT}
        assert api.head == before
    assert api.rows("SELECT count(*) FROM t") == [[0]]
    api.ok(INSERT, params=[2, "small"])
    assert api.rows("SELECT id FROM t") == [[2]]
    assert api.head == before + 1


def test_an_oversized_batch_is_refused_whole(api: Api) -> None:
    before = api.head
    statements = [{"sql": INSERT, "params": [i, "y" * (LIMIT // 4)]} for i in range(8)]
    response = api.client.post(
        "/query",
        json={"statements": statements},
        headers={"Authorization": f"Bearer {api.admin_key}"},
    )
    assert response.status_code == 413, response.text
    assert api.head == before
    assert api.rows("SELECT count(*) FROM t") == [[0]]


def test_embedded_oversized_record_raises_limit_exceeded(tmp_path: Path) -> None:
    root = tmp_path / "data"
    initialise(DataDir(root), 1 << 20)
    options = DatabaseOptions(log_options=LogOptions(max_record_bytes=LIMIT))
    with Database.open(root, options) as db:
        db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)")
        head = db.log.head_lsn
        with pytest.raises(LimitExceededError) as raised:
            db.execute(INSERT, [1, "z" * (2 * LIMIT)])
        assert raised.value.detail == {"limit": "max_record_bytes", "value": LIMIT}
        assert raised.value.sqlstate == "54000"
        assert db.log.head_lsn == head
        assert db.execute(INSERT, [2, "ok"]).lsn == head + 1
        assert db.execute("SELECT id FROM t").rows == [[2]]
