"""Restore from an archive kept in a local folder (the same `Remote` interface as S3):
cuts inside a group commit, damaged archives, and how verifiers treat the restore key."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from eventlog import Entry, EventLog, LogOptions, LogReader, SigningKey
from eventlog.incoming import MarkScanner
from eventlog.verify import verify_log
from projections.archive.archiver import Archiver
from projections.archive.errors import ArchiveError, RestoreError
from projections.archive.restore import restore_log
from projections.blobs.local import LocalBlobStore


@pytest.fixture
def archived(tmp_path: Path) -> Iterator[tuple[Path, LocalBlobStore, SigningKey]]:
    """A log of 300 records in groups of many, archived whole into a local folder."""
    key = SigningKey.generate()
    log_dir = tmp_path / "log"
    remote = LocalBlobStore(tmp_path / "archive")
    with EventLog.create(log_dir, key, LogOptions(segment_bytes=8192)) as log:
        for start in range(0, 300, 25):
            pending = [
                log.submit(Entry("dml", {"n": n, "pad": "x" * 40}))
                for n in range(start, start + 25)
            ]
            for item in pending:
                item.future.result()
        archiver = Archiver(log, log_dir, tmp_path / "cp", tmp_path / "consumers", remote)
        assert archiver.sync_now() == log.head_lsn
    yield log_dir, remote, key


def test_cut_inside_a_group_keeps_exactly_the_records_before_it(
    archived: tuple[Path, LocalBlobStore, SigningKey], tmp_path: Path
) -> None:
    log_dir, remote, _ = archived
    sealed_ends = {r.record.lsn for r in LogReader(log_dir).read_sealed(1) if r.seal is not None}
    target = next(lsn for lsn in range(150, 300) if lsn not in sealed_ends)
    new_key = SigningKey.generate()
    report = restore_log(remote, tmp_path / "restored", new_key, target)
    assert (report.restored_lsn, report.record_lsn, report.new_key) == (target, target + 1, True)
    original = [r.frame for r in LogReader(log_dir).read(1, target)]
    restored = list(LogReader(tmp_path / "restored").read(1))
    assert [r.frame for r in restored[:-1]] == original
    assert restored[-1].payload["type"] == "key.restored"
    assert restored[-1].payload["restored_lsn"] == target
    check = verify_log(tmp_path / "restored", deep=True)
    assert check.ok and check.head_lsn == target + 1 and len(check.warnings) == 1
    with EventLog.open(tmp_path / "restored", new_key) as reopened:
        assert reopened.append(Entry("dml", {"after": True})) == target + 2
    assert verify_log(tmp_path / "restored", deep=True).ok


def test_pinned_verifiers_refuse_an_untrusted_restore_key(
    archived: tuple[Path, LocalBlobStore, SigningKey], tmp_path: Path
) -> None:
    _, remote, old = archived
    new_key = SigningKey.generate()
    restore_log(remote, tmp_path / "restored", new_key)
    pinned = verify_log(tmp_path / "restored", trusted_keys={old.key_id: old.public_bytes})
    assert not pinned.ok and "not among the trusted keys" in pinned.reason
    both = {old.key_id: old.public_bytes, new_key.key_id: new_key.public_bytes}
    assert verify_log(tmp_path / "restored", trusted_keys=both).ok


def test_the_original_key_continues_without_an_announcement(
    archived: tuple[Path, LocalBlobStore, SigningKey], tmp_path: Path
) -> None:
    _, remote, old = archived
    report = restore_log(remote, tmp_path / "restored", old)
    assert not report.new_key
    check = verify_log(tmp_path / "restored", trusted_keys={old.key_id: old.public_bytes})
    assert check.ok and check.warnings == []


def flip_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def test_a_damaged_sealed_segment_is_refused(
    archived: tuple[Path, LocalBlobStore, SigningKey], tmp_path: Path
) -> None:
    _, remote, key = archived
    flip_byte(sorted((remote.root / "log").glob("*.seg"))[1], 200)
    with pytest.raises(RestoreError, match="does not match its manifest"):
        restore_log(remote, tmp_path / "restored", key)


def test_a_damaged_active_piece_fails_verification(
    archived: tuple[Path, LocalBlobStore, SigningKey], tmp_path: Path
) -> None:
    _, remote, key = archived
    piece = sorted(p for p in (remote.root / "active").rglob("*") if p.is_file())[0]
    flip_byte(piece, 300)
    with pytest.raises(RestoreError, match="fails verification at LSN"):
        restore_log(remote, tmp_path / "restored", key)


def test_an_lsn_beyond_the_archive_and_a_used_directory_are_refused(
    archived: tuple[Path, LocalBlobStore, SigningKey], tmp_path: Path
) -> None:
    _, remote, key = archived
    with pytest.raises(RestoreError, match="outside the archive"):
        restore_log(remote, tmp_path / "far", key, 10_000)
    used = tmp_path / "used"
    used.mkdir()
    (used / "x").write_text("x")
    with pytest.raises(RestoreError, match="not empty"):
        restore_log(remote, used, key)


def test_a_resealed_forgery_fails_its_manifest_signature(
    archived: tuple[Path, LocalBlobStore, SigningKey], tmp_path: Path
) -> None:
    _, remote, key = archived
    segment = sorted((remote.root / "log").glob("*.seg"))[1]
    flip_byte(segment, 200)
    manifest_file = segment.with_suffix(".manifest")
    manifest = json.loads(manifest_file.read_text())
    manifest["sha256"] = hashlib.sha256(segment.read_bytes()).hexdigest()
    manifest_file.write_text(json.dumps(manifest))
    with pytest.raises(RestoreError, match="bad manifest signature"):
        restore_log(remote, tmp_path / "restored", key)


def test_keys_rotated_inside_archived_segments_are_followed(tmp_path: Path) -> None:
    first, second = SigningKey.generate(), SigningKey.generate()
    log_dir, remote = tmp_path / "log", LocalBlobStore(tmp_path / "archive")
    with EventLog.create(log_dir, first, LogOptions(segment_bytes=4096)) as log:
        for n in range(60):
            log.append(Entry("dml", {"n": n, "pad": "x" * 40}))
        log.rotate_key(second)
        for n in range(60):
            log.append(Entry("dml", {"n": n, "pad": "y" * 40}))
        head = log.head_lsn
        Archiver(log, log_dir, tmp_path / "cp", tmp_path / "c", remote).sync_now()
    report = restore_log(remote, tmp_path / "restored", second)
    assert (report.head_lsn, report.new_key) == (head, False)
    pinned = verify_log(tmp_path / "restored", trusted_keys={first.key_id: first.public_bytes})
    assert pinned.ok and pinned.warnings == []


def test_pieces_without_manifests_are_walked_instead(
    archived: tuple[Path, LocalBlobStore, SigningKey], tmp_path: Path
) -> None:
    log_dir, remote, key = archived
    manifests = list((remote.root / "active").rglob("*.manifest"))
    assert manifests
    for manifest in manifests:
        manifest.unlink()
    report = restore_log(remote, tmp_path / "restored", key)
    head = [r.frame for r in LogReader(log_dir).read(1)]
    assert [r.frame for r in LogReader(tmp_path / "restored").read(1, report.head_lsn)] == head
    piece = sorted(p for p in (remote.root / "active").rglob("*") if p.is_file())[-1]
    flip_byte(piece, piece.stat().st_size - 150)
    with pytest.raises(RestoreError, match="fails verification at LSN"):
        restore_log(remote, tmp_path / "again", key)


@pytest.mark.parametrize("cut", range(1, 12))
def test_key_marks_are_found_across_chunk_boundaries(cut: int) -> None:
    stream = b"xxxxkey.yyykey.zz"
    scanner = MarkScanner()
    for chunk in (stream[:cut], stream[cut:]):
        scanner.feed(chunk)
    assert scanner.last == stream.rfind(b"key.")


def test_passes_that_find_a_fresh_empty_segment_archive_nothing_of_it(tmp_path: Path) -> None:
    key, log_dir = SigningKey.generate(), tmp_path / "log"
    remote = LocalBlobStore(tmp_path / "archive")
    with EventLog.create(log_dir, key, LogOptions(segment_bytes=4096)) as log:
        archiver = Archiver(log, log_dir, tmp_path / "cp", tmp_path / "c", remote)
        archiver.sync_now()
        while (log.spans()[-1].end or 0) < 4096:
            log.append(Entry("dml", {"pad": "z" * 100}))
        while len(log.spans()) < 2:
            time.sleep(0.001)  # the writer starts the next segment just after acknowledging
        fresh = log.spans()[-1]
        assert fresh.last_lsn == fresh.base_lsn - 1
        archiver.sync_now()
        for n in range(10):
            log.append(Entry("dml", {"n": n}))
            if n % 3 == 0:
                archiver.sync_now()
        head = archiver.sync_now()
    pieces = [p for p in (remote.root / "active").rglob("*") if p.is_file() and not p.suffix]
    assert pieces and all(p.with_suffix(".manifest").exists() for p in pieces)
    report = restore_log(remote, tmp_path / "restored", key)
    assert report.head_lsn == head
    assert [r.frame for r in LogReader(tmp_path / "restored").read(1, head)] == [
        r.frame for r in LogReader(log_dir).read(1, head)
    ]


def test_a_restored_copy_may_not_archive_over_its_former_history(
    archived: tuple[Path, LocalBlobStore, SigningKey], tmp_path: Path
) -> None:
    _, remote, key = archived
    restore_log(remote, tmp_path / "restored", key, 100)
    with EventLog.open(tmp_path / "restored", key) as log:
        archiver = Archiver(log, tmp_path / "restored", tmp_path / "cp", tmp_path / "c2", remote)
        with pytest.raises(ArchiveError, match="another history"):
            archiver.sync_now()


def test_a_copy_restored_at_the_head_replaces_the_stale_pieces(tmp_path: Path) -> None:
    key, log_dir = SigningKey.generate(), tmp_path / "log"
    remote = LocalBlobStore(tmp_path / "archive")
    with EventLog.create(log_dir, key, LogOptions(segment_bytes=1 << 20)) as log:
        archiver = Archiver(log, log_dir, tmp_path / "cp", tmp_path / "c", remote)
        for n in range(6):
            log.append(Entry("dml", {"n": n}))
            archiver.sync_now()
    assert len(list((remote.root / "active").rglob("*.manifest"))) == 6
    first = restore_log(remote, tmp_path / "restored", key)
    with EventLog.open(tmp_path / "restored", key) as log:
        log.append(Entry("dml", {"after": "restore"}))
        archiver = Archiver(log, tmp_path / "restored", tmp_path / "cp", tmp_path / "c2", remote)
        head = archiver.sync_now()
    again = restore_log(remote, tmp_path / "again", key)
    assert again.head_lsn == head == first.record_lsn + 1
