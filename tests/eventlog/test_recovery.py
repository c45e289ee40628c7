"""Recovery on open: a torn tail is cut at every possible byte; damage is refused."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eventlog import CorruptLogError, Entry, EventLog, LogOptions, LogReader, SigningKey
from eventlog.framing import HEADER_SIZE
from eventlog.segments import SEGMENT_HEADER_SIZE, list_segments
from eventlog.verify import verify_log
from tests.eventlog.conftest import write_log


def seal_ends(data: bytes) -> list[tuple[int, int]]:
    """(offset just past each seal, last LSN it covers), walking the frames."""
    ends, offset = [], SEGMENT_HEADER_SIZE
    while offset < len(data):
        length = int.from_bytes(data[offset : offset + 4], "big")
        frame_type, lsn = data[offset + 8], int.from_bytes(data[offset + 9 : offset + 17], "big")
        offset += HEADER_SIZE + length
        if frame_type == 2:
            ends.append((offset, lsn))
    return ends


def test_truncation_at_every_byte_offset_of_the_tail(tmp_path: Path) -> None:
    key = SigningKey.generate()
    log_dir = tmp_path / "log"
    payloads = [{"n": i, "pad": "x" * (i * 7 % 40)} for i in range(12)]
    write_log(log_dir, payloads, key=key, group=3)
    segment = list_segments(log_dir)[0][1]
    original = segment.read_bytes()
    ends = seal_ends(original)
    expected = {r.lsn: r.payload for r in LogReader(log_dir).read()}
    tail_start = ends[0][0]  # everything after the key announcement's group
    for cut in range(tail_start, len(original) + 1):
        segment.write_bytes(original[:cut])
        durable = max(lsn for end, lsn in ends if end <= cut)
        with EventLog.open(log_dir, key) as log:
            assert log.head_lsn == durable, cut
            assert {r.lsn: r.payload for r in log.read()} == {
                lsn: p for lsn, p in expected.items() if lsn <= durable
            }
        assert segment.stat().st_size == max(end for end, _ in ends if end <= cut)


def test_log_keeps_working_after_a_torn_tail(tmp_path: Path) -> None:
    key = SigningKey.generate()
    log_dir = tmp_path / "log"
    write_log(log_dir, list(range(5)), key=key)
    segment = list_segments(log_dir)[0][1]
    segment.write_bytes(segment.read_bytes()[:-5])
    with EventLog.open(log_dir, key) as log:
        assert log.notes and "torn tail" in log.notes[0]
        head = log.head_lsn
        assert log.append(Entry("dml", "after")) == head + 1
    assert [r.payload for r in LogReader(log_dir).read(head + 1)] == ["after"]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_byte_flips_are_never_accepted(
    data: st.DataObject, log_factory: Callable[..., Path]
) -> None:
    key = SigningKey.generate()
    log_dir = log_factory(
        [f"payload-{i}" * 3 for i in range(40)],
        key=key,
        group=4,
        options=LogOptions(segment_bytes=4096),
    )
    before = {r.lsn: r.payload for r in LogReader(log_dir).read()}
    segments = [p for _, p in list_segments(log_dir)]
    # Group boundaries depend on thread timing, so draw positions as fractions.
    target = segments[data.draw(st.integers(0, 10_000)) % len(segments)]
    raw = bytearray(target.read_bytes())
    position = int(data.draw(st.floats(0, 1, exclude_max=True)) * len(raw))
    raw[position] ^= data.draw(st.integers(1, 255))
    target.write_bytes(bytes(raw))
    assert not verify_log(log_dir).ok
    try:
        with EventLog.open(log_dir, key) as log:
            after = {r.lsn: r.payload for r in log.read()}
    except CorruptLogError as refused:
        assert refused.lsn >= 1
        return
    # Accepted only when nothing read back differs: a cut torn tail, or bytes that the
    # open path does not read (a sealed segment's header) -- `verify` names those.
    assert after == {lsn: p for lsn, p in before.items() if lsn <= max(after)}


def test_damage_before_the_last_seal_is_refused(tmp_path: Path) -> None:
    key = SigningKey.generate()
    log_dir = tmp_path / "log"
    write_log(log_dir, [f"record {i}" for i in range(20)], key=key, group=2)
    segment = list_segments(log_dir)[0][1]
    raw = bytearray(segment.read_bytes())
    ends = seal_ends(bytes(raw))
    raw[ends[3][0] + 20] ^= 0xFF  # inside the group after the fourth seal
    segment.write_bytes(bytes(raw))
    with pytest.raises(CorruptLogError) as refused:
        EventLog.open(log_dir, key)
    assert refused.value.lsn == ends[3][1] + 1
    assert "bkgdb verify" in str(refused.value)


def test_sealed_segment_that_changed_size_is_refused(tmp_path: Path) -> None:
    key = SigningKey.generate()
    log_dir = tmp_path / "log"
    write_log(log_dir, ["x" * 100] * 60, key=key, options=LogOptions(segment_bytes=4096))
    first = list_segments(log_dir)[0][1]
    first.write_bytes(first.read_bytes()[:-1])
    with pytest.raises(CorruptLogError) as refused:
        EventLog.open(log_dir, key)
    assert refused.value.lsn == 1


def test_crash_between_sealing_and_next_segment(tmp_path: Path) -> None:
    """A sealed newest segment (successor never created) or a successor torn at creation."""
    key = SigningKey.generate()
    log_dir = tmp_path / "log"
    with EventLog.create(log_dir, key, LogOptions(segment_bytes=4096)) as log:
        first = list_segments(log_dir)[0][1]
        while first.stat().st_size < 4096:  # the group that fills it rotates on close
            log.append(Entry("dml", "y" * 200))
        head = log.head_lsn
    newest = list_segments(log_dir)[-1][1]
    assert newest.stat().st_size == SEGMENT_HEADER_SIZE
    newest.write_bytes(newest.read_bytes()[:10])  # torn while being created
    with EventLog.open(log_dir, key) as log:
        assert log.head_lsn == head
    newest.unlink()  # sealed, but the successor never created
    with EventLog.open(log_dir, key) as log:
        assert log.head_lsn == head
        assert log.append(Entry("dml", "z")) == head + 1
    assert list_segments(log_dir)[-1][0] == head + 1
    assert verify_log(log_dir).ok
