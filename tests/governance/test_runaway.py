"""A runaway statement is cancelled at its deadline (408 QUERY_CANCELED, nothing changed),
and while it runs the server keeps answering everyone else quickly: the event loop is
free (`/healthz`), another tenant's reads have readers, and writes resume once it ends."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from tests.governance.conftest import (
    RUNAWAY,
    RUNAWAY_INSERT,
    Background,
    Tenants,
    tenants,
    timed,
)

TIMEOUT_S = 2.0
SLACK_S = 2.5  # timeout + 1 s is the goal; the rest is for a loaded test machine
QUICK_S = 1.0


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tenants]:
    root = tmp_path_factory.mktemp("runaway") / "data"
    with tenants(root, {"BKG_STATEMENT_TIMEOUT": str(TIMEOUT_S)}) as served:
        yield served


def _canceled(response: httpx.Response) -> None:
    assert response.status_code == 408, response.text
    error = response.json()["error"]
    assert error["code"] == "QUERY_CANCELED"
    assert error["message"] == "canceling statement due to statement timeout"


def test_a_users_runaway_read_is_cancelled_while_others_are_served(served: Tenants) -> None:
    runaway = Background(lambda: served.query(RUNAWAY, served.users["a"]))
    time.sleep(0.3)  # let it start
    checks = 0
    while runaway.response is None and runaway.error is None:
        health, seconds = timed(lambda: httpx.get(f"{served.url}/healthz", timeout=10))
        assert health.status_code == 200 and seconds < QUICK_S, seconds
        other, seconds = timed(
            lambda: served.query("SELECT v FROM t WHERE id = 2", served.users["b"])
        )
        assert other.status_code == 200 and seconds < QUICK_S, seconds
        assert other.json()["rows"] == [["two"]]
        checks += 1
        time.sleep(0.1)
    assert checks >= 3, "the other requests did not overlap the runaway"
    _canceled(runaway.wait())
    assert runaway.seconds < TIMEOUT_S + SLACK_S
    assert served.metric('bkg_statements_cancelled_total{reason="timeout"}') >= 1


def test_a_runaway_insert_select_appends_nothing_and_writes_resume(served: Tenants) -> None:
    head = served.head_lsn()
    runaway = Background(lambda: served.query(RUNAWAY_INSERT, served.users["a"]))
    time.sleep(0.3)
    write = Background(
        lambda: served.query("INSERT INTO t (id, v) VALUES (10, 'ten')", served.keys["b"])
    )
    health, seconds = timed(lambda: httpx.get(f"{served.url}/healthz", timeout=10))
    assert health.status_code == 200 and seconds < QUICK_S
    _canceled(runaway.wait())
    assert runaway.seconds < TIMEOUT_S + SLACK_S
    assert write.wait().status_code == 200, write.response
    assert write.seconds < TIMEOUT_S + SLACK_S
    assert served.head_lsn() == head + 1  # the other tenant's write alone
    rows = served.query("SELECT count(*) FROM t WHERE id > 1000", served.keys["a"]).json()["rows"]
    assert rows == [[0]]
    after = served.query("INSERT INTO t (id, v) VALUES (11, 'x')", served.users["a"])
    assert after.status_code == 200, after.text


def test_timeout_ms_lowers_the_deadline_and_never_raises_it(served: Tenants) -> None:
    lowered = Background(lambda: served.query(RUNAWAY, served.keys["a"], timeout_ms=300))
    _canceled(lowered.wait())
    assert lowered.seconds < TIMEOUT_S  # the server's 2 s did not apply
    raised = Background(lambda: served.query(RUNAWAY, served.keys["a"], timeout_ms=600_000))
    _canceled(raised.wait())
    assert raised.seconds < TIMEOUT_S + SLACK_S


@pytest.mark.parametrize("value", [0, -5, 1.5, "100", True, 86_400_001])
def test_a_bad_timeout_ms_is_refused(served: Tenants, value: object) -> None:
    head = served.head_lsn()
    response = served.query(
        "INSERT INTO t (id, v) VALUES (99, 'x')", served.keys["a"], timeout_ms=value
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert served.head_lsn() == head
