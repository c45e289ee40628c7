"""When to take checkpoints: after enough records, bytes or seconds since the last one.

The commit thread reports each group it commits (cheap counters only); a background thread
takes the checkpoint when the policy says it is due, so writers never wait for a copy.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from projections.checkpoints import Checkpoint
from projections.errors import ProjectionError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckpointPolicy:
    """Thresholds for automatic checkpoints (None disables one) and how many to keep."""

    every_records: int | None = 100_000
    every_bytes: int | None = 256 * 1024 * 1024
    every_seconds: float | None = 3600.0
    keep: int = 3

    def due(self, records: int, size: int, seconds: float) -> bool:
        """True when any threshold is reached and something was written since the last."""
        if records <= 0:
            return False
        return (
            (self.every_records is not None and records >= self.every_records)
            or (self.every_bytes is not None and size >= self.every_bytes)
            or (self.every_seconds is not None and seconds >= self.every_seconds)
        )


class Checkpointer:
    """Runs `take` (write a checkpoint, retire old ones) when due, or on demand."""

    def __init__(self, policy: CheckpointPolicy, take: Callable[[], Checkpoint]) -> None:
        self.policy = policy
        self._take = take
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._running = threading.Lock()
        self._records = 0
        self._bytes = 0
        self._since = time.monotonic()
        self._closed = False
        self.last_error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="bkg-checkpoint", daemon=True)
        self._thread.start()

    def on_commit(self, last_lsn: int, records: int, size: int) -> None:
        """Count a committed group; wake the background thread if a checkpoint is due."""
        with self._lock:
            self._records += records
            self._bytes += size
            if self._is_due():
                self._wake.notify()

    def checkpoint_now(self) -> Checkpoint:
        """Take a checkpoint at once (serialised with the background thread)."""
        with self._running:
            with self._lock:
                self._records, self._bytes, self._since = 0, 0, time.monotonic()
            began = time.perf_counter()
            checkpoint = self._take()
            elapsed_ms = round((time.perf_counter() - began) * 1000, 1)
            logger.info(
                "checkpoint taken",
                extra={"event": "checkpoint", "lsn": checkpoint.lsn, "duration_ms": elapsed_ms},
            )
            return checkpoint

    def close(self) -> None:
        """Stop the background thread (a checkpoint in progress is finished first)."""
        with self._lock:
            self._closed = True
            self._wake.notify()
        self._thread.join()

    def _is_due(self) -> bool:
        return self.policy.due(self._records, self._bytes, time.monotonic() - self._since)

    def _run(self) -> None:
        timeout = self.policy.every_seconds
        while True:
            with self._lock:
                while not self._closed and not self._is_due():
                    self._wake.wait(timeout)
                if self._closed:
                    return
            try:
                self.checkpoint_now()
            except (ProjectionError, OSError, sqlite3.Error) as exc:
                self.last_error = exc
                logger.warning(
                    "automatic checkpoint failed: %s", exc, extra={"event": "checkpoint_failed"}
                )
