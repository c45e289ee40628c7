"""The consumer machinery: order, restarts from the cursor, retries, and never slowing writers."""

from __future__ import annotations

import asyncio
import tempfile
import threading
import time
from collections.abc import Awaitable, Iterator, Sequence
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eventlog import Entry, EventLog, SealedRecord, SigningKey
from projections.consumers.cursor import CursorFile
from projections.consumers.errors import CursorError
from projections.consumers.runner import ConsumerRunner


class Recorder:
    """A consumer that records the LSNs it is given; it can be made to fail or to hang."""

    name = "recorder"

    def __init__(self, failures: int = 0) -> None:
        self.seen: list[int] = []
        self.failures = failures
        self.gate = threading.Event()
        self.gate.set()
        self.starts = 0

    async def start(self) -> None:
        self.starts += 1

    async def dispatch(self, batch: Sequence[SealedRecord]) -> Awaitable[object]:
        while not self.gate.is_set():
            await asyncio.sleep(0.01)
        if self.failures:
            self.failures -= 1
            raise OSError("the sink is unavailable")
        self.seen.extend(item.record.lsn for item in batch)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done

    async def stop(self) -> None:
        """Nothing to release."""


@pytest.fixture
def log(tmp_path: Path) -> Iterator[EventLog]:
    with EventLog.create(tmp_path / "log", SigningKey.generate()) as opened:
        yield opened


def append(log: EventLog, count: int) -> int:
    pending = [log.submit(Entry("dml", {"n": i})) for i in range(count)]
    return pending[-1].future.result()


def test_catch_up_then_live_in_order_and_restart_after_cursor(
    tmp_path: Path, log: EventLog
) -> None:
    append(log, 50)
    cursor = CursorFile(tmp_path / "consumers", "recorder")
    first = Recorder()
    runner = ConsumerRunner(first, log, cursor, max_batch=7, window=3)
    runner.start()
    head = append(log, 30)
    assert runner.wait_until(head, timeout=10)
    runner.stop()
    assert first.seen == list(range(1, head + 1))
    assert cursor.load() == head
    more = append(log, 5)
    second = Recorder()
    runner = ConsumerRunner(second, log, cursor)
    runner.start()
    assert runner.wait_until(more, timeout=10)
    runner.stop()
    assert second.seen == list(range(head + 1, more + 1))


def test_failures_are_retried_from_the_cursor(tmp_path: Path, log: EventLog) -> None:
    head = append(log, 20)
    consumer = Recorder(failures=2)
    runner = ConsumerRunner(consumer, log, CursorFile(tmp_path, "recorder"), max_batch=5)
    runner.start()
    assert runner.wait_until(head, timeout=10)
    runner.stop()
    assert consumer.seen == list(range(1, head + 1))
    snapshot = runner.stats.snapshot()
    assert snapshot.errors_total == 2 and consumer.starts == 3
    assert snapshot.records_total == head and snapshot.lag == 0


def test_a_stuck_consumer_never_holds_up_writers(tmp_path: Path, log: EventLog) -> None:
    consumer = Recorder()
    runner = ConsumerRunner(consumer, log, CursorFile(tmp_path, "recorder"))
    runner.start()
    assert runner.wait_until(log.head_lsn, timeout=10)
    consumer.gate.clear()
    log.append(Entry("dml", {"n": "stuck here"}))
    began = time.monotonic()
    head = append(log, 2000)
    assert time.monotonic() - began < 5
    assert runner.stats.snapshot().lag >= 2000
    consumer.gate.set()
    assert runner.wait_until(head, timeout=20)
    runner.stop()
    assert consumer.seen == list(range(1, head + 1))


def test_an_idle_consumer_sleeps_on_the_log(tmp_path: Path, log: EventLog) -> None:
    runner = ConsumerRunner(Recorder(), log, CursorFile(tmp_path, "recorder"))
    runner.start()
    assert runner.wait_until(log.head_lsn, timeout=10)
    cpu = time.process_time()
    time.sleep(0.5)
    assert time.process_time() - cpu < 0.05
    lsn = log.append(Entry("dml", {"n": "wake up"}))
    assert runner.wait_until(lsn, timeout=5)
    runner.stop()


def test_cursor_files(tmp_path: Path) -> None:
    cursor = CursorFile(tmp_path, "mirror")
    assert cursor.load() == 0
    cursor.save(41)
    assert CursorFile(tmp_path, "mirror").load() == 41
    assert not list(tmp_path.glob("*.tmp"))
    cursor.path.write_text("{not json")
    with pytest.raises(CursorError):
        cursor.load()
    with pytest.raises(CursorError):
        CursorFile(tmp_path, "../escape")


@settings(max_examples=15, deadline=None)
@given(
    records=st.integers(min_value=1, max_value=120),
    max_batch=st.integers(min_value=1, max_value=40),
    window=st.integers(min_value=1, max_value=5),
    failures=st.integers(min_value=0, max_value=3),
    restart_at=st.integers(min_value=0, max_value=120),
)
def test_any_batching_failures_and_restart_deliver_every_lsn_in_order(
    records: int, max_batch: int, window: int, failures: int, restart_at: int
) -> None:
    with (
        tempfile.TemporaryDirectory() as scratch,
        EventLog.create(Path(scratch) / "log", SigningKey.generate()) as log,
    ):
        cursor = CursorFile(Path(scratch) / "consumers", "recorder")
        head = append(log, records)
        first = Recorder(failures=failures)
        runner = ConsumerRunner(first, log, cursor, max_batch=max_batch, window=window)
        runner.start()
        assert runner.wait_until(min(restart_at, head), timeout=20)
        runner.stop()
        saved = cursor.load()
        assert saved >= min(restart_at, head)
        second = Recorder()
        runner = ConsumerRunner(second, log, cursor, max_batch=max_batch, window=window)
        runner.start()
        assert runner.wait_until(head, timeout=20)
        runner.stop()
        delivered = first.seen + second.seen
        assert sorted(set(delivered)) == list(range(1, head + 1))
        assert second.seen == list(range(saved + 1, head + 1))
