"""Deadlines at the `Database` API, the level every door (HTTP, a wire protocol) uses:
reads, the write work inside the commit pipeline and `as_of_lsn` replay are cancelled,
change nothing, and leave the database serving."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.database import ADMIN_CONTEXT, Database
from api.datadir import DataDir
from api.initialise import initialise
from api.sql.errors import QueryCanceledError
from projections import deadline as deadline_module
from projections.deadline import (
    DEMOTE_AFTER_S,
    SHUTDOWN_MESSAGE,
    TIMEOUT_MESSAGE,
    USER_MESSAGE,
    WATCHDOG,
    Deadline,
)
from tests.governance.conftest import RUNAWAY, RUNAWAY_INSERT


def _open(tmp_path: Path) -> Database:
    initialise(DataDir(tmp_path / "data"), 1 << 20)
    db = Database.open(tmp_path / "data")
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    db.execute("INSERT INTO t (id, v) VALUES (1, 'one')")
    return db


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    with _open(tmp_path) as db:
        yield db


def _cancelled(db: Database, sql: str, **kwargs: object) -> tuple[str, float]:
    began = time.monotonic()
    with pytest.raises(QueryCanceledError) as caught:
        db.execute(sql, **kwargs)  # type: ignore[arg-type]
    assert caught.value.sqlstate == "57014"
    return caught.value.message, time.monotonic() - began


def test_a_read_stops_at_its_timeout(db: Database) -> None:
    message, seconds = _cancelled(db, RUNAWAY, timeout=0.3)
    assert message == TIMEOUT_MESSAGE
    assert 0.3 <= seconds < 3
    assert db.execute("SELECT v FROM t").rows == [["one"]]


def test_the_embedded_default_has_no_deadline_and_options_give_one(db: Database) -> None:
    assert db.statement_timeout_s is None
    db.statement_timeout_s = 0.2
    _, seconds = _cancelled(db, RUNAWAY)
    assert seconds < 3


def test_a_deadline_can_be_cancelled_from_another_thread(db: Database) -> None:
    deadline = Deadline()
    threading.Timer(0.3, deadline.cancel).start()
    message, seconds = _cancelled(db, RUNAWAY, deadline=deadline)
    assert message == USER_MESSAGE
    assert seconds < 3


def test_cancel_all_stops_running_and_later_statements(db: Database) -> None:
    threading.Timer(0.3, db.cancel_all).start()
    message, _ = _cancelled(db, RUNAWAY)
    assert message == SHUTDOWN_MESSAGE
    assert _cancelled(db, "SELECT 1")[0] == SHUTDOWN_MESSAGE
    assert db.running.cancelled[SHUTDOWN_MESSAGE] == 2


def test_a_cancelled_write_appends_nothing(db: Database) -> None:
    head = db.log.head_lsn
    _cancelled(db, RUNAWAY_INSERT, timeout=0.3)
    assert db.log.head_lsn == head
    assert db.execute("INSERT INTO t (id, v) VALUES (2, 'two')").lsn == head + 1
    assert db.execute("SELECT count(*) FROM t").rows == [[2]]


def test_a_cancelled_write_keeps_the_writes_committed_with_it(tmp_path: Path) -> None:
    """SQLite rolls back the whole open transaction of an interrupted write, the earlier
    jobs of its group included; they are logged already and must survive."""
    db = _open(tmp_path)
    head = db.log.head_lsn
    earlier = db._write_work(
        ADMIN_CONTEXT, [("INSERT INTO t (id, v) VALUES (5, 'x')", None)], Deadline()
    )

    def slow(conn: object, submit: object) -> object:
        value = earlier(conn, submit)  # type: ignore[arg-type]
        time.sleep(0.3)  # the runaway is queued behind, in the same group
        return value

    first = db.pipeline.submit(slow)
    runaway = db.pipeline.submit(
        db._write_work(ADMIN_CONTEXT, [(RUNAWAY_INSERT, None)], Deadline(0.5))
    )
    assert first.result(timeout=30).lsn == head + 1
    with pytest.raises(QueryCanceledError):
        runaway.result(timeout=30)
    assert db.pipeline.broken is None
    assert db.execute("SELECT id FROM t ORDER BY id").rows == [[1], [5]]
    assert db.execute("INSERT INTO t (id, v) VALUES (6, 'y')").lsn == head + 2
    db.close()
    with Database.open(db.data.root) as again:
        assert again.execute("SELECT id FROM t ORDER BY id").rows == [[1], [5], [6]]


def test_as_of_lsn_replay_is_cancelled_and_caches_nothing(db: Database) -> None:
    for i in range(300):
        db.execute("INSERT INTO t (id, v) VALUES ($1, 'r')", [100 + i])
    target = db.log.head_lsn - 1
    with pytest.raises(QueryCanceledError):
        db.execute("SELECT count(*) FROM t", as_of_lsn=target, timeout=0.005)
    assert target not in db.time_travel.cached_lsns()  # stopped before the state was built
    assert db.execute("SELECT count(*) FROM t", as_of_lsn=target).rows == [[300]]


def test_a_long_read_runs_at_the_lowest_cpu_priority_until_it_ends(db: Database) -> None:
    """The watchdog demotes a read that has run past `DEMOTE_AFTER_S` (so a tenant's
    runaway takes only spare CPU) and the thread gets its priority back afterwards."""
    seen: dict[str, int] = {}

    def run() -> None:
        seen["thread"] = threading.get_native_id()
        seen["before"] = os.sched_getscheduler(seen["thread"])
        _cancelled(db, RUNAWAY, timeout=1.5)
        seen["after"] = os.sched_getscheduler(seen["thread"])

    reader = threading.Thread(target=run)
    reader.start()
    time.sleep(DEMOTE_AFTER_S + 0.5)
    during = os.sched_getscheduler(seen["thread"])
    reader.join(10)
    assert during == os.SCHED_IDLE
    assert seen["after"] == seen["before"] == os.SCHED_OTHER


def test_an_owner_whose_read_timed_out_starts_its_next_reads_demoted(db: Database) -> None:
    """After one of its reads ran out its deadline, a tenant's reads are under SCHED_IDLE
    from their first step (a runaway sent again and again never runs at normal priority);
    another tenant's are not."""
    with pytest.raises(QueryCanceledError):
        db.execute(RUNAWAY, deadline=Deadline(0.2, owner="hostile"))
    policies: dict[str, int] = {}

    def policy_of(owner: str) -> None:
        conn = db.store.acquire()
        try:
            with Deadline(5, owner=owner).watching(conn.conn):
                policies[owner] = os.sched_getscheduler(threading.get_native_id())
        finally:
            db.store.release(conn)

    for owner in ("hostile", "calm"):
        reader = threading.Thread(target=policy_of, args=(owner,))
        reader.start()
        reader.join(10)
    assert policies == {"hostile": os.SCHED_IDLE, "calm": os.SCHED_OTHER}


def test_a_read_after_the_watchdog_went_idle_is_still_watched(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The watchdog blocks once no read has run for a while, and the next read wakes it
    (a runaway read then still stops at its deadline), however often that happens."""
    monkeypatch.setattr(deadline_module, "IDLE_AFTER_S", 0.05)
    for _ in range(3):
        db.execute("SELECT v FROM t")
        time.sleep(0.3)
        assert not WATCHDOG.awake
        message, seconds = _cancelled(db, RUNAWAY, timeout=0.2)
        assert message == TIMEOUT_MESSAGE and seconds < 3
