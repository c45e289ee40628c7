"""/rest/v1 statements run under the caller's deadline: a read or write that runs past it is
PostgREST's 500 with SQLSTATE 57014, and nothing is appended."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.http.conftest import Api, make_data_dir, open_api


@pytest.fixture
def slow(tmp_path: Path) -> Iterator[tuple[Api, str]]:
    for api in open_api(make_data_dir(tmp_path), kind_timeouts_s={"namespace": 0.05}):
        api.ok("CREATE TABLE big (id INTEGER PRIMARY KEY, v TEXT)")
        api.ok("INSERT INTO big SELECT g, 'row ' || g FROM generate_series(1, 100000) AS t(g)")
        yield api, api.create_key("namespace", "public")["key"]


def test_runaway_reads_and_writes_are_cancelled(slow: tuple[Api, str]) -> None:
    api, key = slow
    head = api.head
    headers = {"apikey": key, "Prefer": "count=exact"}
    read = api.client.get("/rest/v1/big?select=id&v=like.*9*9*9*9*x&order=v.desc", headers=headers)
    assert read.status_code == 500
    assert read.json()["code"] == "57014"
    write = api.client.patch(
        "/rest/v1/big?v=like.*9*9*9*9*", json={"v": "x"}, headers={"apikey": key}
    )
    assert write.status_code == 500
    assert write.json()["code"] == "57014"
    assert api.head == head
    quick = api.client.get("/rest/v1/big?id=eq.7&select=v", headers={"apikey": key})
    assert quick.json() == [{"v": "row 7"}]
