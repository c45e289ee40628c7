"""The record sources realtime reads: a primary's log and a replica's history answer the
same reads with the same records, wake `follow` on new ones, and refuse (before any stream
starts) what they do not hold -- pruned segments, records before a replica's seed."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from api.auth.principal import ADMIN
from api.realtime.access import Access, Filters
from api.realtime.catchup import CatchUp
from api.realtime.errors import HistoryGoneError
from api.realtime.hub import Hub, store_connection
from api.realtime.position import Position
from api.realtime.source import RecordSource, check_readable
from api.realtime.stream import subscription
from api.realtime.subscriber import Subscriber
from api.rls.policy import PolicySet
from eventlog import Entry, EventLog, LogOptions, Record, SigningKey
from projections.consumers import replica_history
from projections.consumers.errors import HistoryUnavailableError
from projections.consumers.replica_history import (
    ReplicaHistory,
    ensure_history,
    history_base,
    keep_records,
    trim_history,
)
from projections.meta import set_applied_lsn
from projections.store import ProjectionStore, StoreLock

OPTIONS = LogOptions(segment_bytes=4096)
RECORDS = 30


class Source:
    """A primary log and one source of its records: the log itself, or a replica's history
    fed from it batch by batch as `KafkaReplica` feeds its own (records and applied LSN in
    one transaction, then the store and the history are told)."""

    def __init__(self, log: EventLog, store: ProjectionStore | None) -> None:
        self.log, self.store = log, store
        self.history = ReplicaHistory(store) if store is not None else None
        self.source: RecordSource = self.history if self.history is not None else log

    def append(self, n: int) -> int:
        lsn = self.log.append(Entry("dml", {"changes": [], "n": n}))
        if self.store is not None and self.history is not None:
            apply_to_replica(self.store, list(self.log.read(lsn, lsn)))
            self.history.advance()
        return lsn


def apply_to_replica(store: ProjectionStore, records: list[Record]) -> None:
    conn = store.write_conn
    conn.execute("BEGIN")
    keep_records(conn, records)
    set_applied_lsn(conn, records[-1].lsn)
    conn.execute("COMMIT")
    store.committed(records[-1].lsn)


def replica_store(directory: Path, log: EventLog, base: int) -> ProjectionStore:
    """A replica store seeded at `base` (0: built from LSN 1) holding the log after it."""
    store = ProjectionStore(StoreLock(directory))
    set_applied_lsn(store.write_conn, base)
    store.committed(base)
    ensure_history(store.write_conn)
    apply_to_replica(store, list(log.read(base + 1)))
    return store


@contextmanager
def filled_log(directory: Path) -> Iterator[EventLog]:
    """A log of `RECORDS` records under `directory`."""
    with EventLog.create(directory, SigningKey.generate(), OPTIONS) as log:
        for n in range(RECORDS):
            log.append(Entry("dml", {"changes": [], "n": n}))
        yield log


@pytest.fixture(params=["log", "replica"])
def source(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Source]:
    with filled_log(tmp_path / "log") as log:
        store = replica_store(tmp_path / "replica", log, 0) if request.param == "replica" else None
        try:
            yield Source(log, store)
        finally:
            if store is not None:
                store.close()


def fields(records: Iterator[Record] | list[Record]) -> list[tuple[object, ...]]:
    return [(r.lsn, r.ts_us, r.kind, r.actor, r.payload, r.chain_hash, r.frame) for r in records]


def test_reads_every_record_as_the_log_holds_it(source: Source) -> None:
    head = source.log.head_lsn
    assert source.source.head_lsn == head
    assert fields(source.source.read()) == fields(source.log.read())
    assert fields(source.source.read(5, 9)) == fields(source.log.read(5, 9))
    assert fields(source.source.read(head - 1, head + 50)) == fields(source.log.read(head - 1))
    assert list(source.source.read(head + 1)) == []
    check_readable(source.source, 1)


def test_follow_gives_the_past_then_each_new_record(source: Source) -> None:
    start = source.log.head_lsn - 2

    async def scenario() -> list[int]:
        seen: list[int] = []

        async def consume() -> None:
            async for record in source.source.follow(start):
                seen.append(record.lsn)
                if len(seen) == 6:
                    return

        task = asyncio.create_task(consume())
        await asyncio.sleep(0.05)
        assert len(seen) == 3 and not task.done()
        for n in range(3):
            await asyncio.to_thread(source.append, 100 + n)
        await asyncio.wait_for(task, 10)
        return seen

    assert asyncio.run(scenario()) == list(range(start, start + 6))


def test_a_pruned_log_refuses_what_it_no_longer_holds(tmp_path: Path) -> None:
    with EventLog.create(tmp_path / "log", SigningKey.generate(), OPTIONS) as log:
        for n in range(80):
            log.append(Entry("dml", {"changes": [], "pad": "x" * 200, "n": n}))
        through = log.sealed_manifests[0].last_lsn
        log.prune(through)
        with pytest.raises(HistoryGoneError, match="pruned"):
            check_readable(log, through)
        check_readable(log, through + 1)


def test_a_seeded_replica_refuses_records_before_its_seed(tmp_path: Path) -> None:
    with filled_log(tmp_path / "log") as log:
        store = replica_store(tmp_path / "replica", log, 12)
        try:
            history = ReplicaHistory(store)
            assert history.base_lsn == 12
            with pytest.raises(HistoryGoneError, match="after LSN 12"):
                check_readable(history, 12)
            check_readable(history, 13)
            assert fields(history.read(13)) == fields(log.read(13))
        finally:
            store.close()


def test_a_trimmed_history_keeps_its_newest_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--history-records N`: the base moves up with each applied batch; what is older is
    refused as for a seeded replica, also under a reader already paging through it."""
    with filled_log(tmp_path / "log") as log:
        store = replica_store(tmp_path / "replica", log, 0)
        try:
            history = ReplicaHistory(store)
            monkeypatch.setattr(replica_history, "PAGE_RECORDS", 4)
            reader = history.read(1)
            assert next(reader).lsn == 1
            [newest] = log.read(log.append(Entry("dml", {"changes": [], "n": RECORDS})))
            conn = store.write_conn
            conn.execute("BEGIN")
            keep_records(conn, [newest])
            trim_history(conn, newest.lsn, 10)
            set_applied_lsn(conn, newest.lsn)
            conn.execute("COMMIT")
            store.committed(newest.lsn)
            keep = newest.lsn - 10
            assert history.base_lsn == keep
            with pytest.raises(HistoryGoneError, match=f"after LSN {keep}"):
                check_readable(history, keep)
            assert fields(history.read(keep + 1)) == fields(log.read(keep + 1))
            with pytest.raises(HistoryUnavailableError, match="trimmed"):
                list(reader)
        finally:
            store.close()


