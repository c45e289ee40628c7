"""The writer's contract: gapless FIFO LSNs, group commit, async use, one writer only."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from eventlog import (
    AppendError,
    Entry,
    EventLog,
    LogLockedError,
    LogOptions,
    LogReader,
    SigningKey,
)


@pytest.fixture
def log(tmp_path: Path) -> EventLog:
    created = EventLog.create(
        tmp_path / "log", SigningKey.generate(), LogOptions(segment_bytes=8192)
    )
    yield created
    created.close()


def test_concurrent_appenders_get_gapless_lsns_and_share_fsyncs(log: EventLog) -> None:
    results: dict[int, str] = {}
    lock = threading.Lock()

    def work(worker: int) -> None:
        for i in range(200):
            payload = f"{worker}:{i}"
            lsn = log.append(Entry("dml", payload))
            with lock:
                results[lsn] = payload

    threads = [threading.Thread(target=work, args=(n,)) for n in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == list(range(2, 2 + 32 * 200))
    assert {r.lsn: r.payload for r in log.read(2)} == results
    seals = sum(p.read_bytes().count(b"\x02\x00\x00\x00") for p in log.log_dir.glob("*.seg"))
    assert 0 < seals < 32 * 200  # fewer group commits than records


def test_submit_assigns_lsns_in_submission_order(log: EventLog) -> None:
    pending = [log.submit(Entry("dml", i)) for i in range(100)]
    assert [p.lsn for p in pending] == list(range(2, 102))
    assert [p.future.result(5) for p in pending] == [p.lsn for p in pending]
    stamps = [r.ts_us for r in log.read()]
    assert stamps == sorted(stamps)


def test_reads_from_any_lsn_across_segments(log: EventLog) -> None:
    for i in range(400):
        log.append(Entry("dml", {"i": i, "pad": "z" * 40}, actor="tester", namespace="ns"))
    assert len(list(log.log_dir.glob("*.seg"))) > 3
    everything = list(log.read())
    for start in (1, 2, 63, 64, 65, 200, 399, 401):
        assert list(log.read(start, start + 37)) == everything[start - 1 : start + 37]
    assert list(LogReader(log.log_dir).read(150, 160)) == everything[149:160]
    record = everything[10]
    assert (record.kind, record.actor, record.namespace) == ("dml", "tester", "ns")


def test_asyncio_appenders_and_follow(log: EventLog) -> None:
    async def scenario() -> list[int]:
        seen: list[int] = []

        async def follower() -> None:
            async for record in log.follow(1):
                seen.append(record.lsn)
                if record.lsn == 201:
                    return

        task = asyncio.create_task(follower())
        lsns = await asyncio.gather(*(log.append_async(Entry("dml", i)) for i in range(200)))
        await asyncio.wait_for(task, 10)
        assert sorted(lsns) == list(range(2, 202))
        return seen

    assert asyncio.run(scenario()) == list(range(1, 202))


def test_wait_for_blocks_until_durable(log: EventLog) -> None:
    assert not log.wait_for(5, timeout=0.05)
    threading.Timer(0.05, lambda: [log.append(Entry("dml", i)) for i in range(4)]).start()
    assert log.wait_for(5, timeout=5)


def test_second_writer_in_same_process_is_refused(log: EventLog) -> None:
    with pytest.raises(LogLockedError) as refused:
        EventLog.open(log.log_dir, SigningKey.generate())
    assert "pid" in str(refused.value)


def test_second_writer_process_is_refused_with_the_holder_named(log: EventLog) -> None:
    code = (
        "import sys; from pathlib import Path; from eventlog import EventLog, SigningKey, "
        "LogLockedError\ntry:\n    EventLog.open(Path(sys.argv[1]), SigningKey.generate())\n"
        "except LogLockedError as e:\n    print(e.holder); sys.exit(3)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(log.log_dir)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 3, done.stderr
    import os

    assert f"pid {os.getpid()}" in done.stdout


def test_reader_in_another_process_sees_only_sealed_records(log: EventLog) -> None:
    for i in range(50):
        log.append(Entry("dml", i))
    # An unsealed group at the end (as if being written right now) is not visible.
    from eventlog.framing import FrameType, encode_frame

    segment = sorted(log.log_dir.glob("*.seg"))[-1]
    with open(segment, "ab") as handle:
        handle.write(
            encode_frame(FrameType.EVENT, log.head_lsn + 1, b"\x96\x01\x00\xa1x\xa1y\xc0\xc0")
        )
    reader = LogReader(log.log_dir)
    assert reader.head_lsn == log.head_lsn
    assert [r.lsn for r in reader.read(log.head_lsn)] == [log.head_lsn]


def test_oversized_and_closed_appends_fail(tmp_path: Path) -> None:
    options = LogOptions(max_record_bytes=1000)
    log = EventLog.create(tmp_path / "log", SigningKey.generate(), options)
    with pytest.raises(AppendError, match="exceeds"):
        log.append(Entry("dml", b"x" * 2000))
    log.close()
    with pytest.raises(AppendError, match="closed"):
        log.append(Entry("dml", b"x"))
    assert LogReader(tmp_path / "log").head_lsn == 1


def test_options_are_validated() -> None:
    with pytest.raises(ValueError):
        LogOptions(segment_bytes=10)
    with pytest.raises(ValueError):
        LogOptions(batch_delay_s=-1)


def test_read_sealed_ships_each_groups_stored_seal(log: EventLog) -> None:
    for burst in range(5):
        pending = [log.submit(Entry("dml", f"{burst}-{i}")) for i in range(burst + 1)]
        [p.future.result(5) for p in pending]
    from eventlog.framing import FrameType, decode_frame
    from eventlog.keys import KeyRing, parse_seal, seal_message

    ring = KeyRing({log.signing_key.key_id: log.signing_key.public_bytes})
    sealed = list(log.read_sealed())
    assert [s.record for s in sealed] == list(log.read())
    seals = [(s.record, s.seal) for s in sealed if s.seal is not None]
    assert seals[-1][0].lsn == log.head_lsn
    for record, seal in seals:
        frame = decode_frame(seal, 0)
        key_id, signature, head = parse_seal(frame.body)
        assert (frame.type, frame.lsn, head) == (FrameType.SEAL, record.lsn, record.chain_hash)
        assert ring.verify(key_id, signature, seal_message(record.lsn, head))
    assert LogReader(log.log_dir).read_sealed(3) is not None
    assert [s.seal for s in LogReader(log.log_dir).read_sealed()] == [s.seal for s in sealed]


def test_opening_a_missing_directory_says_so(tmp_path: Path) -> None:
    from eventlog import LogError

    with pytest.raises(LogError, match="not a log directory"):
        EventLog.open(tmp_path / "nowhere", SigningKey.generate())
    assert not (tmp_path / "nowhere").exists()


def test_staged_entries_wait_for_sync_which_writes_them_in_the_calling_thread(
    log: EventLog,
) -> None:
    writers: list[int] = []
    log.commit_observer = lambda records, seconds: writers.append(threading.get_ident())
    staged = [log.stage(Entry("dml", f"row {i}")) for i in range(3)]
    assert [p.lsn for p in staged] == [2, 3, 4]
    assert not log.wait_for(2, timeout=0.2)  # nothing woke the writer thread
    log.sync(staged[1].lsn)
    assert log.head_lsn == 4  # one group: everything queued up to the head of the queue
    assert all(p.future.done() for p in staged)
    assert writers == [threading.get_ident()]
    assert log.append(Entry("dml", "after")) == 5  # the writer thread still writes
    assert [r.payload for r in log.read(2)] == ["row 0", "row 1", "row 2", "after"]


def test_sync_and_the_writer_thread_interleave_groups_in_lsn_order(log: EventLog) -> None:
    def stage_and_sync(worker: int) -> None:
        for i in range(50):
            pending = log.stage(Entry("dml", f"s{worker}:{i}"))
            log.sync(pending.lsn)
            assert pending.future.result(0) == pending.lsn

    def append(worker: int) -> None:
        for i in range(50):
            log.append(Entry("dml", f"a{worker}:{i}"))

    threads = [threading.Thread(target=stage_and_sync, args=(w,)) for w in range(4)]
    threads += [threading.Thread(target=append, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.lsn for r in log.read()] == list(range(1, 402))
    assert len({r.payload for r in log.read(2)}) == 400
