"""The commit pipeline: serialised writes, pipelined with the log's group commit.

One thread at a time drives the store's write connection. It takes write jobs in arrival
order, runs each in a savepoint of one open SQLite transaction, and lets the job stage its
log entry (the LSN is assigned at once). It keeps going while jobs are queued, then makes
the whole group durable with one write, one fsync and one seal (`EventLog.sync`, in its
own thread), and commits the SQLite transaction only when every record in it is durable: a
reader never sees a write the log could still lose.

Who drives: a thread calling `run` does, when nobody else is (so one writer alone costs no
thread hand-off: it runs its job, writes and fsyncs the log and commits itself); otherwise
its job waits for the thread that is driving. `submit` (for asyncio callers, who must not
block) leaves the job to the pipeline's own commit thread. Whoever stops driving with jobs
still queued wakes the commit thread, so no job is left behind. A job that
raises before submitting is rolled back to its savepoint and changes nothing. A job that
submits nothing (a write that changed nothing) appends no record: it is answered, once the
records it may have seen are durable, with the LSN of the state it ran on. If the log
fails an append, the transaction is rolled back, the records that did become durable are
folded back in from the log, and the others fail.

A job cancelled by its deadline (`projections.deadline`) while a write statement runs makes
SQLite roll back the whole open transaction, the effects of earlier jobs of the group
included. Their records are in the log already, so the pipeline waits until they are
durable and folds them back in from the log (as after a failed append): they succeed, the
cancelled job alone fails, and the pipeline goes on.

What the layers above derive from the write connection's state and keep across jobs
(`ProjectionStore.write_memo`: the SQL catalogue) is forgotten on every rollback and failed
job, and when a job stages a record other than plain DML (DDL, or an event whose fold may
change anything); the SQL layer also forgets it right after each DDL statement.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from eventlog.record import Entry
from eventlog.writer import Pending
from projections.errors import AppendFailedError, PipelineClosedError, StoreDamagedError
from projections.folds import FoldRegistry, apply_event
from projections.meta import set_applied_lsn
from projections.replay import fold_records
from projections.source import LogSource
from projections.store import ProjectionStore
from projections.tracing import attached, capture, now_ns, record

logger = logging.getLogger(__name__)

T = TypeVar("T")


class Appender(LogSource, Protocol):
    """The log as the pipeline uses it: stage entries, make them durable, read them back."""

    def stage(self, entry: Entry) -> Pending:
        """Queue an entry (its LSN is fixed now) for a later `sync`."""

    def sync(self, through_lsn: int) -> None:
        """Write and fsync what is queued through `through_lsn` (its futures resolve)."""


Submit = Callable[[Entry], Pending]
Work = Callable[[sqlite3.Connection, Submit], T]
"""A write job: runs on the write connection, calls `submit` at most once with the entry
that records its effects, and returns its result."""

CommitHook = Callable[[int, int, int], None]
"""Called after each commit with (last LSN, records, bytes) of the group."""


@dataclass(frozen=True, slots=True)
class Committed(Generic[T]):
    """A job's result and the LSN at which it became durable and visible."""

    value: T
    lsn: int


@dataclass
class _Job:
    work: Work[Any]
    future: Future[Committed[Any]]
    trace: Any = None  # the submitter's trace context (None when tracing is off)
    queued_ns: int = 0


@dataclass
class _Inflight:
    job: _Job
    pending: Pending | None
    value: Any
    error: BaseException | None
    read_lsn: int = 0  # the last record the job's state included (its answer without one)


