"""A replica's `Database` (`Database.replica`, `api.writers.ReadOnlyReplica`): reads run as
on a primary, every kind of write is refused naming the primary, past states are not
served, and closing releases the store."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.database import Database
from api.datadir import DataDir
from api.sql.errors import NotSupportedError, ReadOnlyError
from eventlog import Entry
from projections.store import ProjectionStore, StoreLock

PRIMARY = "http://primary.example:8080"


@pytest.fixture
def replica(tmp_path: Path) -> Iterator[Database]:
    db = Database.replica(
        DataDir(tmp_path), ProjectionStore(StoreLock(tmp_path / "store")), PRIMARY
    )
    yield db
    db.close()


def test_reads_answer_at_the_applied_lsn(replica: Database) -> None:
    result = replica.execute("SELECT 1 AS one")
    assert result.rows == [[1]] and result.lsn == replica.applied_lsn
    assert replica.history.head_lsn == replica.applied_lsn
    assert replica.execute("SELECT 2 AS two", as_of_lsn=replica.applied_lsn).rows == [[2]]


def test_every_write_is_refused_naming_the_primary(replica: Database) -> None:
    writes = [
        lambda: replica.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)"),
        lambda: replica.execute_batch([("SELECT 1", None), ("CREATE TABLE t (id INT)", None)]),
        lambda: replica.append_event(Entry("policy", {})),
        lambda: asyncio.run(replica.execute_async("CREATE TABLE t (id INT)")),
        lambda: asyncio.run(replica.write_async([("CREATE TABLE t (id INT)", None)])),
        replica.checkpoint,
        lambda: replica.log,
    ]
    for write in writes:
        with pytest.raises(ReadOnlyError) as refused:
            write()
        assert refused.value.code == "UNAVAILABLE" and refused.value.sqlstate == "25006"
        assert refused.value.detail == {"primary": PRIMARY}


def test_past_states_are_for_the_primary(replica: Database) -> None:
    with pytest.raises(NotSupportedError) as refused:
        replica.execute("SELECT 1", as_of_lsn=replica.applied_lsn + 1)
    assert refused.value.detail == {"applied_lsn": replica.applied_lsn}


def test_closing_releases_the_store(tmp_path: Path) -> None:
    store_dir = tmp_path / "store"
    Database.replica(DataDir(tmp_path), ProjectionStore(StoreLock(store_dir)), None).close()
    again = Database.replica(DataDir(tmp_path), ProjectionStore(StoreLock(store_dir)), None)
    with pytest.raises(ReadOnlyError) as refused:
        again.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
    assert refused.value.detail is None
    again.close()
