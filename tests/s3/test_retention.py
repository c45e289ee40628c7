"""Tiered retention against real S3 (SeaweedFS): archived sealed segments leave local disk,
reads of their LSNs fetch them back, and nothing goes before the archive confirmed it."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from api.cli import build_parser, main
from api.cli.serve_command import serve_settings
from api.database import Database
from api.datadir import DataDir
from api.initialise import initialise
from api.wiring import running_archive
from eventlog import CorruptLogError, LogReader, PrunedSegmentError
from eventlog.segments import file_sha256, format_segment_name, manifest_path
from projections.archive import layout
from projections.archive.archiver import CURSOR_FILE, ArchiveCursor, Archiver
from projections.archive.fetch import ArchiveFetcher
from projections.archive.retention import prune
from projections.blobs.s3 import S3BlobStore
from tests.http.conftest import open_backend

SEGMENT_BYTES = 4096
ALL_ROWS = "SELECT id, v FROM t ORDER BY id"


@dataclass
class Observed:
    """What a client saw before pruning: the full state and a past one."""

    middle: int
    full: list[list[Any]]
    past: list[list[Any]]
    checkpoint_lsn: int


def write_rows(db: Database, ids: range) -> None:
    for i in ids:
        db.execute("INSERT INTO t (id, v) VALUES (?, ?)", [i, f"row {i} " + "x" * 200])


def new_database(root: Path) -> Database:
    initialise(DataDir(root), SEGMENT_BYTES)
    return Database.open(root)


def archiver_for(db: Database, remote: S3BlobStore) -> Archiver:
    data = db.data
    return Archiver(db.log, data.log, data.checkpoints, data.consumers, remote)


def fill(db: Database, remote: S3BlobStore) -> tuple[Archiver, Observed]:
    """Several sealed segments, an archived checkpoint, more sealed segments after it."""
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    write_rows(db, range(20))
    middle = db.log.head_lsn - 5
    write_rows(db, range(20, 50))
    archiver = archiver_for(db, remote)
    archiver.sync_now()
    checkpoint = db.checkpoint()
    write_rows(db, range(50, 80))
    db.execute("UPDATE t SET v = 'changed' WHERE id < 10")
    archiver.sync_now()
    full = db.execute(ALL_ROWS).rows
    past = db.execute(ALL_ROWS, as_of_lsn=middle).rows
    assert len(past) < len(full)
    return archiver, Observed(middle, full, past, checkpoint.lsn)


def cli_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    code = main(list(argv))
    out = capsys.readouterr().out.strip().splitlines()
    return code, json.loads(out[-1]) if code == 0 else {}


def test_pruned_segments_are_read_back_from_the_archive(
    remote: S3BlobStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "data"
    db = new_database(root)
    archiver, seen = fill(db, remote)
    report = prune(db.log, 1, archiver.cursor, remote)
    assert report.pruned and report.pruned_through_lsn <= seen.checkpoint_lsn
    assert "after the newest archived checkpoint" in report.stopped
    assert report.pruned_through_lsn >= seen.middle  # the past read needs pruned LSNs
    pruned = db.log.pruned_manifests
    for manifest in pruned:
        segment = root / "log" / format_segment_name(manifest.first_lsn)
        assert not segment.exists() and manifest_path(segment).exists()
    assert db.execute(ALL_ROWS, as_of_lsn=seen.middle + 1).rows != seen.past
    db.close()

    db = Database.open(root)  # recovery starts at the first local segment
    try:
        assert [m.segment for m in db.log.pruned_manifests] == [m.segment for m in pruned]
        assert db.execute(ALL_ROWS).rows == seen.full
        assert db.execute(ALL_ROWS, as_of_lsn=seen.middle).rows == seen.past
        fetcher = db.log.segment_source
        assert isinstance(fetcher, ArchiveFetcher) and fetcher.downloads >= 1
        db.execute("INSERT INTO t (id, v) VALUES (1000, 'after pruning')")
    finally:
        db.close()

    out = tmp_path / "past.sqlite"
    argv = ["--data-dir", str(root), "replay", "--to-lsn", str(seen.middle), "--out", str(out)]
    code, replayed = cli_json(capsys, *argv, "--json")
    assert code == 0 and replayed["lsn"] == seen.middle and replayed["records"] == seen.middle
    code, checked = cli_json(capsys, "--data-dir", str(root), "verify", "--json")
    assert code == 0 and checked["ok"]
    assert checked["pruned_unchecked"] == [m.segment for m in pruned]
    assert checked["head_lsn"] > pruned[-1].last_lsn
    code, fetched = cli_json(
        capsys, "--data-dir", str(root), "verify", "--fetch-archived", "--json"
    )
    assert code == 0 and fetched["ok"] and fetched["pruned_fetched"] == len(pruned)
    assert fetched["pruned_unchecked"] == [] and fetched["records"] > checked["records"]


def test_prune_refuses_what_the_archive_has_not_confirmed(
    remote: S3BlobStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "data"
    db = new_database(root)
    archiver, seen = fill(db, remote)
    sealed = db.log.sealed_manifests
    first, second = sealed[0], sealed[1]
    report = prune(db.log, 0, ArchiveCursor(), remote)
    assert report.pruned == [] and "no checkpoint" in report.stopped
    only_first = ArchiveCursor(segment=second.first_lsn, checkpoint_lsn=seen.checkpoint_lsn)
    remote.delete(layout.segment_key(first.first_lsn, "seg"))
    report = prune(db.log, 0, only_first, remote)
    assert report.pruned == [] and "does not hold" in report.stopped
    assert (root / "log" / format_segment_name(first.first_lsn)).exists()
    archiver.cursor.segment = 1  # the next pass uploads every sealed segment again
    archiver.sync_now()
    report = prune(db.log, 0, only_first, remote)
    assert report.pruned == [first.segment]
    assert f"has not confirmed {second.segment}" in report.stopped
    assert main(["--data-dir", str(root), "log", "prune", "--json"]) != 0  # the server holds it
    assert "held" in capsys.readouterr().err
    db.close()

    code, result = cli_json(capsys, "--data-dir", str(root), "log", "prune", "--json")
    assert code == 0 and result["pruned"] and second.segment in result["pruned"]
    assert result["pruned_through_lsn"] <= seen.checkpoint_lsn < sealed[-1].last_lsn
    assert "after the newest archived checkpoint" in result["stopped"]


def test_a_tampered_download_is_never_read(remote: S3BlobStore, tmp_path: Path) -> None:
    root = tmp_path / "data"
    db = new_database(root)
    archiver, _ = fill(db, remote)
    prune(db.log, 0, archiver.cursor, remote)
    first = db.log.pruned_manifests[0]
    expected = [record.frame for record in db.log.read(1, first.last_lsn)]
    (root / "consumers" / CURSOR_FILE).unlink()  # a lost cursor: pruned ones are confirmed
    assert archiver_for(db, remote).sync_now() == db.log.head_lsn
    db.close()

    log_dir = root / "log"
    with pytest.raises(PrunedSegmentError):
        list(LogReader(log_dir).read(1, 2))  # no archive configured: a clear refusal
    fetcher = ArchiveFetcher(remote, log_dir, root / "log-cache")
    cached = fetcher(first.first_lsn)
    downloads = fetcher.downloads
    data = bytearray(cached.read_bytes())
    data[len(data) // 2] ^= 0x01
    cached.write_bytes(bytes(data))  # a damaged cached copy is fetched again
    reader = LogReader(log_dir, fetcher)
    assert [record.frame for record in reader.read(1, first.last_lsn)] == expected
    assert fetcher.downloads == downloads + 1 and file_sha256(cached) == first.sha256

    key = layout.segment_key(first.first_lsn, "seg")
    remote.put(key, [bytes(data)])  # a tampered archived copy is refused
    cached.unlink()
    with pytest.raises(CorruptLogError, match="does not match its local manifest"):
        list(reader.read(1, first.last_lsn))
    assert not cached.exists()


def test_serve_prunes_by_its_retention_setting(remote: S3BlobStore, tmp_path: Path) -> None:
    root = tmp_path / "data"
    initialise(DataDir(root), SEGMENT_BYTES)
    backend = open_backend(root)
    args = build_parser().parse_args(
        ["--data-dir", str(root), "serve", "--archive-interval", "0.1",
         "--retain-local-segments", "2"]
    )  # fmt: skip
    db = backend.db
    try:
        with running_archive(serve_settings(args, DataDir(root)), backend):
            db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
            write_rows(db, range(60))
            full = db.execute(ALL_ROWS).rows
            past = db.execute(ALL_ROWS, as_of_lsn=10).rows
            time.sleep(0.3)  # no checkpoint archived yet: nothing may go
            assert db.log.pruned_manifests == []
            db.checkpoint()
            deadline = time.monotonic() + 10
            while not db.log.pruned_manifests and time.monotonic() < deadline:
                time.sleep(0.05)
            assert db.log.pruned_manifests and len(db.log.sealed_manifests) >= 2
            db.time_travel.clear()
            assert db.execute(ALL_ROWS, as_of_lsn=10).rows == past
            assert db.execute(ALL_ROWS).rows == full
    finally:
        backend.close()
