"""Serving a read replica: the primary's HTTP routes over a store that follows `bkg.log`.

A replica has no log writer: its state is the SQLite store a `KafkaReplica` folds verified
records into (see `projections.consumers.replica`). `ReadOnlyDatabase` is the `Database`
the routes expect, answering reads from snapshots of that store (with the LSN it has
applied) and refusing every write with 503 UNAVAILABLE, naming the primary when one is
configured. API keys and policies are events of the log, folded into the store like rows,
so the security layer loads them from it and the primary's keys work unchanged; it is
refreshed after each applied batch. Only the read routes are served (`create_replica_app`),
`/realtime` among them: its "log" is the replica's history of applied records
(`ReplicaHistory`), which the follower wakes after each batch.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Sequence
from typing import Any, cast

from aiokafka.errors import KafkaError

from api.database import BatchResult, Database, DatabaseOptions, PrincipalLike, Result, Verify
from api.datadir import DataDir
from api.http.access import RememberedAccess
from api.http.backend import Backend
from api.http.errors import ApiError
from api.sql import SqlEngine
from api.sql.engine import Params
from eventlog import EventLog
from projections.consumers.errors import StreamVerifyError
from projections.consumers.replica import KafkaReplica
from projections.consumers.replica_history import ReplicaHistory
from projections.deadline import Deadline
from projections.store import ProjectionStore

log = logging.getLogger("bkgdb.replica")
RETRY_S = 1.0


class ReadOnlyDatabase(Database):
    """A `Database` over a replica's store: reads as the primary runs them, writes refused.

    The primary's statement path (`Database.execute` on a snapshot, the principal's
    rewrite and authorizer) is reused as it is; only the parts that would write, replay
    the log or checkpoint are replaced, so `Database.__init__` (which opens a log writer)
    is not run."""

    def __init__(
        self,
        data: DataDir,
        store: ProjectionStore,
        access: RememberedAccess,
        primary: str | None,
        options: DatabaseOptions | None = None,
    ) -> None:
        self._govern(options or DatabaseOptions())
        self.data = data
        self.store = store
        self.engine = SqlEngine()
        self._access = access
        self.primary = primary
        # What the routes read of a log (`head_lsn`; `read` and `follow` for realtime) is
        # the replica's history of applied records; nothing else of a log is used.
        self.history = ReplicaHistory(store)
        self.log = cast(EventLog, self.history)

    def execute(
        self,
        sql: str,
        params: Params = None,
        principal: PrincipalLike | None = None,
        as_of_lsn: int | None = None,
        *,
        timeout: float | None = None,
        deadline: Deadline | None = None,
    ) -> Result:
        self._refuse_writes([sql], principal)
        if as_of_lsn is not None and as_of_lsn != self.store.applied_lsn:
            raise ApiError(
                "CAPABILITY_NOT_SUPPORTED",
                "a replica answers at its applied LSN only; ask the primary for past states",
                {"applied_lsn": self.store.applied_lsn},
            )
        return super().execute(sql, params, principal, None, timeout=timeout, deadline=deadline)

    def execute_batch(
        self,
        statements: Sequence[tuple[str, Params]],
        principal: PrincipalLike | None = None,
        *,
        timeout: float | None = None,
        deadline: Deadline | None = None,
        verify: Verify | None = None,
    ) -> BatchResult:
        self._refuse_writes([sql for sql, _ in statements], principal)
        return super().execute_batch(
            statements, principal, timeout=timeout, deadline=deadline, verify=verify
        )

    async def execute_async(
        self,
        sql: str,
        params: Params = None,
        principal: PrincipalLike | None = None,
        as_of_lsn: int | None = None,
        *,
        timeout: float | None = None,
        deadline: Deadline | None = None,
    ) -> Result:
        return await asyncio.to_thread(
            self.execute, sql, params, principal, as_of_lsn, timeout=timeout, deadline=deadline
        )

    async def execute_batch_async(
        self,
        statements: Sequence[tuple[str, Params]],
        principal: PrincipalLike | None = None,
        *,
        timeout: float | None = None,
        deadline: Deadline | None = None,
        verify: Verify | None = None,
    ) -> BatchResult:
        return await asyncio.to_thread(
            self.execute_batch,
            statements,
            principal,
            timeout=timeout,
            deadline=deadline,
            verify=verify,
        )

    async def write_async(
        self,
        statements: Sequence[tuple[str, Params]],
        principal: PrincipalLike | None = None,
        timeout: float | None = None,
        deadline: Deadline | None = None,
        verify: Verify | None = None,
    ) -> BatchResult:
        raise self._unavailable()

    def append_event(self, entry: Any) -> int:
        raise self._unavailable()

    async def append_event_async(self, entry: Any) -> int:
        raise self._unavailable()

    def checkpoint(self) -> Any:
        raise self._unavailable()

    def close(self) -> None:
        """Close the read connections and release the store directory."""
        self.store.close_connections()
        self.store.lock.release()

    def _refuse_writes(self, statements: list[str], principal: PrincipalLike | None) -> None:
        namespace = self._context(principal).default_namespace
        if any(self.engine.is_write(sql, namespace) for sql in statements):
            raise self._unavailable()

    def _unavailable(self) -> ApiError:
        detail = {"primary": self.primary} if self.primary else None
        return ApiError("UNAVAILABLE", "this is a read-only replica: write to the primary", detail)


class ReplicaFollower:
    """Runs `KafkaReplica.follow` on its own thread and tells the server what it applied."""

    def __init__(self, replica: KafkaReplica, backend: Backend) -> None:
        if not isinstance(backend.db, ReadOnlyDatabase):
            raise TypeError("a replica follower serves a ReadOnlyDatabase")
        self.replica, self.backend, self.db = replica, backend, backend.db
        self.error: Exception | None = None
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="replica-follower", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self.replica.stop()
        self._thread.join()

    def applied(self, lsn: int) -> None:
        """New state is committed: readers see it, keys and policies are reloaded, then
        realtime fans the new records out (their row checks see the new state)."""
        self.db.store.committed(lsn)
        self.backend.refresh()
        self.db.history.advance()

    def _run(self) -> None:
        """Follow until stopped; an unreachable broker is retried, a record that fails
        verification ends the following (the store keeps the last verified state)."""
        while not self._stopping.is_set():
            try:
                self.replica.follow_sync(on_applied=self.applied)
            except StreamVerifyError as exc:
                self.error = exc
                log.error("bkg.log fails verification at LSN %d: %s; not following", exc.lsn, exc)
                return
            except KafkaError as exc:
                log.warning("Kafka: %s; retrying", exc)
                self._stopping.wait(RETRY_S)
