"""Pruned segments: manifests kept, files gone; recovery, reads through a segment source,
and verify around them (the archive side is tested against S3 in tests/s3)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from eventlog import CorruptLogError, Entry, EventLog, LogOptions, PrunedSegmentError, SigningKey
from eventlog.segments import format_segment_name, manifest_path
from eventlog.verify import verify_log
from tests.eventlog.conftest import write_log

OPTIONS = LogOptions(segment_bytes=4096)


@pytest.fixture
def key() -> SigningKey:
    return SigningKey.generate()


def pruned_log(tmp_path: Path, key: SigningKey) -> tuple[Path, Path, list[bytes], int]:
    """A log of several segments whose two oldest are pruned; a copy of them kept aside."""
    log_dir, aside = tmp_path / "log", tmp_path / "aside"
    write_log(log_dir, [{"n": i, "pad": "x" * 200} for i in range(80)], key, OPTIONS)
    shutil.copytree(log_dir, aside)
    with EventLog.open(log_dir, key, OPTIONS) as log:
        frames = [record.frame for record in log.read()]
        through = log.sealed_manifests[1].last_lsn
        assert [m.last_lsn for m in log.prune(through)][-1] == through
    return log_dir, aside, frames, through


def test_a_pruned_log_reopens_and_reads_through_its_source(tmp_path: Path, key: SigningKey) -> None:
    log_dir, aside, frames, through = pruned_log(tmp_path, key)
    assert not (log_dir / format_segment_name(1)).exists()
    assert manifest_path(log_dir / format_segment_name(1)).exists()
    with EventLog.open(log_dir, key, OPTIONS) as log:
        assert [m.last_lsn for m in log.pruned_manifests][-1] == through
        assert [r.frame for r in log.read(through + 1)] == frames[through:]
        with pytest.raises(PrunedSegmentError):
            list(log.read(1, 1))
        log.segment_source = lambda base: aside / format_segment_name(base)
        assert [r.frame for r in log.read()] == frames
        lsn = log.append(Entry("dml", {"after": "pruning"}))
    assert lsn == len(frames) + 1


def test_verify_reports_pruned_segments_or_fetches_them(tmp_path: Path, key: SigningKey) -> None:
    log_dir, aside, frames, through = pruned_log(tmp_path, key)
    report = verify_log(log_dir, {key.key_id: key.public_bytes})
    assert report.ok, report.reason
    assert report.pruned_unchecked == [format_segment_name(1), report.pruned_unchecked[1]]
    assert report.records == len(frames) - through
    fetched = verify_log(log_dir, fetch=lambda base: aside / format_segment_name(base))
    assert fetched.ok and fetched.records == len(frames) and fetched.pruned_fetched == 2


def test_a_broken_chain_of_pruned_manifests_is_refused(tmp_path: Path, key: SigningKey) -> None:
    log_dir, _, _, _ = pruned_log(tmp_path, key)
    manifest = manifest_path(log_dir / format_segment_name(1))
    fields = json.loads(manifest.read_text())
    fields["chain_head"] = "00" * 32
    manifest.write_text(json.dumps(fields))
    with pytest.raises(CorruptLogError):
        EventLog.open(log_dir, key, OPTIONS)
    report = verify_log(log_dir, {key.key_id: key.public_bytes})
    assert not report.ok and report.first_bad_lsn == fields["last_lsn"] + 1
