"""Statement deadlines: when a statement must stop, and the means to stop it.

A `Deadline` is created per statement (or per request) by whoever runs it; `watching(conn)`
installs it as the connection's SQLite progress handler for the duration of the work, so the
statement fails with `interrupted` within a few thousand VM steps of the deadline passing or
of `cancel()` (server stop, a client's cancel request). Work that is not one SQLite
statement (replaying log records for a past state) calls `check()` between its steps.

The write connection is never `interrupt()`ed from outside: an interrupt that arrived while
the commit pipeline runs its COMMIT would fail a commit of other requests. The progress
handler only fires inside the watched work, so it cannot.

Reads are watched from outside instead: one watchdog thread (`Watchdog`) looks at the
running reads every `WATCH_INTERVAL_S`, interrupts those past their deadline and demotes
those running longer than `DEMOTE_AFTER_S` to the lowest CPU priority until they end:
Linux's SCHED_IDLE policy, per thread, which any ordinary thread preempts the moment it
wakes (a nice value only shares CPU time: the scheduler still lets a niced thread finish
its slice, milliseconds, before the event loop runs). So a runaway read never takes the
GIL while it runs (a progress handler would, thousands of times a second, and crowd the
event loop out), and a tenant's long scans take only the CPU that the event loop, the
writer and everyone's short statements leave.

Every read passes through here, so watching one costs a few attribute stores: each thread
has one `_Slot` that the watchdog knows from the thread's first read on, and a read only
writes its deadline and connection into it (and takes the slot's lock once, at its end,
so that the watchdog never interrupts a connection whose read has ended). A read watched
while its thread's slot is busy (one read inside another) is registered on its own.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from typing import TypeVar

from projections.errors import StatementCanceledError

T = TypeVar("T")

PROGRESS_STEPS = 1000
"""SQLite VM instructions between two deadline checks of a write (a point write runs fewer
than that, so it never pays for one)."""
WATCH_INTERVAL_S = 0.005
"""How often the watchdog looks at the running reads (a read's deadline is kept to that)."""
DEMOTE_AFTER_S = 0.02
"""How long a read runs at normal CPU priority before its thread is demoted."""
IDLE_AFTER_S = 1.0
"""How long the watchdog keeps looking with no read running before it blocks: reads come
in streams, and waking a blocked thread for each of them would cost every read a thread
switch (more than the rest of a point read's work)."""
REPEAT_WINDOW_S = 60.0
"""How long an owner whose read ran out its deadline has its reads demoted from the start."""
_PARAM = os.sched_param(0)
_NEVER = float("inf")
TIMEOUT_MESSAGE = "canceling statement due to statement timeout"
SHUTDOWN_MESSAGE = "canceling statement due to server shutdown"
USER_MESSAGE = "canceling statement due to user request"


class Deadline:
    """A point in (monotonic) time after which a statement must stop; `cancel` stops it
    before. Shared by every connection the statement's work touches."""

    __slots__ = ("at", "owner", "reason")

    def __init__(self, seconds: float | None = None, owner: str | None = None) -> None:
        self.at = time.monotonic() + seconds if seconds is not None else _NEVER
        self.owner = owner
        """Whose statement this is (a namespace): an owner whose read ran out its deadline
        recently has its next reads demoted from their start (see `Watchdog`)."""
        self.reason: str | None = None

    @property
    def remaining(self) -> float:
        """Seconds left (0 once past; inf without a deadline)."""
        return 0.0 if self.reason else max(0.0, self.at - time.monotonic())

    def expired(self) -> bool:
        """True once the deadline passed or the statement was cancelled."""
        if self.reason is not None:
            return True
        if time.monotonic() < self.at:
            return False
        self.reason = TIMEOUT_MESSAGE
        return True

    def check(self) -> None:
        """Raise `StatementCanceledError` if the statement must stop."""
        if self.reason is None and time.monotonic() < self.at:
            return
        self.expired()  # names the reason
        raise StatementCanceledError(self.reason or TIMEOUT_MESSAGE)

    def cancel(self, reason: str = USER_MESSAGE) -> None:
        """Stop the statement now: a write's progress handler fires at its next check, and
        the watchdog interrupts a read within `WATCH_INTERVAL_S`."""
        if self.reason is None:
            self.reason = reason

    def watching(
        self, conn: sqlite3.Connection, *, interruptible: bool = True
    ) -> AbstractContextManager[None]:
        """Enforce the deadline on `conn` while the block runs. `interruptible=False` for the
        write connection (see the module docstring). Plain objects rather than a generator
        context manager: every read passes through here."""
        if not interruptible:
            return _Progress(self, conn)
        try:
            slot: _Slot = _LOCAL.slot
        except AttributeError:
            slot = _LOCAL.slot = WATCHDOG.register()
        if slot.deadline is not None:  # a read inside a read: watched on its own
            return _Read(self, conn, slot.thread)
        slot.conn = conn
        slot.reads += 1
        slot.deadline = self  # last: a slot with a deadline is a running read
        if self.owner is not None and WATCHDOG.timed_out_recently(self.owner):
            slot.demote()
        if not WATCHDOG.awake:
            WATCHDOG.wake()
        return slot

    def bounded(self, items: Iterable[T]) -> Iterator[T]:
        """`items`, checking the deadline before each one (for work made of many steps)."""
        for item in items:
            self.check()
            yield item

    def _tick(self) -> int:
        return 1 if self.expired() else 0


class _Progress:
    """The deadline as the write connection's progress handler while a block runs."""

    __slots__ = ("conn", "deadline")

    def __init__(self, deadline: Deadline, conn: sqlite3.Connection) -> None:
        self.deadline = deadline
        self.conn = conn

    def __enter__(self) -> None:
        self.conn.set_progress_handler(self.deadline._tick, PROGRESS_STEPS)

    def __exit__(self, *exc: object) -> None:
        self.conn.set_progress_handler(None, 0)


class _Read:
    """One read being watched while a block runs: its deadline, connection and thread, and
    when (and whether) the thread is demoted. Giving the priority back needs the right to
    raise it (root, CAP_SYS_NICE, or an RLIMIT_NICE that allows it); without it the reader
    thread stays demoted, which only puts readers further behind the event loop and the
    writer."""

    __slots__ = ("conn", "deadline", "demote_at", "demoted", "thread")

    def __init__(self, deadline: Deadline, conn: sqlite3.Connection, thread: int) -> None:
        self.deadline = deadline
        self.conn = conn
        self.thread = thread
        self.demote_at = 0.0
        self.demoted = False

    def __enter__(self) -> None:
        self.demote_at = time.monotonic() + DEMOTE_AFTER_S
        if WATCHDOG.timed_out_recently(self.deadline.owner):
            self.demote()
        WATCHDOG.watch(self)

    def __exit__(self, *exc: object) -> None:
        WATCHDOG.forget(self)
        self.restore()

    def look(self, now: float) -> None:
        """Interrupt the read if it must stop; demote its thread if it has run long."""
        if self.deadline.expired():
            self.conn.interrupt()
        elif not self.demoted and now >= self.demote_at:
            self.demote()

    def demote(self) -> None:
        """Put the thread under SCHED_IDLE (once; if the system refuses, never again)."""
        self.demoted = _demote(self.thread)
        if not self.demoted:
            self.demote_at = float("inf")

    def restore(self) -> None:
        """Give the thread its priority back (called on the thread, after the read)."""
        if self.demoted:
            _restore(self.thread)


class _Slot:
    """One thread's place in the watchdog's view, reused by every read the thread runs:
    the read running now (`deadline` None while none), counted so that the watchdog tells
    one long read from several short ones. Returned by `Deadline.watching` as the read's
    context manager."""

    __slots__ = ("conn", "deadline", "demoted", "lock", "owner", "reads", "seen", "since", "thread")

    def __init__(self) -> None:
        self.conn: sqlite3.Connection | None = None
        self.deadline: Deadline | None = None
        self.reads = 0
        self.seen = 0
        self.since = 0.0
        self.demoted = False
        self.lock = threading.Lock()
        self.thread = threading.get_native_id()
        self.owner = weakref.ref(threading.current_thread())

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        lock = self.lock
        lock.acquire()  # the watchdog looks under it: no interrupt lands after this
        self.deadline = self.conn = None
        lock.release()
        if self.demoted:
            _restore(self.thread)
            self.demoted = False

    def demote(self) -> None:
        """Put the thread under SCHED_IDLE until the read ends (see `_Read.demote`)."""
        self.demoted = _demote(self.thread)

    def look(self, now: float, timeouts: dict[str, float]) -> bool:
        """Interrupt the read if it must stop, demote it once it has run long (seen
        running for `DEMOTE_AFTER_S`); whether a read is running."""
        with self.lock:
            deadline, conn = self.deadline, self.conn
            if deadline is None or conn is None:
                return False
            if deadline.expired():
                conn.interrupt()
                if deadline.reason == TIMEOUT_MESSAGE and deadline.owner:
                    timeouts[deadline.owner] = now
            elif self.seen != self.reads:
                self.seen, self.since = self.reads, now
            elif not self.demoted and now - self.since >= DEMOTE_AFTER_S:
                self.demote()
            return True

    def gone(self) -> bool:
        """Whether the slot's thread has ended."""
        thread = self.owner()
        return thread is None or not thread.is_alive()


_LOCAL = threading.local()


def _demote(thread: int) -> bool:
    """SCHED_IDLE for `thread`; False when the system refuses."""
    try:
        os.sched_setscheduler(thread, os.SCHED_IDLE, _PARAM)
    except OSError:
        return False
    return True


def _restore(thread: int) -> None:
    """SCHED_OTHER for `thread` again (see `_Read`: without the right, it stays idle)."""
    try:
        os.sched_setscheduler(thread, os.SCHED_OTHER, _PARAM)
    except OSError:
        return


class Watchdog:
    """The thread that watches running reads (see the module docstring); started on the
    first read, and idle (blocked) once none has run for `IDLE_AFTER_S`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._slots: set[_Slot] = set()
        self._reads: set[_Read] = set()
        self._timeouts: dict[str, float] = {}
        self._wake = threading.Event()
        self.awake = False
        """Whether the watchdog is looking (its flag set): a read that finds it awake
        need not wake it."""
        self._thread: threading.Thread | None = None

    def register(self) -> _Slot:
        """The calling thread's slot, watched from now on."""
        slot = _Slot()
        with self._lock:
            self._slots.add(slot)
            self._start()
        return slot

    def watch(self, read: _Read) -> None:
        with self._lock:
            self._reads.add(read)
            self._start()
        if not self.awake:
            self.wake()

    def forget(self, read: _Read) -> None:
        with self._lock:
            self._reads.discard(read)

    def wake(self) -> None:
        """Make sure the watchdog looks (called once a read is in its slot or set): it
        clears the flag only before a last look that would see that read."""
        self.awake = True
        self._wake.set()

    def _start(self) -> None:
        """Start the thread (caller holds the lock)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="bkg-watchdog", daemon=True)
            self._thread.start()

    def timed_out_recently(self, owner: str | None) -> bool:
        """Whether a read of `owner` ran out its deadline within `REPEAT_WINDOW_S`: its
        next reads start demoted, so a tenant sending runaway after runaway gets no CPU
        at normal priority even for the first milliseconds of each."""
        if owner is None:
            return False
        at = self._timeouts.get(owner)
        return at is not None and time.monotonic() - at < REPEAT_WINDOW_S

    def _run(self) -> None:
        idle_since: float | None = None
        while True:
            self._wake.wait()
            now = time.monotonic()
            if self._look():
                idle_since = None
            elif idle_since is None:
                idle_since = now
            elif now - idle_since >= IDLE_AFTER_S:
                # Idle: block until a read wakes it. The flag is cleared before `awake` is,
                # so a read that set `awake` sets the flag after this; and a read that found
                # `awake` still true (and woke no one) is running or done by the last look.
                self._wake.clear()
                self.awake = False
                idle_since = None
                if not self._look():
                    continue
                self.wake()
            time.sleep(WATCH_INTERVAL_S)

    def _look(self) -> bool:
        """Look at every running read once; whether any is running."""
        now = time.monotonic()
        running = False
        with self._lock:  # held while looking: a forgotten read is never touched
            for read in self._reads:
                read.look(now)
                if read.deadline.reason == TIMEOUT_MESSAGE and read.deadline.owner:
                    self._timeouts[read.deadline.owner] = now
                running = True
            slots = list(self._slots)
        for slot in slots:
            if slot.look(now, self._timeouts):
                running = True
            elif slot.gone():
                with self._lock:
                    self._slots.discard(slot)
        return running


WATCHDOG = Watchdog()


class RunningStatements:
    """The deadlines of the statements running now, so that a stopping server can cancel
    them all (and every statement that starts after it began to stop)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: set[Deadline] = set()
        self.stopping: str | None = None
        self.cancelled: dict[str, int] = {}
        """Statements cancelled so far, by reason (`TIMEOUT_MESSAGE`, ...)."""

    def __len__(self) -> int:
        return len(self._running)

    def start(self, deadline: Deadline) -> None:
        """Track `deadline` until `finish` (cancelled at once while stopping).

        No lock (every statement passes through here): adding to a set and copying it are
        each one step under the GIL, and `cancel_all` sets `stopping` before it copies the
        set, so a deadline added after the copy sees `stopping` here."""
        self._running.add(deadline)
        stopping = self.stopping
        if stopping is not None:
            deadline.cancel(stopping)

    def finish(self, deadline: Deadline) -> None:
        self._running.discard(deadline)

    def count_cancelled(self, reason: str) -> None:
        with self._lock:
            self.cancelled[reason] = self.cancelled.get(reason, 0) + 1

    def cancel_all(self, reason: str = SHUTDOWN_MESSAGE) -> int:
        """Cancel every running statement and every later one; how many were running."""
        self.stopping = reason
        running = list(self._running)
        for deadline in running:
            deadline.cancel(reason)
        return len(running)