class CommitPipeline:
    """Serialises write jobs on the store's write connection (see the module docstring)."""

    def __init__(
        self,
        store: ProjectionStore,
        log: Appender,
        registry: FoldRegistry,
        *,
        on_commit: CommitHook | None = None,
        max_group: int = 512,
    ) -> None:
        self._store = store
        self._log = log
        self._registry = registry
        self._on_commit = on_commit
        self._max_group = max_group
        self._jobs: deque[_Job] = deque()
        self._closed = False
        self._broken: BaseException | None = None
        self._guard = threading.Lock()
        self._owner = threading.Lock()  # held by the thread driving the write connection
        self._wake = threading.Condition()
        self._thread = threading.Thread(target=self._serve, name="bkg-commit", daemon=True)
        self._thread.start()

    @property
    def broken(self) -> BaseException | None:
        """Why the pipeline stopped accepting writes, if it did (the store is then uncertain
        and must be repaired from the log on the next open)."""
        return self._broken

    def submit(self, work: Work[T]) -> Future[Committed[T]]:
        """Queue a write job; the future resolves when its record is durable and visible.
        The commit thread (or a thread already driving the pipeline) runs it."""
        job = self._enqueue(work)
        if job is not None and not self._owner.locked():
            self._signal()
        return job.future if job is not None else _closed_future()

    def run(self, work: Work[T]) -> Committed[T]:
        """Run a write job and wait until it is durable and visible. When no other thread
        drives the pipeline, the calling thread does: it runs the queued jobs (its own
        among them), makes their records durable and commits, without a thread hand-off."""
        job = self._enqueue(work)
        if job is None:
            raise PipelineClosedError("the database is closed")
        if self._owner.acquire(blocking=False):
            try:
                self._drain(job.future)
            finally:
                self._owner.release()
            if self._jobs:
                self._signal()
        result: Committed[T] = job.future.result()
        return result

    def close(self) -> None:
        """Finish every queued job, commit, and stop the thread."""
        with self._guard:
            if self._closed:
                return
            self._closed = True
        with self._wake:
            self._wake.notify()
        self._thread.join()
        with self._owner:  # a caller may still be driving its last group
            self._drain()

    def _enqueue(self, work: Work[Any]) -> _Job | None:
        """Queue a job (None: the pipeline takes no more)."""
        with self._guard:
            if self._closed or self._broken is not None:
                return None
            trace = capture()
            job = _Job(work, Future(), trace, now_ns() if trace is not None else 0)
            self._jobs.append(job)
        return job

    def _signal(self) -> None:
        """Wake the commit thread: jobs are queued and nobody may be driving."""
        with self._wake:
            self._wake.notify()

    # -- driving the write connection ----------------------------------------------------

    def _serve(self) -> None:
        """The commit thread: drive the pipeline whenever jobs wait and nobody else does."""
        while True:
            with self._wake:
                while not self._jobs and not self._closed:
                    self._wake.wait()
                if not self._jobs:
                    return
            with self._owner:
                self._drain()

    def _drain(self, until: Future[Any] | None = None) -> None:
        """Run queued jobs in groups until none is left, or until the group that answers
        `until` is committed (call holding `_owner`): each job in its savepoint of the open
        transaction; when the queue is empty or the group is full, make the group's
        records durable and commit. An unexpected failure of the write connection (say,
        BEGIN refused) stops the pipeline rather than the thread: every job in flight, and
        every one after, is answered with the error."""
        inflight: list[_Inflight] = []
        job: _Job | None = None
        try:
            while True:
                if not inflight and until is not None and until.done():
                    return
                try:
                    job = self._jobs.popleft()
                except IndexError:
                    if not inflight:
                        return
                    inflight = self._flush(inflight)
                    continue
                inflight = self._take_job(job, inflight)
        except BaseException as exc:
            if job is not None and not job.future.done():
                job.future.set_exception(exc)
            self._stop(inflight, exc)

    def _take_job(self, job: _Job, inflight: list[_Inflight]) -> list[_Inflight]:
        """Run one job into the open group; flush the group when it is full."""
        if self._broken is not None:
            job.future.set_exception(PipelineClosedError(f"writes stopped: {self._broken}"))
            return inflight
        item = self._execute(job)
        if item is not None:
            item.read_lsn = _last_lsn(inflight, self._store.applied_lsn)
            inflight.append(item)
        elif not inflight and self._store.write_conn.in_transaction:
            self._store.write_memo.clear()
            self._store.write_conn.execute("ROLLBACK")  # nothing to keep: end it now
        if inflight and not self._store.write_conn.in_transaction:
            inflight = self._rescue(inflight)  # SQLite dropped the group's effects
        if len(inflight) >= self._max_group:
            inflight = self._flush(inflight)
        return inflight

    def _execute(self, job: _Job) -> _Inflight | None:
        """Run one job in a savepoint (or, opening the transaction, in the transaction
        itself); None if it failed before submitting (no effects). A damaged store takes
        no writes: their row images would be computed from bad pages."""
        try:
            self._store.check_usable()
        except StoreDamagedError as exc:
            job.future.set_exception(exc)
            return None
        conn = self._store.write_conn
        submitted: list[Pending] = []

        def submit(entry: Entry) -> Pending:
            if submitted:
                raise RuntimeError("a write job submits at most one log entry")
            if entry.kind != "dml":  # DDL, or a fold that may change anything: forget
                self._store.write_memo.clear()
            submitted.append(self._log.stage(entry))
            return submitted[0]

        if job.trace is not None:
            record("commit.queue_wait", job.trace, job.queued_ns, now_ns())
        fresh = not conn.in_transaction
        conn.execute("BEGIN IMMEDIATE" if fresh else "SAVEPOINT bkg_job")
        try:
            with attached(job.trace):
                value = job.work(conn, submit)
        except BaseException as exc:
            self._undo(fresh, bool(submitted))
            if not submitted:
                job.future.set_exception(exc)
                return None
            return _Inflight(job, submitted[0], None, exc)
        if not fresh:
            conn.execute("RELEASE bkg_job")
        return _Inflight(job, submitted[0] if submitted else None, value, None)

    def _undo(self, fresh: bool, submitted: bool) -> None:
        """Undo a failed job's effects: its savepoint, or the transaction it opened (begun
        again when its record was submitted: that record still counts as applied). What
        the writer derived from the connection's state (`write_memo`) is forgotten."""
        conn = self._store.write_conn
        self._store.write_memo.clear()
        if not conn.in_transaction:
            return  # SQLite rolled everything back itself (interrupt)
        if fresh:
            conn.execute("ROLLBACK")
            if submitted:
                conn.execute("BEGIN IMMEDIATE")
            return
        conn.execute("ROLLBACK TO bkg_job")
        conn.execute("RELEASE bkg_job")

    def _flush(self, inflight: list[_Inflight]) -> list[_Inflight]:
        """Wait until every submitted record is durable, then commit and resolve the jobs."""
        conn = self._store.write_conn
        failure: BaseException | None = None
        last, size = self._store.applied_lsn, 0
        self._log.sync(_last_lsn(inflight, last))
        for item in inflight:
            if item.pending is None:
                continue
            try:
                item.pending.future.result()
            except BaseException as exc:
                failure = exc
                break
            last, size = item.pending.lsn, size + len(item.pending.body)
        try:
            if failure is not None:
                return self._refold(inflight, failure)
            if conn.in_transaction:
                set_applied_lsn(conn, last)
                conn.execute("COMMIT")
        except BaseException as exc:
            self._stop(inflight, exc)
            return []
        records = last - self._store.applied_lsn
        self._store.committed(last)
        for item in inflight:
            _resolve(item)
        if records and self._on_commit is not None:
            self._on_commit(last, records, size)
        return []

    def _rescue(self, inflight: list[_Inflight]) -> list[_Inflight]:
        """`_refold` after an interrupt; if even that fails, stop taking writes."""
        try:
            return self._refold(inflight, None)
        except BaseException as exc:
            self._stop(inflight, exc)
            return []

    def _refold(self, inflight: list[_Inflight], failure: BaseException | None) -> list[_Inflight]:
        """The open transaction is lost (a failed append, or SQLite rolled it back after an
        interrupt): drop what is left of it, wait for the submitted records, fold back in
        from the log what became durable, resolve those jobs and fail the rest."""
        conn = self._store.write_conn
        self._store.write_memo.clear()
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        self._log.sync(_last_lsn(inflight, self._store.applied_lsn))
        for item in inflight:
            if item.pending is not None and failure is None:
                try:
                    item.pending.future.result()
                except BaseException as exc:
                    failure = exc
        durable = fold_records(conn, self._log.read(self._store.applied_lsn + 1), self._registry)
        self._store.committed(durable)
        error = AppendFailedError(f"the log could not make the write durable: {failure}")
        error.__cause__ = failure
        for item in inflight:
            if _answer_lsn(item) <= durable:
                _resolve(item)
            else:
                item.job.future.set_exception(error)
        return []

    def _stop(self, inflight: list[_Inflight], exc: BaseException) -> None:
        """The store could not commit: stop taking writes; the next open repairs the store."""
        logger.error("commit pipeline stopped: %s", exc)
        self._broken = exc
        error = PipelineClosedError(f"writes stopped: {exc}")
        for item in inflight:
            if not item.job.future.done():
                item.job.future.set_exception(error)


