"""The log writer: many appenders, one fsync and one signature per group.

Appenders (threads or asyncio tasks) `submit` an entry and get its LSN at once; a writer
thread takes everything queued, frames it, extends the hash chain, signs the head, writes
the group with one `pwrite` and one `fdatasync`, and only then resolves the appenders'
futures and wakes readers. Nothing is readable before it is durable.

An appender that would only wait for the writer thread can do its work instead: `stage`
queues an entry without waking the thread, and `sync` writes everything queued through a
given LSN in the calling thread (the commit pipeline does this, so a group costs no thread
hand-off). One group is written at a time, in LSN order, whichever thread writes it.

If a group cannot be written, the segment is cut back to where it was, that group and
everything queued behind it fail with AppendError, and the next LSN falls back to the
head: the log never has a gap.

`prune` deletes the files of the oldest sealed segments (their manifests stay, see
`eventlog.pruned`); reads of their LSNs then go through `segment_source`.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

from eventlog.errors import AppendError, LogError, RecordTooLargeError
from eventlog.framing import GENESIS_HASH, FrameType, chain_next, encode_frame
from eventlog.keys import KEY_EVENT_KIND, SigningKey, announcement, seal_body
from eventlog.lock import DirectoryLock
from eventlog.options import LogOptions
from eventlog.pruned import SegmentSource, remove_segment_files
from eventlog.reader import (
    SealedRecord,
    Span,
    load_index,
    pruned_span,
    read_sealed,
    read_spans,
)
from eventlog.record import Entry, Record, pack_body, pack_payload
from eventlog.recovery import RecoveredLog, SealedSegment, recover
from eventlog.segment_writer import ActiveSegment
from eventlog.segments import Manifest, SparseIndex, list_segments, manifest_path
from eventlog.waiters import HeadWaiters, follow

LOG = logging.getLogger("bkg.eventlog")


@dataclass
class Pending:
    """An entry on its way to disk: its LSN and commit time are known at once."""

    lsn: int
    ts_us: int
    body: bytes
    future: Future[int] = field(default_factory=Future)
    next_key: SigningKey | None = None
    times: GroupTimes | None = None
    """When its group was framed, signed and durable (set before `future` resolves)."""


@dataclass(frozen=True, slots=True)
class GroupTimes:
    """Wall-clock nanoseconds of one group's commit: framing and chaining began, the head
    was signed, the write and its fsync returned (what a trace shows of a commit)."""

    began_ns: int
    signed_ns: int
    durable_ns: int


class EventLog:
    """The single writer of a log directory. Create with `create` or `open`."""

    def __init__(
        self,
        log_dir: Path,
        key: SigningKey,
        options: LogOptions,
        lock: DirectoryLock,
        segment_source: SegmentSource | None = None,
    ):
        self.log_dir = log_dir
        self.options = options
        self.notes: list[str] = []
        # Called on the writer thread after each durable group: (records, seconds to write).
        self.commit_observer: Callable[[int, float], None] | None = None
        # Where reads of pruned segments get their bytes (None: such reads fail).
        self.segment_source = segment_source
        self._key = key
        self._lock = lock
        self._cond = threading.Condition()
        self._writing = threading.Lock()  # held while a group is taken and written
        self._queue: list[Pending] = []
        self._queued_bytes = 0
        self._closing = False
        self._waiters = HeadWaiters()
        self._sealed: list[SealedSegment] = []
        self._pruned: list[Manifest] = []
        self._active: ActiveSegment
        self._index = SparseIndex()
        self._head_lsn = 0
        self._chain = GENESIS_HASH
        self._next_lsn = 1
        self._last_ts = 0
        self._thread = threading.Thread(target=self._run, name="bkg-log-writer", daemon=True)

    # -- opening and closing -------------------------------------------------------------

    @classmethod
    def create(
        cls, log_dir: Path, signing_key: SigningKey, options: LogOptions | None = None
    ) -> EventLog:
        """Start a new, empty log whose first record announces the signing key."""
        log_dir = Path(log_dir)
        log_dir.mkdir(parents=True, exist_ok=True)
        lock = DirectoryLock(log_dir)
        if list_segments(log_dir):
            lock.release()
            raise LogError(f"{log_dir} already holds a log")
        log = cls(log_dir, signing_key, options or LogOptions(), lock)
        log._active = ActiveSegment.create(log_dir, 1, GENESIS_HASH)
        log._thread.start()
        log.append(Entry(KEY_EVENT_KIND, announcement(signing_key, None, "init")))
        return log

    @classmethod
    def open(
        cls,
        log_dir: Path,
        signing_key: SigningKey,
        options: LogOptions | None = None,
        segment_source: SegmentSource | None = None,
    ) -> EventLog:
        """Open an existing log for writing, repairing a torn tail first; reads of pruned
        segments fetch them from `segment_source` (None: such reads fail, naming them)."""
        log_dir = Path(log_dir)
        if not log_dir.is_dir():
            raise LogError(f"{log_dir} is not a log directory (run `bkgdb init`)")
        options = options or LogOptions()
        lock = DirectoryLock(log_dir)
        try:
            recovered = recover(log_dir, options.index_every)
        except BaseException:
            lock.release()
            raise
        log = cls(log_dir, signing_key, options, lock, segment_source)
        log._resume(recovered)
        log._thread.start()
        return log

    def _resume(self, recovered: RecoveredLog) -> None:
        cursor = recovered.cursor
        self.notes = recovered.notes
        self._sealed = recovered.sealed
        self._pruned = recovered.pruned
        self._head_lsn, self._chain = cursor.lsn, cursor.chain
        self._next_lsn = cursor.lsn + 1
        if recovered.active_path is None:
            self._active = ActiveSegment.create(self.log_dir, cursor.lsn + 1, cursor.chain)
            return
        before = [s.manifest for s in self._sealed] or self._pruned
        prev = bytes.fromhex(before[-1].chain_head) if before else GENESIS_HASH
        self._active = ActiveSegment(
            recovered.active_path, recovered.active_base, prev, cursor.offset
        )
        self._index = recovered.index
        last = self.read_last()
        self._last_ts = last.ts_us if last else 0

    def read_last(self) -> Record | None:
        head = self.head_lsn
        return next(iter(self.read(head, head)), None) if head else None

    def close(self) -> None:
        """Write what is queued, stop the writer thread and release the directory."""
        with self._cond:
            if self._closing:
                return
            self._closing = True
            self._cond.notify_all()
        self._thread.join()
        self._active.close()
        self._lock.release()

    def __enter__(self) -> EventLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- appending -----------------------------------------------------------------------

    def submit(self, entry: Entry) -> Pending:
        """Queue an entry; its LSN is fixed now, its future resolves once it is durable."""
        packed = pack_payload(entry.payload)
        return self._enqueue(entry, packed, None)

    def stage(self, entry: Entry) -> Pending:
        """Queue an entry like `submit`, without waking the writer thread: the caller makes
        it durable with `sync` (another append that wakes the thread may write it first)."""
        return self._enqueue(entry, pack_payload(entry.payload), None, wake=False)

    def sync(self, through_lsn: int) -> None:
        """Write and fsync, in the calling thread, every queued record through
        `through_lsn` that no other thread is writing already; returns once each is durable
        or failed (their futures tell which: a failed write fails what was queued)."""
        with self._writing:
            while self._head_lsn < through_lsn:
                with self._cond:
                    batch = self._take(self.options)
                if not batch:
                    return
                self._commit(batch)

    def _enqueue(
        self, entry: Entry, packed: bytes, next_key: SigningKey | None, *, wake: bool = True
    ) -> Pending:
        if len(packed) > self.options.max_record_bytes:
            raise RecordTooLargeError(len(packed), self.options.max_record_bytes)
        with self._cond:
            if self._closing:
                raise AppendError("the log is closed")
            ts_us = max(time.time_ns() // 1000, self._last_ts)
            self._last_ts = ts_us
            pending = Pending(self._next_lsn, ts_us, pack_body(entry, ts_us, packed))
            pending.next_key = next_key
            self._next_lsn += 1
            self._queue.append(pending)
            self._queued_bytes += len(pending.body)
            if wake:
                self._cond.notify()
        return pending

    def append(self, entry: Entry, timeout: float | None = None) -> int:
        """Append and wait until durable; returns the LSN."""
        return self.submit(entry).future.result(timeout)

    async def append_async(self, entry: Entry) -> int:
        return await asyncio.wrap_future(self.submit(entry).future)

    def rotate_key(self, new_key: SigningKey, reason: str = "rotation") -> int:
        """Announce `new_key`, endorsed by the current key, and sign with it from then on."""
        payload = announcement(new_key, self._key, reason)
        entry = Entry(KEY_EVENT_KIND, payload)
        return self._enqueue(entry, pack_payload(payload), new_key).future.result()

    @property
    def signing_key(self) -> SigningKey:
        return self._key

    # -- the writer thread ---------------------------------------------------------------

    def _run(self) -> None:
        while self._await_work():
            with self._writing:
                with self._cond:
                    batch = self._take(self.options)
                if batch:  # else a `sync` took it meanwhile
                    self._commit(batch)

    def _await_work(self) -> bool:
        """Wait until something is queued (False: closing with nothing left), then give
        `batch_delay_s` for more to join the group."""
        options = self.options
        with self._cond:
            while not self._queue and not self._closing:
                self._cond.wait()
            if not self._queue:
                return False
            if options.batch_delay_s and len(self._queue) < options.max_batch:
                self._cond.wait(options.batch_delay_s)
            return True

    def _take(self, options: LogOptions) -> list[Pending]:
        """The next group from the head of the queue (call with `_cond` held): up to
        `max_batch` records and `max_batch_bytes`, ending at a key rotation."""
        taken, size = 0, 0
        for pending in self._queue:
            if taken and (taken >= options.max_batch or size >= options.max_batch_bytes):
                break
            taken, size = taken + 1, size + len(pending.body)
            if pending.next_key is not None:
                break
        batch, self._queue = self._queue[:taken], self._queue[taken:]
        self._queued_bytes -= size
        return batch

    def _commit(self, batch: list[Pending]) -> None:
        began, began_ns = time.perf_counter(), time.time_ns()
        chain, offset, buffer = self._chain, self._active.size, bytearray()
        points: list[tuple[int, int, bytes]] = []
        for pending in batch:
            frame = encode_frame(FrameType.EVENT, pending.lsn, pending.body)
            if (pending.lsn - self._active.base_lsn) % self.options.index_every == 0:
                points.append((pending.lsn, offset + len(buffer), chain))
            chain = chain_next(chain, frame)
            buffer += frame
        last = batch[-1].lsn
        buffer += encode_frame(FrameType.SEAL, last, seal_body(self._key, last, chain))
        signed_ns = time.time_ns()
        try:
            self._active.append(buffer)
        except OSError as exc:
            self._fail(batch, exc)
            return
        times = GroupTimes(began_ns, signed_ns, time.time_ns())
        with self._cond:
            self._head_lsn, self._chain = last, chain
            for point in points:
                self._index.add(*point)
        if batch[-1].next_key is not None:
            self._key = batch[-1].next_key
        observer = self.commit_observer
        if observer is not None:
            observer(len(batch), time.perf_counter() - began)
        for pending in batch:
            pending.times = times
            pending.future.set_result(pending.lsn)
        self._waiters.advance()
        if self._active.size >= self.options.segment_bytes:
            self._rotate_segment()

    def _fail(self, batch: list[Pending], exc: OSError) -> None:
        """Fail this group and all queued behind it; the LSN counter returns to the head."""
        with self._cond:
            failed = batch + self._queue
            self._queue, self._queued_bytes = [], 0
            self._next_lsn = self._head_lsn + 1
        error = AppendError(f"append failed, nothing of it was written: {exc}")
        LOG.error(
            "log write failed at LSN %d; %d pending appends failed: %s",
            batch[0].lsn,
            len(failed),
            exc,
            extra={"event": "append_failed", "lsn": batch[0].lsn, "failed": len(failed)},
        )
        for pending in failed:
            pending.future.set_exception(error)

    def _rotate_segment(self) -> None:
        """Seal the full segment and start the next; on failure it stays active and the
        rotation is tried again after the next group."""
        active = self._active
        try:
            manifest = active.seal(self._head_lsn, self._chain, self._index, self._key)
        except OSError as exc:
            self.notes.append(f"sealing {active.path.name} failed, will retry: {exc}")
            return
        try:
            nxt = ActiveSegment.create(self.log_dir, self._head_lsn + 1, self._chain)
        except OSError as exc:
            manifest_path(active.path).unlink(missing_ok=True)
            self.notes.append(f"starting a new segment failed, will retry: {exc}")
            return
        active.close()
        with self._cond:
            self._sealed.append(SealedSegment(active.base_lsn, active.path, manifest))
            self._active, self._index = nxt, SparseIndex()
        LOG.info(
            "segment sealed, next started",
            extra={
                "event": "segment_rotation",
                "sealed": active.path.name,
                "last_lsn": self._head_lsn,
                "next": nxt.path.name,
            },
        )

    # -- reading -------------------------------------------------------------------------

    @property
    def head_lsn(self) -> int:
        """The last durable LSN (0 for an empty log)."""
        return self._head_lsn

    @property
    def head_chain(self) -> bytes:
        return self._chain

    @property
    def sealed_manifests(self) -> list[Manifest]:
        """Manifests of the sealed segments still on local disk, oldest first."""
        with self._cond:
            return [segment.manifest for segment in self._sealed]

    @property
    def pruned_manifests(self) -> list[Manifest]:
        """Manifests of the sealed segments pruned from local disk, oldest first."""
        with self._cond:
            return list(self._pruned)

    def prune(self, through_lsn: int) -> list[Manifest]:
        """Delete the files of the oldest sealed segments that end at or before
        `through_lsn`, keeping their manifests; return those manifests. Whether their bytes
        are safe elsewhere is the caller's decision."""
        with self._cond:
            taken = 0
            while taken < len(self._sealed) and (
                self._sealed[taken].manifest.last_lsn <= through_lsn
            ):
                taken += 1
            gone, self._sealed = self._sealed[:taken], self._sealed[taken:]
            self._pruned.extend(segment.manifest for segment in gone)
        for segment in gone:
            remove_segment_files(segment.path)
        return [segment.manifest for segment in gone]

    def spans(self) -> list[Span]:
        source = self.segment_source
        with self._cond:
            spans = [pruned_span(self.log_dir, manifest, source) for manifest in self._pruned]
            spans += [
                Span(
                    s.base_lsn,
                    s.path,
                    bytes.fromhex(s.manifest.prev_hash),
                    s.manifest.last_lsn,
                    s.manifest.size,
                    load_index(s.path),
                    False,
                    source,
                )
                for s in self._sealed
            ]
            active = self._active
            index = self._index.copy()
            spans.append(
                Span(
                    active.base_lsn,
                    active.path,
                    active.prev_hash,
                    self._head_lsn,
                    active.size,
                    index,
                )
            )
        return spans

    def read(
        self, from_lsn: int = 1, to_lsn: int | None = None, with_chain: bool = True
    ) -> Iterator[Record]:
        """Durable records from `from_lsn` to `to_lsn` (inclusive).

        CRCs and LSN order are always checked. The hash chain is recomputed and checked,
        and `Record.chain_hash` filled, unless `with_chain=False`: a rebuild that trusts
        a log `verify` has passed skips that third of the cost (chain_hash is then empty).
        """
        return read_spans(self.spans(), max(from_lsn, 1), to_lsn, with_chain)

    def read_sealed(self, from_lsn: int = 1, to_lsn: int | None = None) -> Iterator[SealedRecord]:
        """Like `read`, with each group's stored seal frame on its last record."""
        return read_sealed(self.spans(), max(from_lsn, 1), to_lsn)

    def wait_for(self, lsn: int, timeout: float | None = None) -> bool:
        """Block until the head reaches `lsn`; False on timeout."""
        return self._waiters.wait(lambda: self._head_lsn >= lsn, timeout)

    async def wait_for_async(self, lsn: int) -> None:
        await self._waiters.wait_async(lambda: self._head_lsn >= lsn)

    async def follow(self, from_lsn: int = 1) -> AsyncIterator[Record]:
        """Every record from `from_lsn` on: first what is in the log, then as it arrives."""
        async for record in follow(self, from_lsn):
            yield record
