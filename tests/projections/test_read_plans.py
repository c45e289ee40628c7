"""Reads by plan (`api.sql.plan`, remembered by `Database`): a repeated read is not parsed or
translated again, yet it sees every commit, follows every schema change, runs under the
caller's authorizer, deadline and result limits, and binds its parameters as strictly as
the first run did."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlglot import exp

from api.database import (
    MAX_PLANNED_TEXT,
    MAX_PLANS,
    Authorizer,
    Database,
    DatabaseOptions,
    PrincipalLike,
    WriteCheck,
)
from api.sql import StatementInfo
from api.sql.bounded import ResultLimits
from api.sql.errors import (
    BadRequestError,
    LimitExceededError,
    OutOfRangeError,
    QueryCanceledError,
    SqlError,
)
from projections.deadline import SHUTDOWN_MESSAGE
from tests.governance.conftest import RUNAWAY

POINT = "SELECT * FROM items WHERE id = $1"


@pytest.fixture
def db(root: Path) -> Iterator[Database]:
    with Database.open(root) as database:
        database.execute("CREATE TABLE items (id int PRIMARY KEY, label text)")
        database.execute("INSERT INTO items VALUES (1, 'a'), (2, 'b')")
        yield database


def _statements(db: Database, sql: str, params: list[Any]) -> list[str]:
    """The SQLite statements one read runs on the pooled snapshot connections."""
    seen: list[str] = []
    connections = [snap.conn for snap in db.store._all_readers]
    for conn in connections:
        conn.set_trace_callback(seen.append)
    try:
        db.execute(sql, params)
    finally:
        for conn in connections:
            conn.set_trace_callback(None)
    return seen


def test_a_repeated_read_is_planned_once_and_is_one_statement(db: Database) -> None:
    db.execute(POINT, [1])
    parsed = db.engine.parse_count
    for key in (1, 2, 1):
        assert len(_statements(db, POINT, [key])) == 1
    assert db.engine.parse_count == parsed
    assert db.execute(POINT, [2]).rows == [[2, "b"]]


def test_a_repeated_read_sees_every_commit(db: Database) -> None:
    assert db.execute(POINT, [3]).rows == []
    db.execute("INSERT INTO items VALUES (3, 'c')")
    assert db.execute(POINT, [3]).rows == [[3, "c"]]
    db.execute("UPDATE items SET label = 'c2' WHERE id = 3")
    read = db.execute(POINT, [3])
    assert (read.rows, read.lsn) == ([[3, "c2"]], db.applied_lsn)
    db.execute("DELETE FROM items WHERE id = 3")
    assert db.execute(POINT, [3]).rows == []


def test_a_planned_read_follows_schema_changes(db: Database) -> None:
    assert db.execute(POINT, [1]).columns == ["id", "label"]
    db.execute("ALTER TABLE items ADD COLUMN done boolean")
    db.execute("UPDATE items SET done = true WHERE id = 1")
    read = db.execute(POINT, [1])
    assert (read.columns, read.rows) == (["id", "label", "done"], [[1, "a", True]])
    assert read.types is not None and read.types[2] == "boolean"
    db.execute("DROP TABLE items")
    with pytest.raises(SqlError):
        db.execute(POINT, [1])
    db.execute("CREATE TABLE items (id int PRIMARY KEY, flag boolean, at timestamp)")
    db.execute("INSERT INTO items VALUES (1, false, '2026-01-02 03:04:05')")
    read = db.execute(POINT, [1])
    assert read.columns == ["id", "flag", "at"]
    assert read.rows[0][1] is False
    assert str(read.rows[0][2]).startswith("2026-01-02")


def test_a_planned_read_binds_as_strictly_as_the_first(db: Database) -> None:
    db.execute(POINT, [1])
    with pytest.raises(BadRequestError):
        db.execute(POINT, [1, 2])
    with pytest.raises(BadRequestError):
        db.execute(POINT, {"id": 1})
    with pytest.raises(OutOfRangeError):
        db.execute(POINT, [2**63])
    assert db.execute(POINT, [True]).rows == [[1, "a"]]
    assert db.execute(POINT, (2,)).rows == [[2, "b"]]


def test_a_planned_read_stays_governed(db: Database) -> None:
    for _ in range(2):  # the second run is by plan
        with pytest.raises(QueryCanceledError):
            db.execute(RUNAWAY, timeout=0.2)
    db.execute("SELECT id FROM items")
    db.result_limits = ResultLimits(max_rows=1)
    with pytest.raises(LimitExceededError):
        db.execute("SELECT id FROM items")
    db.result_limits = ResultLimits()
    db.cancel_all()
    with pytest.raises(QueryCanceledError) as caught:
        db.execute(POINT, [1])
    assert caught.value.message == SHUTDOWN_MESSAGE


@dataclass(frozen=True)
class Caller:
    id: str
    namespace: str | None


class Switchable:
    """An access layer with a keyed (pass-through) rewrite and an authorizer that refuses
    reads of `denied`; changing `denied` hands out a new authorizer object."""

    def __init__(self) -> None:
        self.denied = '"public.secret"'
        self._authorizer = self._make()

    def deny(self, table: str) -> None:
        self.denied = table
        self._authorizer = self._make()

    def _make(self) -> Authorizer:
        denied = self.denied

        def authorize(action: int, arg1: str | None, *_: str | None) -> int:
            if action == sqlite3.SQLITE_READ and f'"{arg1}"' == denied:
                return sqlite3.SQLITE_DENY
            return sqlite3.SQLITE_OK

        return authorize

    def rewrite_for(self, principal: PrincipalLike) -> Any:
        def rewrite(expression: exp.Expression, info: StatementInfo) -> exp.Expression:
            return expression

        rewrite.cache_key = ("caller", principal.id)  # type: ignore[attr-defined]
        return rewrite

    def authorizer_for(self, principal: PrincipalLike) -> Authorizer | None:
        return self._authorizer

    def check_writes(self, principal: PrincipalLike) -> WriteCheck | None:
        return None


def test_the_authorizer_of_each_read_is_the_callers_own(root: Path) -> None:
    """A pooled connection keeps a principal's authorizer between reads; the admin's read
    after it runs without it, the principal's next read with it again, and a new
    authorizer is asked again even for a statement prepared under the old one."""
    access = Switchable()
    caller = Caller("key:k1", "public")
    with Database.open(root, DatabaseOptions(access=access)) as db:
        db.execute("CREATE TABLE secret (id int PRIMARY KEY)")
        db.execute("CREATE TABLE items (id int PRIMARY KEY)")
        db.execute("INSERT INTO secret VALUES (1)")
        db.execute("INSERT INTO items VALUES (1)")
        for _ in range(2):
            with pytest.raises(SqlError):
                db.execute("SELECT id FROM secret", principal=caller)
            assert db.execute("SELECT id FROM secret").rows == [[1]]
        assert db.execute("SELECT id FROM items", principal=caller).rows == [[1]]
        access.deny('"public.items"')
        with pytest.raises(SqlError):
            db.execute("SELECT id FROM items", principal=caller)
        assert db.execute("SELECT id FROM secret", principal=caller).rows == [[1]]
        with db.store.snapshot() as snap:  # lent to others with no authorizer
            assert snap.authorizer is None
            assert snap.conn.execute('SELECT id FROM "public.items"').fetchall() == [(1,)]


def test_plans_are_bounded(db: Database) -> None:
    """Plans are kept for at most MAX_PLANS statements, and none for very long ones."""
    for n in range(MAX_PLANS + 10):
        db.execute(f"SELECT id FROM items WHERE id = {n}")
    assert 0 < len(db._plans) <= MAX_PLANS
    db._plans.clear()
    padding = " " * MAX_PLANNED_TEXT
    assert db.execute(f"SELECT id FROM items WHERE id = $1{padding}", [1]).rows == [[1]]
    assert not db._plans