@dataclass(frozen=True, slots=True)
class SubmittedEvent:
    """A record as a fold sees it before it can be read back from the log."""

    lsn: int
    ts_us: int
    kind: str
    actor: str
    namespace: str | None
    payload: Any


def event_work(entry: Entry, registry: FoldRegistry) -> Work[None]:
    """A job that appends a non-SQL event and folds it like a replay would.

    The entry is submitted first (its LSN is then known to the fold); a fold that raises is
    rolled back and reported to the caller, and the record still counts as applied, exactly
    as a rebuild from the log would treat it.
    """

    def work(conn: sqlite3.Connection, submit: Submit) -> None:
        pending = submit(entry)
        event = SubmittedEvent(
            pending.lsn, pending.ts_us, entry.kind, entry.actor, entry.namespace, entry.payload
        )
        error = apply_event(conn, event, registry)
        if error is not None:
            raise error

    return work


def _closed_future() -> Future[Any]:
    """The answer to a job offered to a closed or stopped pipeline."""
    future: Future[Any] = Future()
    future.set_exception(PipelineClosedError("the database is closed"))
    return future


def _last_lsn(inflight: list[_Inflight], applied: int) -> int:
    """The LSN of the newest record submitted so far (``applied`` when none is in flight)."""
    return next((i.pending.lsn for i in reversed(inflight) if i.pending is not None), applied)


def _answer_lsn(item: _Inflight) -> int:
    """The LSN a job is answered with: its record's, else that of the state it ran on."""
    return item.pending.lsn if item.pending is not None else item.read_lsn


def _resolve(item: _Inflight) -> None:
    """Hand a job its result (or its post-submit error) with its LSN (see `_answer_lsn`)."""
    if item.job.trace is not None:
        _trace_commit(item)
    if item.error is not None:
        item.job.future.set_exception(item.error)
        return
    item.job.future.set_result(Committed(item.value, _answer_lsn(item)))


def _trace_commit(item: _Inflight) -> None:
    """The signing and the write + fsync of the job's log group, as spans of its trace."""
    times = item.pending.times if item.pending is not None else None
    if times is None:
        return
    lsn = {"bkg.lsn": item.pending.lsn} if item.pending is not None else None
    record("commit.sign", item.job.trace, times.began_ns, times.signed_ns, lsn)
    record("commit.fsync", item.job.trace, times.signed_ns, times.durable_ns, lsn)
