"""`bkgdb migrate` on a data directory opened in-process, and `Database.apply_migration`."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import pytest

from api.database import Database
from api.migrations import ledger
from api.migrations.errors import MigrationError
from api.migrations.files import Migration, statements_of
from tests.cli.runner import bkgdb
from tests.migrations.conftest import (
    CREATE,
    FAILING,
    SEED,
    migrate,
    migrate_json,
    migration_records,
    write_files,
)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    assert bkgdb(root, "init").returncode == 0
    return root


def _rows(root: Path, sql: str) -> list[list[object]]:
    done = bkgdb(root, "sql", sql, "--json")
    assert done.returncode == 0, done.stderr
    rows: list[list[object]] = json.loads(done.stdout)["rows"]
    return rows


def test_up_applies_each_file_as_one_record_with_version_and_digest(
    data_dir: Path, tmp_path: Path
) -> None:
    files = write_files(tmp_path / "m", {"0001_create.sql": CREATE, "0002_seed.sql": SEED})
    dry = migrate_json(data_dir, "up", "--dir", str(files), "--dry-run")
    assert [m["state"] for m in dry["migrations"]] == ["would apply", "would apply"]
    assert migration_records(data_dir / "log") == []
    first = migrate_json(data_dir, "up", "--dir", str(files), "--to", "1")
    assert [m["filename"] for m in first["migrations"]] == ["0001_create.sql"]
    migrate_json(data_dir, "up", "--dir", str(files))
    again = migrate_json(data_dir, "up", "--dir", str(files))
    assert again["migrations"] == []
    stamps = migration_records(data_dir / "log")
    assert [(s["version"], s["kind"]) for s in stamps] == [(1, "ddl"), (2, "dml")]
    assert stamps[1]["sha256"] == Migration.of(2, "seed", SEED).sha256
    assert _rows(data_dir, "SELECT id, title FROM todos ORDER BY id") == [
        [1, "first"],
        [2, "second"],
    ]
    status = migrate_json(data_dir, "status", "--dir", str(files))
    assert [(m["state"], m["applied"]["lsn"]) for m in status["migrations"]] == [
        ("applied", stamps[0]["lsn"]),
        ("applied", stamps[1]["lsn"]),
    ]


def test_an_edited_file_is_refused_by_name_and_nothing_is_applied(
    data_dir: Path, tmp_path: Path
) -> None:
    files = write_files(tmp_path / "m", {"0001_create.sql": CREATE})
    migrate_json(data_dir, "up", "--dir", str(files))
    write_files(files, {"0001_create.sql": CREATE + "-- changed\n", "0002_seed.sql": SEED})
    done = migrate(data_dir, "up", "--dir", str(files))
    assert done.returncode != 0
    assert "0001_create.sql was edited after it was applied" in done.stderr
    assert len(migration_records(data_dir / "log")) == 1
    status = migrate(data_dir, "status", "--dir", str(files))
    assert status.returncode == 1 and "edited" in status.stdout


def test_a_failing_migration_changes_nothing(data_dir: Path, tmp_path: Path) -> None:
    files = write_files(
        tmp_path / "m",
        {"0001_create.sql": CREATE, "0002_seed.sql": SEED, "0003_bad.sql": FAILING},
    )
    done = migrate(data_dir, "up", "--dir", str(files))
    assert done.returncode != 0 and "0003_bad.sql" in done.stderr and "CONFLICT" in done.stderr
    assert [s["version"] for s in migration_records(data_dir / "log")] == [1, 2]
    assert _rows(data_dir, "SELECT count(*) FROM todos") == [[2]]
    write_files(files, {"0003_bad.sql": "INSERT INTO todos VALUES (3, 'third');\n"})
    migrate_json(data_dir, "up", "--dir", str(files))
    assert _rows(data_dir, "SELECT count(*) FROM todos") == [[3]]


def test_a_file_below_the_newest_applied_is_refused(data_dir: Path, tmp_path: Path) -> None:
    files = write_files(tmp_path / "m", {"0001_create.sql": CREATE, "0003_seed.sql": SEED})
    migrate_json(data_dir, "up", "--dir", str(files))
    write_files(files, {"0002_late.sql": "SELECT 1;"})
    done = migrate(data_dir, "up", "--dir", str(files))
    assert done.returncode != 0 and "0002_late.sql" in done.stderr


def test_new_creates_the_next_file(tmp_path: Path) -> None:
    answer = migrate_json(tmp_path / "unused", "new", "Add orders", "--dir", str(tmp_path / "m"))
    assert Path(answer["path"]).name == "0001_add_orders.sql"


def test_the_ledger_is_rebuilt_from_the_log(tmp_path: Path) -> None:
    root = tmp_path / "data"
    with Database.open(root) as db:
        for migration in (Migration.of(1, "create", CREATE), Migration.of(2, "seed", SEED)):
            assert db.apply_migration(migration, statements_of(migration)).applied
        with db.store.snapshot() as snap:
            live = ledger.applied(snap.conn)
    shutil.rmtree(root / "projections")
    shutil.rmtree(root / "checkpoints", ignore_errors=True)
    with Database.open(root) as db, db.store.snapshot() as snap:
        assert ledger.applied(snap.conn) == live
    assert [row.version for row in live] == [1, 2]


def test_concurrent_appliers_apply_each_file_once(tmp_path: Path) -> None:
    migrations = [Migration.of(1, "create", CREATE), Migration.of(2, "seed", SEED)]
    applied: list[tuple[int, bool]] = []
    with Database.open(tmp_path / "data") as db:

        def up() -> None:
            for migration in migrations:
                outcome = db.apply_migration(migration, statements_of(migration))
                applied.append((migration.version, outcome.applied))

        threads = [threading.Thread(target=up) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(v for v, new in applied if new) == [1, 2]
        assert len(applied) == 8
        assert db.execute("SELECT count(*) FROM todos").rows == [[2]]
    assert [s["version"] for s in migration_records(tmp_path / "data" / "log")] == [1, 2]


def test_an_edited_migration_is_refused_by_the_database(tmp_path: Path) -> None:
    with Database.open(tmp_path / "data") as db:
        original = Migration.of(1, "create", CREATE)
        db.apply_migration(original, statements_of(original))
        head = db.log.head_lsn
        edited = Migration.of(1, "create", CREATE.replace("title", "name"))
        with pytest.raises(MigrationError, match=r"0001_create\.sql differs"):
            db.apply_migration(edited, statements_of(edited))
        assert db.log.head_lsn == head