def test_trimming_spares_what_a_reader_has_not_read(tmp_path: Path) -> None:
    """A batch larger than `keep` (a catch-up) is kept after `read_through` until read."""
    with filled_log(tmp_path / "log") as log:
        store = replica_store(tmp_path / "replica", log, 0)
        try:
            conn = store.write_conn
            conn.execute("BEGIN")
            trim_history(conn, log.head_lsn, 5, read_through=7)
            conn.execute("COMMIT")
            assert history_base(conn) == 7
            conn.execute("BEGIN")
            trim_history(conn, log.head_lsn, 5, read_through=log.head_lsn)
            conn.execute("COMMIT")
            assert history_base(conn) == log.head_lsn - 5
        finally:
            store.close()


def test_a_hub_behind_the_kept_history_ends_its_streams_and_goes_on_from_the_head(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Records trimmed before the hub read them (nothing spared them): its streams end with
    `resync-required` naming where the history begins, and the hub follows from the head,
    so that a new subscriber gets the changes that come next."""
    with filled_log(tmp_path / "log") as log:
        store = replica_store(tmp_path / "replica", log, 0)
        try:
            history = ReplicaHistory(store)
            start = history.head_lsn
            frames, base, fresh = asyncio.run(_hub_left_behind(log, store, history))
        finally:
            store.close()
    assert frames[0].startswith(b"id: %d\nevent: subscribed\n" % start)
    assert frames[1] == (
        b'event: resync-required\ndata: {"last_id":"%d","history_after":%d}\n\n' % (start, base)
    )
    assert len(frames) == 2
    assert fresh == (base + 5 + 1, base + 5 + 1)
    assert "realtime hub fell behind the kept history" in caplog.text


async def _hub_left_behind(
    log: EventLog, store: ProjectionStore, history: ReplicaHistory
) -> tuple[list[bytes], int, tuple[int, int]]:
    """A subscriber joined at the head; 20 records applied and all but 5 trimmed in one
    transaction; then one more record. Returns the stream's frames, where the history
    begins, and (hub position, head) after the last record."""
    hub = Hub(history, store_connection(store), PolicySet)
    filters = Filters(tables=None, ops=frozenset({"insert", "update", "delete"}))
    subscriber = Subscriber(Access(ADMIN, filters), Position(hub.position), 100, 5.0)
    catchup = CatchUp(history, store_connection(store), PolicySet, subscriber)
    stream = subscription(hub, subscriber, catchup, lambda: True, lambda: None)
    frames = [await anext(stream)]
    batch = [
        log.read(lsn, lsn).__next__()
        for lsn in (log.append(Entry("dml", {"changes": [], "n": n})) for n in range(20))
    ]
    conn = store.write_conn
    conn.execute("BEGIN")
    keep_records(conn, batch)
    trim_history(conn, batch[-1].lsn, 5)
    set_applied_lsn(conn, batch[-1].lsn)
    conn.execute("COMMIT")
    store.committed(batch[-1].lsn)
    history.advance()
    frames += [chunk async for chunk in stream]
    last = log.append(Entry("dml", {"changes": [], "n": 99}))
    apply_to_replica(store, list(log.read(last, last)))
    history.advance()
    await asyncio.wait_for(_until(lambda: hub.position == history.head_lsn), 10)
    assert hub.following  # so a replica's follower trims nothing after its position
    hub.close()
    assert not hub.following
    return frames, history.base_lsn, (hub.position, history.head_lsn)


async def _until(condition: Callable[[], bool]) -> None:
    while not condition():
        await asyncio.sleep(0.01)
