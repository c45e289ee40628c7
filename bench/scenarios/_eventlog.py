"""Ours under the harness: the event log as a :class:`bench.load.Peer`, and a log filler."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.load import PAYLOAD, Managed, Write
from eventlog import Entry, EventLog, LogOptions
from eventlog.keys import SigningKey

SUBJECT = "bkgdb"
"""How ours is named in figure keys."""

FILL_WINDOW = 4096
"""Entries in flight while filling a log: enough to fill every group commit."""


class EventLogPeer(Managed):
    """Durable appends through ``EventLog.append``: each returns once durable and sealed."""

    name = SUBJECT

    def __init__(self, directory: Path, options: LogOptions | None = None) -> None:
        self.log_dir = directory / "log"
        self._options = options or LogOptions()
        self._log: EventLog | None = None

    def open(self) -> None:
        """Create a new, empty log with a fresh signing key."""
        self._log = EventLog.create(self.log_dir, SigningKey.generate(), self._options)

    def close(self) -> None:
        """Drain the queue and release the log directory."""
        if self._log is not None:
            self._log.close()

    @contextmanager
    def session(self) -> Iterator[Write]:
        """Appenders share the one log; its writer thread groups them into fsyncs."""
        log = self._log
        if log is None:
            raise RuntimeError("EventLogPeer used outside its with-block")

        def write(payload: bytes) -> None:
            log.append(Entry(kind="dml", payload=payload))

        yield write


def fill_log(log_dir: Path, records: int, options: LogOptions | None = None) -> SigningKey:
    """Write a log of ``records`` 200-byte dml entries (plus the key announcement).

    Entries are submitted in windows without waiting on each, so filling costs few fsyncs.
    Returns the signing key, whose public half verifiers need.
    """
    key = SigningKey.generate()
    with EventLog.create(log_dir, key, options or LogOptions()) as log:
        left = records
        while left > 0:
            window = [
                log.submit(Entry(kind="dml", payload=PAYLOAD))
                for _ in range(min(left, FILL_WINDOW))
            ]
            window[-1].future.result()
            left -= len(window)
    return key
