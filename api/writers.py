"""How a `Database` writes: through its own signed log (a primary), or not at all (a replica).

`Database` runs every statement the same way, on a snapshot of its projection store and as
its principal; what differs between a primary and a read replica is only what stands behind
the store, and that is a `Writer` given to its constructor:

    LogWriter         the primary: the log writer, the commit pipeline, checkpoints, and
                      past states replayed from them (`as_of_lsn`)
    ReadOnlyReplica   a read replica's store, folded by a follower of `bkg.log`: writes
                      are refused with `ReadOnlyError` naming the primary, past states
                      with `NotSupportedError`; its history is the records it applied

Both hand readers a `history` (`api.realtime.source.RecordSource`): the log itself, or the
replica's `ReplicaHistory`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import AbstractContextManager
from typing import Any, Protocol, TypeVar

from api.datadir import DataDir
from api.realtime.source import RecordSource
from api.sql.errors import NotSupportedError, ReadOnlyError
from eventlog import EventLog, KeyRing
from projections.checkpoint_policy import Checkpointer, CheckpointPolicy
from projections.checkpoints import Checkpoint, CheckpointStore
from projections.consumers.replica_history import ReplicaHistory
from projections.consumers.replica_status import ReplicaStatus
from projections.deadline import Deadline
from projections.folds import FoldRegistry
from projections.pipeline import CommitPipeline, Committed, Submit
from projections.repair import OpenReport, open_store
from projections.store import ProjectionStore
from projections.timetravel import TimeTravel

T = TypeVar("T")
Work = Callable[[sqlite3.Connection, Submit], T]


class Writer(Protocol):
    """What stands behind a `Database`'s store (see the module docstring)."""

    store: ProjectionStore
    history: RecordSource

    def check_writable(self) -> None:
        """Raise `ReadOnlyError` if nothing can be written here."""

    def submit(self, work: Work[T]) -> Future[Committed[T]]:
        """Queue a write job (see `projections.pipeline.CommitPipeline.submit`)."""

    def run(self, work: Work[T]) -> Committed[T]:
        """Run a write job and wait for it, in the calling thread when nothing else is
        writing (see `projections.pipeline.CommitPipeline.run`)."""

    def state_at(self, lsn: int, deadline: Deadline) -> AbstractContextManager[sqlite3.Connection]:
        """A connection holding the state after record `lsn`."""

    def checkpoint(self) -> Checkpoint:
        """Take a checkpoint of the current state now."""

    def problem(self) -> str | None:
        """Why this database cannot keep up with its source of records (None: it can)."""

    def close(self) -> None:
        """Finish what is queued and release the store (and the log)."""


class LogWriter:
    """A primary: writes go through the commit pipeline into the signed log."""

    def __init__(
        self,
        data: DataDir,
        log: EventLog,
        folds: FoldRegistry,
        policy: CheckpointPolicy,
        time_travel_cache_bytes: int,
    ) -> None:
        key = log.signing_key
        ring = KeyRing({key.key_id: key.public_bytes})
        self.log = log
        self.history: RecordSource = log
        self.checkpoints = CheckpointStore(data.checkpoints)
        self.store: ProjectionStore
        self.open_report: OpenReport
        self.store, self.open_report = open_store(
            data.projections, log, self.checkpoints, ring, folds
        )
        self.time_travel = TimeTravel(
            log, self.checkpoints, ring, folds, cache_bytes=time_travel_cache_bytes
        )
        self.checkpointer = Checkpointer(policy, self._take_checkpoint)
        self.pipeline = CommitPipeline(
            self.store, log, folds, on_commit=self.checkpointer.on_commit
        )

    def check_writable(self) -> None:
        return None

    def submit(self, work: Work[T]) -> Future[Committed[T]]:
        return self.pipeline.submit(work)

    def run(self, work: Work[T]) -> Committed[T]:
        return self.pipeline.run(work)

    def state_at(self, lsn: int, deadline: Deadline) -> AbstractContextManager[sqlite3.Connection]:
        return self.time_travel.state_at(lsn, deadline)

    def checkpoint(self) -> Checkpoint:
        """Take a checkpoint now (retiring old ones by the policy)."""
        return self.checkpointer.checkpoint_now()

    def problem(self) -> str | None:
        return None  # the primary is the source

    def close(self) -> None:
        """Finish queued writes, close the projection cleanly and release the log."""
        self.checkpointer.close()
        self.pipeline.close()
        self.time_travel.clear()
        if self.pipeline.broken is None:
            self.store.close(self.log)
        else:
            self.store.abandon()
        self.log.close()

    def _take_checkpoint(self) -> Checkpoint:
        self.store.check_usable()  # a damaged file must not become a checkpoint
        checkpoint = self.checkpoints.take(self.store.path, self.log, self.log.signing_key)
        self.checkpoints.retire(self.checkpointer.policy.keep)
        return checkpoint


class ReadOnlyReplica:
    """A read replica: its store is folded by a follower of `bkg.log` (which tells it what
    it applied and hands it its `status`, see `api.http.replica.ReplicaFollower`); nothing
    is written through it."""

    def __init__(self, store: ProjectionStore, primary: str | None) -> None:
        self.store = store
        self.primary = primary
        self.replica_history = ReplicaHistory(store)
        self.history: RecordSource = self.replica_history
        self.status = ReplicaStatus()

    def check_writable(self) -> None:
        raise self._read_only()

    def submit(self, work: Work[T]) -> Future[Committed[T]]:
        raise self._read_only()

    def run(self, work: Work[T]) -> Committed[T]:
        raise self._read_only()

    def state_at(self, lsn: int, deadline: Deadline) -> AbstractContextManager[sqlite3.Connection]:
        raise NotSupportedError(
            "a replica answers at its applied LSN only; ask the primary for past states",
            {"applied_lsn": self.store.applied_lsn},
        )

    def checkpoint(self) -> Checkpoint:
        raise self._read_only()

    def problem(self) -> str | None:
        """Why the follower cannot follow `bkg.log` (see `replica_status`)."""
        return self.status.reason

    def close(self) -> None:
        """Close the read connections and release the store directory."""
        self.store.close_connections()
        self.store.lock.release()

    def _read_only(self) -> ReadOnlyError:
        detail: dict[str, Any] | None = {"primary": self.primary} if self.primary else None
        return ReadOnlyError("this is a read-only replica: write to the primary", detail)
