"""The projection store: applied LSN with effects, folds, snapshots, locking, repair."""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

import pytest

from eventlog import Entry, EventLog
from projections.errors import StoreLockedError
from projections.folds import Event, FoldRegistry, fold_sql
from projections.meta import read_applied_lsn
from projections.repair import OpenReport, open_store
from projections.store import STORE_FILE, ProjectionStore
from tests.projections.projkit import Env, create_table, insert, rows, sql_entry


def test_catch_up_folds_sql_records_and_skips_unknown_kinds(env: Env) -> None:
    env.log.append(sql_entry(create_table()))
    env.log.append(Entry("storage", {"bucket": "b"}))
    env.log.append(sql_entry(insert(1, "a"), insert(2, "b")))
    store = env.open_store()
    try:
        assert store.applied_lsn == env.log.head_lsn == 4
        with store.snapshot() as snap:
            assert snap.lsn == 4
            assert rows(snap.conn) == [(1, "a"), (2, "b")]
    finally:
        store.close()


def test_registered_fold_applies_and_failing_fold_is_rolled_back(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    def fold_policy(conn: sqlite3.Connection, event: Event) -> None:
        conn.execute("CREATE TABLE IF NOT EXISTS policies (lsn INTEGER, name TEXT)")
        conn.execute("INSERT INTO policies VALUES (?, ?)", (event.lsn, event.payload["name"]))
        if event.payload["name"] == "bad":
            raise ValueError("refused")

    env.registry = FoldRegistry()
    env.registry.register("policy", fold_policy)
    env.registry.register("ddl", fold_sql)
    env.log.append(Entry("policy", {"name": "good"}))
    env.log.append(Entry("policy", {"name": "bad"}))
    with caplog.at_level(logging.WARNING):
        store = env.open_store()
    try:
        assert store.applied_lsn == 3
        with store.snapshot() as snap:
            assert snap.conn.execute("SELECT lsn, name FROM policies").fetchall() == [(2, "good")]
        assert "LSN 3 failed: refused" in caplog.text
    finally:
        store.close()


def test_registering_a_second_fold_for_a_kind_is_refused() -> None:
    registry = FoldRegistry()
    registry.register("dml", fold_sql)
    registry.register("dml", fold_sql)
    with pytest.raises(ValueError, match="already registered"):
        registry.register("dml", lambda conn, event: None)


def test_second_holder_is_refused(env: Env) -> None:
    store = env.open_store()
    try:
        with pytest.raises(StoreLockedError, match="held by pid"):
            env.open_store()
    finally:
        store.close()


def test_clean_store_resumes_and_dirty_store_is_rebuilt(env: Env) -> None:
    env.log.append(sql_entry(create_table()))
    store = env.open_store()
    store.close()
    env.log.append(sql_entry(insert(1, "a")))
    _, report = _reopen(env)
    assert (report.rebuilt, report.from_lsn, report.to_lsn) == (False, 3, 3)

    # A store that was not closed cleanly is rebuilt from the log.
    (env.root / "projections" / "CLEAN").unlink()
    _, report = _reopen(env)
    assert (report.rebuilt, report.reason, report.from_lsn) == (True, "unclean shutdown", 1)

    # So is one that is garbled, even if marked clean: its digest no longer matches.
    (env.root / "projections" / STORE_FILE).write_bytes(b"not a database" * 100)
    _, report = _reopen(env, close=False)
    assert report.rebuilt and "damaged on disk" in report.reason


def test_store_ahead_of_the_log_is_rebuilt(env: Env) -> None:
    env.log.append(sql_entry(create_table()))
    store = env.open_store()
    store.write_conn.execute("UPDATE _bkg_applied SET lsn = 99")
    store.close()
    store, report = _reopen(env)
    assert report.rebuilt and "ahead of the log" in report.reason
    assert report.to_lsn == 2


def test_snapshot_lsn_always_matches_its_contents(env: Env) -> None:
    env.log.append(sql_entry(create_table()))
    store = env.open_store()
    stop = threading.Event()
    mismatches: list[tuple[int, int]] = []

    def read() -> None:
        while not stop.is_set():
            with store.snapshot() as snap:
                count = snap.conn.execute('SELECT count(*) FROM "public.items"').fetchone()[0]
                if count != snap.lsn - 2:
                    mismatches.append((snap.lsn, count))

    reader = threading.Thread(target=read)
    reader.start()
    try:
        conn = store.write_conn
        for i in range(1, 150):
            lsn = env.log.append(sql_entry(insert(i, str(i))))
            conn.execute("BEGIN")
            conn.execute('INSERT INTO "public.items" VALUES (?, ?)', (i, str(i)))
            conn.execute("UPDATE _bkg_applied SET lsn = ?", (lsn,))
            conn.execute("COMMIT")
            store.committed(lsn)
    finally:
        stop.set()
        reader.join()
        store.close()
    assert mismatches == []


def _reopen(env: Env, close: bool = True) -> tuple[ProjectionStore, OpenReport]:
    store, report = open_store(
        env.root / "projections", env.log, env.checkpoints, env.ring, env.registry
    )
    assert read_applied_lsn(store.write_conn) == env.log.head_lsn
    if close:
        store.close(env.log)
    else:
        store.abandon()
    return store, report


def test_idle_readers_release_old_snapshots_after_commits(env: Env) -> None:
    env.log.append(sql_entry(create_table()))
    store = env.open_store()
    try:
        with store.snapshot() as snap:
            assert snap.lsn == 2
        conn = store.write_conn
        conn.execute("PRAGMA busy_timeout = 0")
        lsn = env.log.append(sql_entry(insert(1, "a")))
        conn.execute("BEGIN")
        conn.execute('INSERT INTO "public.items" VALUES (1, ?)', ("a",))
        conn.execute("UPDATE _bkg_applied SET lsn = ?", (lsn,))
        conn.execute("COMMIT")
        store.committed(lsn)
        # The idle reader still holds its snapshot at LSN 2: the WAL cannot be reset ...
        assert conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 1
        store.SWEEP_INTERVAL_S = 0.0
        store.committed(lsn)
        # ... until a sweep ends its transaction.
        assert conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0
        with store.snapshot() as snap:
            assert snap.lsn == lsn and rows(snap.conn) == [(1, "a")]
    finally:
        store.close()


def test_store_paired_with_a_different_log_is_rebuilt(env: Env, tmp_path: Path) -> None:
    env.log.append(sql_entry(create_table()))
    env.log.append(sql_entry(insert(1, "a")))
    _reopen(env)
    _, report = _reopen(env)
    assert not report.rebuilt

    other_log = EventLog.create(tmp_path / "other-log", env.key)
    other_log.append(sql_entry(create_table()))
    other_log.append(sql_entry(insert(1, "other")))
    other = Env(env.root, env.key, other_log)
    try:
        store, report = open_store(
            env.root / "projections", other_log, other.checkpoints, other.ring, other.registry
        )
        assert report.rebuilt and report.reason == "store does not match the log at LSN 3"
        with store.snapshot() as snap:
            assert rows(snap.conn) == [(1, "other")]
        store.close(other_log)
    finally:
        other_log.close()
