"""Admission to the reader pool: one namespace's slow statements hold at most its share
of the readers (another namespace is still served at once), and a full queue is refused
at once with 503 UNAVAILABLE and `Retry-After`, never by waiting without bound."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.governance.conftest import RUNAWAY, Background, Tenants, tenants, timed, wait_for

TIMEOUT_S = 3.0


@pytest.fixture
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tenants]:
    env = {
        "BKG_STATEMENT_TIMEOUT": str(TIMEOUT_S),
        "BKG_READERS": "2",
        "BKG_READERS_PER_NAMESPACE": "1",
        "BKG_READER_QUEUE": "2",
    }
    with tenants(tmp_path_factory.mktemp("admission") / "data", env) as served:
        yield served


def test_one_namespace_cannot_hold_every_reader(served: Tenants) -> None:
    first = Background(lambda: served.query(RUNAWAY, served.keys["a"]))
    wait_for(lambda: served.metric("bkg_readers_busy") == 1)
    second = Background(lambda: served.query(RUNAWAY, served.keys["a"]))
    wait_for(lambda: served.metric("bkg_reader_queue_length") == 1)

    other, seconds = timed(lambda: served.query("SELECT v FROM t WHERE id = 1", served.keys["b"]))
    assert other.status_code == 200 and other.json()["rows"] == [["one"]]
    assert seconds < 1.5, seconds  # it did not wait behind namespace a's runaways

    refused = served.query(RUNAWAY, served.keys["a"])
    assert refused.status_code == 503, refused.text
    assert refused.json()["error"]["code"] == "UNAVAILABLE"
    assert int(refused.headers["Retry-After"]) >= 1
    assert served.metric("bkg_reader_admissions_refused_total") == 1

    began = time.monotonic()
    assert first.wait().status_code == 408
    assert second.wait().status_code == 408  # its wait in the queue counted against it
    assert time.monotonic() - began < TIMEOUT_S + 2.5
    assert served.metric("bkg_readers_busy") == 0
