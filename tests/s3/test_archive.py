"""Continuous backup to real S3 (SeaweedFS) and disaster recovery from it."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from api.auth.store import load_key_registry
from api.cli import build_parser, main
from api.cli.serve_command import serve_settings
from api.cli.storage_commands import FLAG_ENV
from api.database import Database
from api.datadir import DataDir
from api.initialise import initialise
from api.wiring import running_archive
from bench.peers.seaweed import ACCESS_KEY, SECRET_KEY, SeaweedS3
from eventlog import LogReader
from eventlog.verify import verify_log
from projections.archive.archiver import Archiver, wait_for
from projections.blobs.s3 import S3BlobStore, S3Location
from tests.http.conftest import open_backend
from tests.s3.conftest import TEST_BUCKET, S3Area

SEGMENT_BYTES = 8192


def remote_at(server: SeaweedS3, prefix: str) -> S3BlobStore:
    return S3BlobStore(S3Location(server.url, ACCESS_KEY, SECRET_KEY, TEST_BUCKET, prefix))


def new_database(root: Path) -> tuple[Database, str]:
    admin_key = initialise(DataDir(root), SEGMENT_BYTES)["admin_key"]
    return Database.open(root), admin_key


def archiver_for(db: Database, remote: S3BlobStore, interval_s: float) -> Archiver:
    data = db.data
    return Archiver(db.log, data.log, data.checkpoints, data.consumers, remote, interval_s)


def frames(log_dir: Path, to_lsn: int) -> list[bytes]:
    return [r.frame for r in LogReader(log_dir).read(1, to_lsn)]


def test_writes_go_on_while_s3_is_down_and_the_archive_catches_up(
    own_seaweed: SeaweedS3, tmp_path: Path
) -> None:
    db, _ = new_database(tmp_path / "data")
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    archiver = archiver_for(db, remote_at(own_seaweed, "outage"), 0.1)
    archiver.start()
    try:
        db.execute("INSERT INTO t (id, v) VALUES (0, 'before')")
        assert wait_for(archiver, db.log.head_lsn, 10)
        own_seaweed.stop()
        for i in range(1, 120):
            db.execute("INSERT INTO t (id, v) VALUES (?, ?)", [i, "during the outage " * 3])
        db.checkpoint()
        deadline = time.monotonic() + 30
        while archiver.errors_total == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert archiver.errors_total > 0 and archiver.lag_records > 0
        own_seaweed.start()
        head = db.log.head_lsn
        assert wait_for(archiver, head, 30), archiver.last_error
        db.execute("INSERT INTO t (id, v) VALUES (1000, 'after')")
        began = time.monotonic()
        assert wait_for(archiver, db.log.head_lsn, 5)
        # Back on its 0.1 s interval, not on the outage's backoff (which grows to 30 s).
        assert time.monotonic() - began < 3.0
    finally:
        archiver.stop()
    head = db.log.head_lsn
    db.close()
    restored = tmp_path / "restored"
    code = main(restore_args(own_seaweed, "outage", restored))
    assert code == 0
    assert frames(restored / "log", head) == frames(tmp_path / "data" / "log", head)


def restore_args(server: SeaweedS3, prefix: str, target: Path, *extra: str) -> list[str]:
    return [
        "--data-dir", str(target), "restore", "--from", f"s3://{TEST_BUCKET}/{prefix}",
        "--s3-endpoint", server.url, "--s3-access-key", ACCESS_KEY,
        "--s3-secret-key", SECRET_KEY, *extra,
    ]  # fmt: skip


def state(db: Database, as_of_lsn: int | None = None) -> dict[str, Any]:
    """Everything a client could observe: rows of every table, objects' metadata."""
    tables = ["shop.items", "shop.audit"]
    rows = {
        t: db.execute(f"SELECT * FROM {t} ORDER BY id", as_of_lsn=as_of_lsn).rows for t in tables
    }
    return rows


