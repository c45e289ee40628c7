"""The embedded facade: records per request, batches, events, principals, async variants."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlglot import exp

from api.database import Authorizer, Database, DatabaseOptions, PrincipalLike, WriteCheck
from api.sql import StatementInfo
from api.sql.errors import BadRequestError, SqlError
from eventlog import Entry
from projections.errors import LsnOutOfRangeError


@dataclass(frozen=True)
class Caller:
    id: str
    namespace: str | None


@dataclass
class Recording:
    """An access layer that lets everything through but records what it was asked, and
    denies reads of one table through the SQLite authorizer."""

    rewritten: list[str] = field(default_factory=list)
    denied_table: str = '"public.secret"'

    def rewrite_for(self, principal: PrincipalLike) -> Any:
        def rewrite(expression: exp.Expression, info: StatementInfo) -> exp.Expression:
            self.rewritten.append(f"{principal.id}:{info.kind}")
            return expression

        return rewrite

    def authorizer_for(self, principal: PrincipalLike) -> Authorizer | None:
        def authorize(action: int, arg1: str | None, *_: str | None) -> int:
            if action == sqlite3.SQLITE_READ and f'"{arg1}"' == self.denied_table:
                return sqlite3.SQLITE_DENY
            return sqlite3.SQLITE_OK

        return authorize

    def check_writes(self, principal: PrincipalLike) -> WriteCheck | None:
        return None


@pytest.fixture
def db(root: Path) -> Iterator[Database]:
    with Database.open(root) as database:
        yield database


def test_each_request_is_one_record_with_kind_actor_and_namespace(root: Path) -> None:
    access = Recording()
    with Database.open(root, DatabaseOptions(access=access)) as db:
        created = db.execute("CREATE TABLE items (id int primary key, label text)")
        caller = Caller("key:k1", "public")
        added = db.execute("INSERT INTO items VALUES (1, 'a'), (2, 'b')", principal=caller)
        batch = db.execute_batch(
            [
                ("UPDATE items SET label = 'c' WHERE id = 1", None),
                ("DELETE FROM items WHERE id = 2", None),
            ]
        )
        records = {r.lsn: r for r in db.log.read(created.lsn)}
    assert [records[created.lsn].kind, records[added.lsn].kind] == ["ddl", "dml"]
    assert (records[created.lsn].actor, records[created.lsn].namespace) == ("admin", None)
    assert (records[added.lsn].actor, records[added.lsn].namespace) == ("key:k1", "public")
    assert [c["op"] for c in records[added.lsn].payload["changes"]] == ["insert", "insert"]
    assert [c["op"] for c in records[batch.lsn].payload["changes"]] == ["update", "delete"]
    assert len(records[batch.lsn].payload["statements"]) == 2
    assert batch.lsn == added.lsn + 1 == max(records)
    assert access.rewritten == ["key:k1:insert"]


def test_authorizer_applies_to_the_principal_only(root: Path) -> None:
    with Database.open(root, DatabaseOptions(access=Recording())) as db:
        db.execute("CREATE TABLE secret (id int primary key)")
        db.execute("INSERT INTO secret VALUES (1)")
        assert db.execute("SELECT id FROM secret").rows == [[1]]
        with pytest.raises(SqlError):
            db.execute("SELECT id FROM secret", principal=Caller("user:u", "public"))
        assert db.execute("SELECT count(*) FROM secret").rows == [[1]]


def test_failing_batch_changes_nothing_and_appends_nothing(db: Database) -> None:
    db.execute("CREATE TABLE items (id int primary key)")
    head = db.log.head_lsn
    with pytest.raises(SqlError):
        db.execute_batch(
            [("INSERT INTO items VALUES (1)", None), ("INSERT INTO items VALUES (1)", None)]
        )
    assert db.log.head_lsn == head == db.applied_lsn
    assert db.execute("SELECT count(*) FROM items").rows == [[0]]


def test_reads_report_their_snapshot_and_past_states_are_read_only(db: Database) -> None:
    db.execute("CREATE TABLE items (id int primary key)")
    first = db.execute("INSERT INTO items VALUES (1)").lsn
    db.execute("INSERT INTO items VALUES (2)")
    assert db.execute("SELECT count(*) FROM items").lsn == db.applied_lsn
    assert db.execute("SELECT count(*) FROM items", as_of_lsn=first).rows == [[1]]
    with pytest.raises(BadRequestError):
        db.execute("INSERT INTO items VALUES (3)", as_of_lsn=first)
    with pytest.raises(LsnOutOfRangeError):
        db.execute("SELECT 1", as_of_lsn=db.applied_lsn + 1)
    reads = db.execute_batch([("SELECT count(*) FROM items", None), ("SELECT 1", None)])
    assert reads.lsn == db.applied_lsn and reads.results[0].rows == [[2]]


def test_events_of_kinds_without_a_fold_advance_the_lsn(db: Database) -> None:
    lsn = db.append_event(Entry("storage", {"bucket": "b", "op": "create"}, actor="admin"))
    assert lsn == db.applied_lsn == db.log.head_lsn
    assert next(iter(db.log.read(lsn, lsn))).payload["bucket"] == "b"


def test_async_variants(db: Database) -> None:
    async def scenario() -> tuple[int, list[list[Any]], int, int]:
        await db.execute_async("CREATE TABLE items (id int primary key)")
        writes = await asyncio.gather(
            *(db.execute_async("INSERT INTO items VALUES ($1)", [i]) for i in range(20))
        )
        batch = await db.execute_batch_async([("INSERT INTO items VALUES (100)", None)])
        read = await db.execute_async("SELECT count(*) FROM items")
        event = await db.append_event_async(Entry("storage", {"op": "noop"}))
        return len({w.lsn for w in writes}), read.rows, batch.lsn, event

    distinct, rows, batch_lsn, event_lsn = asyncio.run(scenario())
    assert distinct == 20 and rows == [[21]] and event_lsn == batch_lsn + 1 == db.applied_lsn


def test_a_pooled_snapshot_sees_each_ddl_change_at_its_next_read(db: Database) -> None:
    """The catalogue is memoised per read transaction of a pooled snapshot; a DDL commit
    must reach the very next read (new column, dropped table, new table)."""
    db.execute("CREATE TABLE memo_t (id bigint PRIMARY KEY)")
    db.execute("INSERT INTO memo_t (id) VALUES (1)")
    for _ in range(3):  # the same snapshot, its memo filled
        assert db.execute("SELECT id FROM memo_t").rows == [[1]]
    db.execute("ALTER TABLE memo_t ADD COLUMN flag boolean")
    db.execute("UPDATE memo_t SET flag = 't'")
    assert db.execute("SELECT id, flag FROM memo_t").rows == [[1, True]]
    db.execute("DROP TABLE memo_t")
    with pytest.raises(SqlError):
        db.execute("SELECT id FROM memo_t")
    db.execute("CREATE TABLE memo_t (id bigint PRIMARY KEY, note text)")
    assert db.execute("SELECT id, note FROM memo_t").rows == []


def test_a_snapshot_forgets_its_memo_when_its_transaction_ends(db: Database) -> None:
    db.execute("CREATE TABLE memo_u (id bigint PRIMARY KEY)")
    snapshot = db.store.acquire()
    try:
        snapshot.memo["probe"] = object()
        snapshot.refresh(snapshot.lsn)
        assert "probe" in snapshot.memo  # same state: kept
        snapshot.end()
        assert snapshot.memo == {}
    finally:
        db.store.release(snapshot)


def test_the_write_connection_sees_each_ddl_change_at_its_next_write(db: Database) -> None:
    """Writes keep the catalogue across jobs; DDL, in the same batch or in a job before,
    must reach the very next write (new table, new column, dropped table, a view)."""
    db.execute_batch(
        [
            ("CREATE TABLE wm (id bigint PRIMARY KEY)", None),
            ("INSERT INTO wm (id) VALUES (1)", None),
        ]
    )
    db.execute("ALTER TABLE wm ADD COLUMN note text")
    db.execute("INSERT INTO wm (id, note) VALUES (2, 'b')")
    db.execute("CREATE VIEW wm_v AS SELECT id FROM wm")
    db.execute("INSERT INTO wm (id) SELECT id + 10 FROM wm_v")
    assert db.execute("SELECT count(*) FROM wm").rows == [[4]]
    db.execute("DROP VIEW wm_v")
    db.execute("DROP TABLE wm")
    with pytest.raises(SqlError) as info:
        db.execute("INSERT INTO wm (id) VALUES (3)")
    assert info.value.code == "NOT_FOUND"


def test_a_rolled_back_ddl_is_forgotten_by_the_write_connection(db: Database) -> None:
    """A batch whose DDL ran before a later statement failed is rolled back; the writes
    after it must not see the table or view it created (its catalogue was kept meanwhile)."""
    db.execute("CREATE TABLE base (id bigint PRIMARY KEY)")
    db.execute("INSERT INTO base (id) VALUES (1)")
    for ddl in ("CREATE TABLE ghost (id bigint PRIMARY KEY)", "CREATE VIEW ghost AS SELECT 1"):
        with pytest.raises(SqlError):
            db.execute_batch(
                [
                    (ddl, None),
                    ("SELECT * FROM ghost", None),
                    ("INSERT INTO base (id) VALUES (1)", None),  # conflict: all rolled back
                ]
            )
        with pytest.raises(SqlError) as info:
            db.execute("INSERT INTO base (id) SELECT 2 FROM ghost")
        assert info.value.code == "NOT_FOUND"
    db.execute("CREATE TABLE ghost (id bigint PRIMARY KEY, label text)")
    db.execute("INSERT INTO ghost (id, label) VALUES (1, 'real')")
    assert db.execute("SELECT label FROM ghost").rows == [["real"]]
