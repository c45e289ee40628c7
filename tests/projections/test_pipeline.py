"""The commit pipeline: serialised, pipelined with group commit, visible only when durable."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import pytest

from eventlog import AppendError, Entry, EventLog, Pending, Record
from projections.apply import apply_changes
from projections.errors import AppendFailedError, FoldError, PipelineClosedError
from projections.folds import Event, FoldRegistry, fold_sql
from projections.pipeline import CommitPipeline, Committed, Submit, event_work
from tests.projections.projkit import Env, create_table, insert, rows, sql_entry


def sql_work(*changes: dict[str, Any]) -> Any:
    def work(conn: sqlite3.Connection, submit: Submit) -> str:
        apply_changes(conn, changes)
        submit(sql_entry(*changes))
        return "done"

    return work


@dataclass
class GatedLog:
    """The real log, with durability notices held back while `gate` is closed, and appends
    failing from the `fail_from`-th submit on (as the log does after a failed write)."""

    log: EventLog
    gate: threading.Event = field(default_factory=threading.Event)
    fail_from: int | None = None
    submitted: int = 0
    next_lsn: int = 0

    @property
    def head_lsn(self) -> int:
        return self.log.head_lsn

    def read(self, from_lsn: int = 1, to_lsn: int | None = None) -> Iterator[Record]:
        return self.log.read(from_lsn, to_lsn)

    def sync(self, through_lsn: int) -> None:
        self.log.sync(through_lsn)

    def stage(self, entry: Entry) -> Pending:
        self.submitted += 1
        if self.fail_from is not None and self.submitted >= self.fail_from:
            self.next_lsn += 1
            failed = Pending(self.next_lsn, 0, b"")
            failed.future.set_exception(AppendError("disk full"))
            return failed
        real = self.log.stage(entry)
        self.next_lsn = real.lsn
        held: Future[int] = Future()

        def release(done: Future[int]) -> None:
            threading.Thread(target=self._release, args=(done, held)).start()

        real.future.add_done_callback(release)
        return Pending(real.lsn, real.ts_us, real.body, held)

    def _release(self, done: Future[int], held: Future[int]) -> None:
        self.gate.wait()
        held.set_result(done.result())


def test_nothing_is_visible_before_it_is_durable(env: Env) -> None:
    env.log.append(sql_entry(create_table()))
    store = env.open_store()
    gated = GatedLog(env.log)
    pipeline = CommitPipeline(store, gated, env.registry)
    try:
        futures = [pipeline.submit(sql_work(insert(i, f"r{i}"))) for i in range(1, 6)]
        env.log.wait_for(7, timeout=5)
        assert env.log.head_lsn == 7  # durable in the log already ...
        with store.snapshot() as snap:  # ... but not acknowledged, so not visible
            assert (snap.lsn, rows(snap.conn)) == (2, [])
        assert not any(f.done() for f in futures)
        gated.gate.set()
        assert [f.result(5).lsn for f in futures] == [3, 4, 5, 6, 7]
        with store.snapshot() as snap:
            assert snap.lsn == 7 and len(rows(snap.conn)) == 5
    finally:
        gated.gate.set()
        pipeline.close()
        store.close()


def test_a_job_that_submits_nothing_waits_for_what_it_saw_and_gets_its_lsn(env: Env) -> None:
    env.log.append(sql_entry(create_table()))
    store = env.open_store()
    gated = GatedLog(env.log)
    pipeline = CommitPipeline(store, gated, env.registry)

    def look(conn: sqlite3.Connection, submit: Submit) -> int:
        return len(rows(conn))

    try:
        first = pipeline.submit(look)
        assert first.result(5) == Committed(0, 2)  # nothing in flight: the applied LSN
        written = pipeline.submit(sql_work(insert(1, "a")))
        seen = pipeline.submit(look)
        env.log.wait_for(3, timeout=5)
        assert not seen.done()  # it saw record 3, which is not durable yet
        gated.gate.set()
        assert written.result(5).lsn == 3
        assert seen.result(5) == Committed(1, 3)
        assert env.log.head_lsn == 3
    finally:
        gated.gate.set()
        pipeline.close()
        store.close()


def test_concurrent_writers_get_gapless_lsns_in_commit_order(env: Env) -> None:
    env.log.append(sql_entry(create_table()))
    store = env.open_store()
    commits: list[tuple[int, int, int]] = []
    pipeline = CommitPipeline(store, env.log, env.registry, on_commit=lambda *a: commits.append(a))
    results: list[int] = []

    def writer(base: int) -> None:
        for i in range(base, base + 25):
            results.append(pipeline.submit(sql_work(insert(i, "x"))).result(10).lsn)

    _in_threads(writer, 8)
    pipeline.close()
    try:
        assert sorted(results) == list(range(3, 203))
        assert sum(c[1] for c in commits) == 200 and commits[-1][0] == 202
        assert len(commits) < 200  # groups share commits
        with store.snapshot() as snap:
            assert snap.lsn == 202 and len(rows(snap.conn)) == 200
    finally:
        store.close()


def test_failing_job_changes_nothing_and_appends_nothing(env: Env) -> None:
    env.log.append(sql_entry(create_table()))
    store = env.open_store()
    pipeline = CommitPipeline(store, env.log, env.registry)
    try:
        ok = pipeline.submit(sql_work(insert(1, "a")))

        def failing(conn: sqlite3.Connection, submit: Submit) -> None:
            apply_changes(conn, [insert(2, "b")])
            raise ValueError("constraint")

        bad = pipeline.submit(failing)
        after = pipeline.submit(sql_work(insert(3, "c")))
        assert ok.result(5).lsn == 3
        with pytest.raises(ValueError, match="constraint"):
            bad.result(5)
        assert after.result(5).lsn == 4
    finally:
        pipeline.close()
    assert [r.lsn for r in env.log.read()] == [1, 2, 3, 4]
    with store.snapshot() as snap:
        assert rows(snap.conn) == [(1, "a"), (3, "c")]
    store.close()


def test_failed_append_rolls_back_what_is_not_durable(env: Env) -> None:
    env.log.append(sql_entry(create_table()))
    store = env.open_store()
    gated = GatedLog(env.log, fail_from=3)
    gated.gate.set()
    pipeline = CommitPipeline(store, gated, env.registry, max_group=4)
    futures = [pipeline.submit(sql_work(insert(i, f"r{i}"))) for i in range(1, 5)]
    pipeline.close()
    try:
        assert [f.result(5).lsn for f in futures[:2]] == [3, 4]
        for failed in futures[2:]:
            with pytest.raises(AppendFailedError, match="disk full"):
                failed.result(5)
        with store.snapshot() as snap:
            assert snap.lsn == 4 and rows(snap.conn) == [(1, "r1"), (2, "r2")]
    finally:
        store.close()


def test_event_work_folds_with_its_lsn_and_reports_fold_errors(env: Env) -> None:
    def fold_auth(conn: sqlite3.Connection, event: Event) -> None:
        conn.execute("CREATE TABLE IF NOT EXISTS keys (lsn INTEGER, id TEXT)")
        conn.execute("INSERT INTO keys VALUES (?, ?)", (event.lsn, event.payload["id"]))
        if event.payload["id"] == "bad":
            raise ValueError("bad key")

    env.registry = FoldRegistry()
    env.registry.register("ddl", fold_sql)
    env.registry.register("auth", fold_auth)
    store = env.open_store()
    pipeline = CommitPipeline(store, env.log, env.registry)
    try:
        assert (
            pipeline.submit(event_work(Entry("auth", {"id": "k1"}), env.registry)).result(5).lsn
            == 2
        )
        bad = pipeline.submit(event_work(Entry("auth", {"id": "bad"}), env.registry))
        with pytest.raises(FoldError, match="bad key") as info:
            bad.result(5)
        assert info.value.lsn == 3
    finally:
        pipeline.close()
    with store.snapshot() as snap:
        assert snap.lsn == 3
        assert snap.conn.execute("SELECT lsn, id FROM keys").fetchall() == [(2, "k1")]
    store.close()
    rebuilt = env.open_store(rebuild=True)
    with rebuilt.snapshot() as snap:
        assert snap.conn.execute("SELECT lsn, id FROM keys").fetchall() == [(2, "k1")]
    rebuilt.close()


def test_a_lone_writer_runs_its_job_and_commits_in_its_own_thread(env: Env) -> None:
    env.log.append(sql_entry(create_table()))
    store = env.open_store()
    commits: list[int] = []
    pipeline = CommitPipeline(
        store, env.log, env.registry, on_commit=lambda *a: commits.append(threading.get_ident())
    )
    ran: list[int] = []

    def work(conn: sqlite3.Connection, submit: Submit) -> str:
        ran.append(threading.get_ident())
        return str(sql_work(insert(len(ran), "x"))(conn, submit))

    try:
        assert pipeline.run(work) == Committed("done", 3)
        assert pipeline.run(work) == Committed("done", 4)
        assert ran == commits == [threading.get_ident()] * 2
        with store.snapshot() as snap:
            assert snap.lsn == 4 and rows(snap.conn) == [(1, "x"), (2, "x")]
    finally:
        pipeline.close()
        store.close()


def test_run_and_submit_from_many_threads_commit_every_job_once(env: Env) -> None:
    env.log.append(sql_entry(create_table()))
    store = env.open_store()
    pipeline = CommitPipeline(store, env.log, env.registry)
    lsns: list[int] = []

    def writer(base: int) -> None:
        for i in range(base, base + 30):
            if i % 3:
                lsns.append(pipeline.run(sql_work(insert(i, "r"))).lsn)
            else:
                lsns.append(pipeline.submit(sql_work(insert(i, "s"))).result(10).lsn)

    _in_threads(writer, 16)
    pipeline.close()
    try:
        assert sorted(lsns) == list(range(3, 3 + 16 * 30))
        assert [r.lsn for r in env.log.read()] == list(range(1, 3 + 16 * 30))
        with store.snapshot() as snap:
            assert snap.lsn == 2 + 16 * 30 and len(rows(snap.conn)) == 16 * 30
    finally:
        store.close()


def test_a_closed_pipeline_refuses_runs(env: Env) -> None:
    store = env.open_store()
    pipeline = CommitPipeline(store, env.log, env.registry)
    pipeline.close()
    try:
        with pytest.raises(PipelineClosedError):
            pipeline.run(sql_work(insert(1, "x")))
        with pytest.raises(PipelineClosedError):
            pipeline.submit(sql_work(insert(1, "x"))).result(1)
    finally:
        store.close()


def test_a_broken_write_connection_stops_the_pipeline_instead_of_hanging_it(env: Env) -> None:
    env.log.append(sql_entry(create_table()))
    store = env.open_store()
    pipeline = CommitPipeline(store, env.log, env.registry)
    try:
        assert pipeline.run(sql_work(insert(1, "a"))).lsn == 3
        store.write_conn.close()  # BEGIN now fails, in whichever thread drives
        with pytest.raises(sqlite3.ProgrammingError):
            pipeline.run(sql_work(insert(2, "b")))
        assert pipeline.broken is not None
        with pytest.raises(PipelineClosedError):
            pipeline.submit(sql_work(insert(3, "c"))).result(5)
        with pytest.raises(PipelineClosedError):
            pipeline.run(sql_work(insert(4, "d")))
    finally:
        pipeline.close()
        store.abandon()
    assert env.log.head_lsn == 3


def _in_threads(writer: Callable[[int], None], count: int) -> None:
    """`writer(base)` in `count` threads at once (bases 0, 100, 200, ...), all joined."""
    threads = [threading.Thread(target=writer, args=(t * 100,)) for t in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
