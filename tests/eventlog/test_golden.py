"""Committed bytes of the log format: readable forever, damage failing the same way."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from eventlog import CorruptLogError, EventLog, LogReader, SigningKey
from eventlog.verify import verify_log

DATA = Path(__file__).resolve().parents[1] / "data" / "eventlog"
SEALED, ACTIVE = "00000000000000000001.seg", "00000000000000000018.seg"


def damaged(tmp_path: Path, fixture: str, target: str) -> Path:
    log_dir = tmp_path / "log"
    shutil.copytree(DATA / "golden", log_dir)
    shutil.copy(DATA / fixture, log_dir / target)
    return log_dir


def test_golden_log_still_reads_and_verifies() -> None:
    report = verify_log(DATA / "golden", deep=True)
    assert report.ok, report.reason
    assert (report.records, report.head_lsn, report.segments, len(report.keys)) == (32, 32, 2, 2)
    records = list(LogReader(DATA / "golden").read())
    rows = [r.payload["row"] for r in records if r.kind == "dml"]
    assert rows == list(range(30))
    assert records[1].payload == {"row": 0, "text": "golden " * 8}
    assert (records[1].actor, records[1].namespace) == ("admin", "public")
    assert records[21].payload["type"] == "key.rotated"


def test_flipped_byte_in_a_sealed_segment(tmp_path: Path) -> None:
    log_dir = damaged(tmp_path, "flipped-byte-in-sealed.seg", SEALED)
    report = verify_log(log_dir)
    assert (report.ok, report.first_bad_lsn) == (False, 9)
    assert "CRC" in report.reason
    with (
        EventLog.open(log_dir, SigningKey.generate()) as log,
        pytest.raises(CorruptLogError) as refused,
    ):
        list(log.read())
    assert refused.value.lsn == 9


def test_torn_tail_is_cut_on_open(tmp_path: Path) -> None:
    log_dir = damaged(tmp_path, "torn-tail.seg", ACTIVE)
    report = verify_log(log_dir)
    assert report.ok and report.warnings
    with EventLog.open(log_dir, SigningKey.generate()) as log:
        assert log.head_lsn == 31
        assert log.notes == ["truncated a torn tail of 219 bytes after LSN 31 in " + ACTIVE]


def test_dropped_record_is_refused(tmp_path: Path) -> None:
    log_dir = damaged(tmp_path, "dropped-record.seg", ACTIVE)
    assert verify_log(log_dir).first_bad_lsn == 20
    with pytest.raises(CorruptLogError) as refused:
        EventLog.open(log_dir, SigningKey.generate())
    assert refused.value.lsn == 20