def test_disaster_recovery_to_the_head_and_to_an_earlier_lsn(
    s3_area: S3Area, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "data"
    db, admin_key = new_database(root)
    db.execute("CREATE SCHEMA shop")
    db.execute("CREATE TABLE shop.items (id INTEGER PRIMARY KEY, name TEXT, price REAL)")
    db.execute("CREATE TABLE shop.audit (id INTEGER PRIMARY KEY, note TEXT)")
    for i in range(60):
        db.execute(
            "INSERT INTO shop.items (id, name, price) VALUES (?, ?, ?)", [i, f"item {i}", i * 1.5]
        )
    db.checkpoint()
    middle = db.log.head_lsn
    observed_middle = state(db)
    db.execute("UPDATE shop.items SET price = price * 2 WHERE id % 3 = 0")
    db.execute("DELETE FROM shop.items WHERE id > 50")
    db.execute_batch([("INSERT INTO shop.audit (id, note) VALUES (1, 'batch')", None),
                      ("UPDATE shop.items SET name = 'renamed' WHERE id = 1", None)])  # fmt: skip
    observed_head = state(db)
    head = db.log.head_lsn
    archiver = archiver_for(db, remote_at(s3_area.server, s3_area.prefix), 1.0)
    assert archiver.sync_now() == head
    db.close()
    kept_keys = tmp_path / "kept-keys"
    shutil.copytree(root / "keys", kept_keys)
    shutil.rmtree(root)

    assert main(restore_args(s3_area.server, s3_area.prefix, root, "--json")) == 0
    report = verify_log(root / "log")
    assert report.ok and any("introduced by a restore" in w for w in report.warnings)
    with Database.open(root) as restored:
        assert state(restored) == observed_head
        assert state(restored, as_of_lsn=middle) == observed_middle

    earlier = tmp_path / "earlier"
    assert main(restore_args(s3_area.server, s3_area.prefix, earlier, "--to-lsn", str(middle))) == 0
    with Database.open(earlier) as restored:
        assert state(restored) == observed_middle
        assert restored.log.head_lsn == middle + 1

    with_keys = tmp_path / "with-keys"
    args = restore_args(
        s3_area.server, s3_area.prefix, with_keys, "--keys", str(kept_keys), "--json"
    )
    capsys.readouterr()
    assert main(args) == 0
    assert '"new_key": false' in capsys.readouterr().out
    assert verify_log(with_keys / "log").warnings == []
    with Database.open(with_keys) as restored, restored.store.snapshot() as snap:
        assert load_key_registry(snap.conn).verify(admin_key, time.time()).scope == "admin"


def test_restore_refuses_a_non_empty_directory(s3_area: S3Area, tmp_path: Path) -> None:
    target = tmp_path / "busy"
    target.mkdir()
    (target / "something").write_text("x")
    assert main(restore_args(s3_area.server, s3_area.prefix, target)) == 1
    assert (target / "something").exists()


def test_serve_runs_the_archive_and_reports_its_lag(
    s3_area: S3Area, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "data"
    initialise(DataDir(root), SEGMENT_BYTES)
    backend = open_backend(root)
    args = build_parser().parse_args(
        ["--data-dir", str(root), "serve", "--s3-endpoint", s3_area.server.url,
         "--s3-access-key", ACCESS_KEY, "--s3-secret-key", SECRET_KEY,
         "--s3-bucket", s3_area.bucket, "--s3-prefix", s3_area.prefix,
         "--archive-interval", "0.2"]
    )  # fmt: skip
    for variable in FLAG_ENV.values():
        monkeypatch.setenv(variable, "")  # restored after the flags are exported
    try:
        with running_archive(serve_settings(args, DataDir(root)), backend):
            lsn = backend.db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)").lsn
            remote = remote_at(s3_area.server, s3_area.prefix)
            deadline = time.monotonic() + 5
            while not remote.list("active/") and time.monotonic() < deadline:
                time.sleep(0.05)
            assert "bkg_archive_lag_records" in backend.metrics.render()
            pieces = remote.list("active/")
        assert pieces and lsn >= 2
    finally:
        backend.close()
