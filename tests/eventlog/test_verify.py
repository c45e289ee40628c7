"""`verify_log` names the first bad LSN for every kind of tampering."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eventlog import Entry, EventLog, LogOptions, LogReader, SigningKey
from eventlog.framing import HEADER_SIZE, FrameType, encode_frame
from eventlog.keys import announcement
from eventlog.segments import SEGMENT_HEADER_SIZE, list_segments, manifest_path
from eventlog.verify import verify_log
from tests.eventlog.conftest import write_log

Frame = tuple[int, int, bytes]  # (type, lsn, whole frame)


def split(data: bytes) -> tuple[bytes, list[Frame]]:
    frames, offset = [], SEGMENT_HEADER_SIZE
    while offset < len(data):
        end = offset + HEADER_SIZE + int.from_bytes(data[offset : offset + 4], "big")
        frames.append(
            (
                data[offset + 8],
                int.from_bytes(data[offset + 9 : offset + 17], "big"),
                data[offset:end],
            )
        )
        offset = end
    return data[:SEGMENT_HEADER_SIZE], frames


def join(header: bytes, frames: list[Frame]) -> bytes:
    return header + b"".join(frame for _, _, frame in frames)


@pytest.fixture
def single_segment(tmp_path: Path) -> tuple[Path, Path]:
    log_dir = tmp_path / "log"
    write_log(log_dir, [f"event {i}" for i in range(30)], group=3)
    return log_dir, list_segments(log_dir)[0][1]


def events_at(frames: list[Frame], lsn: int) -> int:
    return next(
        i for i, (kind, at, _) in enumerate(frames) if kind == FrameType.EVENT and at == lsn
    )


def test_a_clean_log_verifies(single_segment: tuple[Path, Path]) -> None:
    log_dir, _ = single_segment
    report = verify_log(log_dir, deep=True)
    assert report.ok, report.reason
    assert (report.records, report.head_lsn, report.segments) == (31, 31, 1)


def test_dropped_record(single_segment: tuple[Path, Path]) -> None:
    log_dir, segment = single_segment
    header, frames = split(segment.read_bytes())
    del frames[events_at(frames, 12)]
    segment.write_bytes(join(header, frames))
    report = verify_log(log_dir)
    assert (report.ok, report.first_bad_lsn) == (False, 12)


def test_duplicated_record(single_segment: tuple[Path, Path]) -> None:
    log_dir, segment = single_segment
    header, frames = split(segment.read_bytes())
    at = events_at(frames, 12)
    frames.insert(at + 1, frames[at])
    segment.write_bytes(join(header, frames))
    report = verify_log(log_dir)
    assert (report.ok, report.first_bad_lsn) == (False, 13)


def test_reordered_records(single_segment: tuple[Path, Path]) -> None:
    log_dir, segment = single_segment
    header, frames = split(segment.read_bytes())
    at = events_at(frames, 20)
    frames[at], frames[at + 1] = frames[at + 1], frames[at]
    segment.write_bytes(join(header, frames))
    report = verify_log(log_dir)
    assert not report.ok and report.first_bad_lsn is not None and report.first_bad_lsn <= 20


def test_inserted_record_with_recomputed_crcs(single_segment: tuple[Path, Path]) -> None:
    """An attacker who renumbers and re-frames everything still breaks the chain."""
    log_dir, segment = single_segment
    header, frames = split(segment.read_bytes())
    at = events_at(frames, 15)
    body = frames[at][2][HEADER_SIZE:]
    rebuilt: list[Frame] = [*frames[:at], (1, 15, encode_frame(FrameType.EVENT, 15, body))]
    for frame_type, lsn, frame in frames[at:]:
        rebuilt.append(
            (frame_type, lsn + 1, encode_frame(FrameType(frame_type), lsn + 1, frame[HEADER_SIZE:]))
        )
    segment.write_bytes(join(header, rebuilt))
    report = verify_log(log_dir)
    assert not report.ok and report.first_bad_lsn is not None and report.first_bad_lsn <= 15
    assert "chain" in report.reason


def test_forged_payload_with_valid_crc_fails_the_seal(single_segment: tuple[Path, Path]) -> None:
    log_dir, segment = single_segment
    header, frames = split(segment.read_bytes())
    at = events_at(frames, 7)
    body = frames[at][2][HEADER_SIZE:].replace(b"event 5", b"event X")
    assert body != frames[at][2][HEADER_SIZE:]
    frames[at] = (1, 7, encode_frame(FrameType.EVENT, 7, body))
    segment.write_bytes(join(header, frames))
    report = verify_log(log_dir)
    assert not report.ok and report.first_bad_lsn is not None and report.first_bad_lsn <= 7


def test_resealed_forgery_fails_the_signature(tmp_path: Path) -> None:
    """Recomputing the chain and the seals with another key is caught by the signature."""
    log_dir = tmp_path / "log"
    write_log(log_dir, ["a", "b", "c"])
    segment = list_segments(log_dir)[0][1]
    forger = SigningKey.generate()
    from eventlog.framing import GENESIS_HASH, chain_next
    from eventlog.keys import seal_body

    header, frames = split(segment.read_bytes())
    chain, forged = GENESIS_HASH, []
    for frame_type, lsn, original in frames:
        if frame_type == FrameType.EVENT:
            body = original[HEADER_SIZE:].replace(b"\xa1b", b"\xa1Z")
            frame = encode_frame(FrameType.EVENT, lsn, body)
            chain = chain_next(chain, frame)
        else:
            frame = encode_frame(FrameType.SEAL, lsn, seal_body(forger, lsn, chain))
        forged.append((frame_type, lsn, frame))
    segment.write_bytes(join(header, forged))
    report = verify_log(log_dir)
    assert not report.ok and "signature" in report.reason


def test_key_rotation_across_segments(tmp_path: Path) -> None:
    log_dir = tmp_path / "log"
    keys = [SigningKey.generate() for _ in range(3)]
    with EventLog.create(log_dir, keys[0], LogOptions(segment_bytes=4096)) as log:
        for round_, key in enumerate([None, keys[1], keys[2]]):
            if key is not None:
                log.rotate_key(key)
            for i in range(40):
                log.append(Entry("dml", f"round {round_} event {i} " + "p" * 60))
    assert len(list_segments(log_dir)) > 3
    for deep in (False, True):
        report = verify_log(log_dir, deep=deep)
        assert report.ok, report.reason
        assert set(report.keys) == {k.key_id for k in keys}
    pinned = {keys[0].key_id: keys[0].public_bytes}
    assert verify_log(log_dir, trusted_keys=pinned).ok
    other = SigningKey.generate()
    assert not verify_log(log_dir, trusted_keys={other.key_id: other.public_bytes}).ok


def test_unendorsed_key_is_rejected(tmp_path: Path) -> None:
    log_dir = tmp_path / "log"
    first, intruder = SigningKey.generate(), SigningKey.generate()
    with EventLog.create(log_dir, first) as log:
        log.append(Entry("system", announcement(intruder, None, "forged")))
    report = verify_log(log_dir)
    assert (report.ok, report.first_bad_lsn) == (False, 2)
    assert "unendorsed" in report.reason


def test_a_seal_by_a_retired_key_is_rejected(tmp_path: Path) -> None:
    log_dir = tmp_path / "log"
    old, new = SigningKey.generate(), SigningKey.generate()
    with EventLog.create(log_dir, old) as log:
        log.rotate_key(new)
        log._key = old  # a writer that kept signing with the rotated-out key
        log.append(Entry("dml", "late"))
    report = verify_log(log_dir, deep=True)
    assert not report.ok and report.first_bad_lsn == 3


def test_manifest_tampering(tmp_path: Path) -> None:
    log_dir = tmp_path / "log"
    write_log(log_dir, ["m" * 300] * 30, options=LogOptions(segment_bytes=4096))
    manifest = manifest_path(list_segments(log_dir)[1][1])
    fields = json.loads(manifest.read_text())
    fields["count"] += 1
    manifest.write_text(json.dumps(fields))
    report = verify_log(log_dir)
    assert not report.ok and "count" in report.reason
    fields["count"] -= 1
    fields["signature"] = "00" * 64
    manifest.write_text(json.dumps(fields))
    report = verify_log(log_dir)
    assert not report.ok and "manifest signature" in report.reason
    manifest.unlink()
    assert "no manifest" in verify_log(log_dir).reason


def test_reader_refuses_a_damaged_sealed_segment(tmp_path: Path) -> None:
    log_dir = tmp_path / "log"
    write_log(log_dir, ["r" * 300] * 30, options=LogOptions(segment_bytes=4096))
    segment = list_segments(log_dir)[0][1]
    raw = bytearray(segment.read_bytes())
    raw[len(raw) // 2] ^= 1
    segment.write_bytes(bytes(raw))
    from eventlog import CorruptLogError

    with pytest.raises(CorruptLogError):
        list(LogReader(log_dir).read())
