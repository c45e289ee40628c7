"""One tenant's DDL cannot stop another's writes: row images are captured per table.

A table of the Postgres maximum width (1600 columns) in namespace ``a`` leaves every write
of namespace ``b`` (and of ``a``) working, live, after a clean restart and after the
projection is rebuilt from the log; a wider table is refused at CREATE / ALTER time with
LIMIT_EXCEEDED (Postgres: 54011) and nothing is appended.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from api.database import Database
from api.datadir import DataDir
from api.initialise import initialise
from api.sql import LimitExceededError
from api.sql.ddl_build import MAX_COLUMNS


@dataclass(frozen=True)
class Key:
    """A namespace principal (unqualified names resolve to its namespace)."""

    id: str
    namespace: str


A, B = Key("key:a", "a"), Key("key:b", "b")


def _columns(count: int, start: int = 0) -> str:
    return ", ".join(f"c{i} int" for i in range(start, start + count))


@pytest.fixture
def root(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "data"
    initialise(DataDir(path), 1 << 22)
    with Database.open(path) as db:
        db.execute("CREATE SCHEMA a")
        db.execute("CREATE SCHEMA b")
        db.execute("CREATE TABLE t (id int PRIMARY KEY, v text)", principal=B)
        db.execute(
            f"CREATE TABLE wide (id int PRIMARY KEY, {_columns(MAX_COLUMNS - 1)})", principal=A
        )
    yield path


def _writes_work(db: Database, first: int) -> None:
    """Every kind of write of both tenants, with the row images they should log."""
    db.execute("INSERT INTO t VALUES ($1, 'x')", [first], principal=B)
    db.execute("UPDATE t SET v = 'y' WHERE id = $1", [first], principal=B)
    db.execute("INSERT INTO wide (id, c5, c1598) VALUES ($1, 5, 1598)", [first], principal=A)
    db.execute("UPDATE wide SET c1000 = 7 WHERE id = $1", [first], principal=A)
    lsn = db.execute("DELETE FROM t WHERE id = $1", [first], principal=B).lsn
    [record] = db.log.read(lsn, lsn)
    assert record.payload["changes"][0]["old"] == {"id": first, "v": "y"}
    update = next(db.log.read(lsn - 1, lsn - 1)).payload["changes"][0]
    assert len(update["old"]) == len(update["new"]) == MAX_COLUMNS
    assert (update["old"]["c1000"], update["new"]["c1000"], update["new"]["c1598"]) == (
        None,
        7,
        1598,
    )


def _state(db: Database) -> list[list[object]]:
    return (
        db.execute("SELECT id, c5, c1000, c1598 FROM a.wide ORDER BY id").rows
        + db.execute("SELECT * FROM b.t ORDER BY id").rows
    )


def test_a_maximal_table_leaves_every_tenants_writes_working(root: Path) -> None:
    with Database.open(root) as db:
        _writes_work(db, 1)
        live = _state(db)
    with Database.open(root) as db:  # clean restart
        assert _state(db) == live
        _writes_work(db, 2)
        live = _state(db)
    shutil.rmtree(DataDir(root).projections)
    with Database.open(root) as db:  # rebuilt from the log
        assert db.open_report.rebuilt
        assert _state(db) == live == [[1, 5, 7, 1598], [2, 5, 7, 1598]]
        _writes_work(db, 3)


def test_wider_tables_are_refused_and_append_nothing(root: Path) -> None:
    with Database.open(root) as db:
        head = db.log.head_lsn
        refused = [
            f"CREATE TABLE wider (id int, {_columns(MAX_COLUMNS)})",
            "ALTER TABLE wide ADD COLUMN one_more int",
        ]
        for sql in refused:
            with pytest.raises(LimitExceededError) as caught:
                db.execute(sql, principal=A)
            error = caught.value
            assert error.code == "LIMIT_EXCEEDED" and error.sqlstate == "54011"
            assert "at most 1600 columns" in error.message
            assert error.detail == {"limit": "columns_per_table", "value": MAX_COLUMNS}
        assert db.log.head_lsn == head
        db.execute("ALTER TABLE t ADD COLUMN w int", principal=B)
        db.execute("INSERT INTO t VALUES (9, 'z', 1)", principal=B)
