"""`Database.open(path)` like `sqlite3.connect`: a missing directory is created and
initialised; `create=False` refuses it; a directory holding something else is never used."""

from __future__ import annotations

from pathlib import Path

import pytest

import api
from api.database import NotInitialisedError
from api.datadir import DataDir
from eventlog import LogReader


def test_the_facade_is_exported_from_the_package() -> None:
    from api import Database

    assert Database is api.database.Database


def test_open_creates_and_initialises_a_missing_directory(tmp_path: Path) -> None:
    root = tmp_path / "new" / "data"
    with api.Database.open(root) as db:
        lsn = db.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)").lsn
        db.execute("INSERT INTO notes (id, body) VALUES (1, 'first')")
    assert DataDir(root).is_initialised()
    assert (root / "keys").stat().st_mode & 0o077 == 0
    with api.Database.open(root) as db:
        assert db.execute("SELECT body FROM notes").rows == [["first"]]
    kinds = [record.kind for record in LogReader(root / "log").read()]
    assert kinds[:2] == ["system", "auth"] and lsn == 3  # as `bkgdb init` writes them


def test_open_creates_into_an_empty_directory(tmp_path: Path) -> None:
    root = tmp_path / "empty"
    root.mkdir()
    with api.Database.open(root) as db:
        assert db.execute("SELECT 1 AS one").rows == [[1]]


def test_create_false_refuses_a_missing_directory_and_creates_nothing(tmp_path: Path) -> None:
    root = tmp_path / "missing"
    with pytest.raises(NotInitialisedError, match="not an initialised data directory"):
        api.Database.open(root, create=False)
    assert not root.exists()


def test_a_directory_holding_something_else_is_left_alone(tmp_path: Path) -> None:
    root = tmp_path / "busy"
    root.mkdir()
    (root / "notes.txt").write_text("mine")
    with pytest.raises(NotInitialisedError, match="not empty"):
        api.Database.open(root)
    assert [path.name for path in root.iterdir()] == ["notes.txt"]
