"""Following `bkg.log` beside a served read replica.

A replica has no log writer: its `Database` (`Database.replica`, see `api.writers`) answers
reads from snapshots of the SQLite store a `KafkaReplica` folds verified records into (see
`projections.consumers.replica`), and refuses every write with 503 UNAVAILABLE, naming the
primary when one is configured. API keys and policies are events of the log, folded into
the store like rows, so the security layer loads them from it and the primary's keys work
unchanged. `ReplicaFollower` runs the follower on its own thread and, after each applied
batch, makes it visible to readers, refreshes the security layer and wakes `/realtime`,
whose "log" is the replica's history of applied records (`ReplicaHistory`); trimming that
history spares what the realtime hub has not fanned out yet. What the follower knows of
the topic (the primary's head as last seen, a gap it cannot cross) is the writer's
`status`: `/healthz` reports it, and `/metrics` as `bkg_replica_*` gauges.
"""

from __future__ import annotations

import logging
import threading

from aiokafka.errors import KafkaError

from api.http.backend import Backend
from api.writers import ReadOnlyReplica
from projections.consumers.errors import StreamVerifyError
from projections.consumers.replica import KafkaReplica

log = logging.getLogger("bkgdb.replica")
RETRY_S = 1.0


class ReplicaFollower:
    """Runs `KafkaReplica.follow` on its own thread and tells the server what it applied."""

    def __init__(self, replica: KafkaReplica, backend: Backend) -> None:
        writer = backend.db.writer
        if not isinstance(writer, ReadOnlyReplica):
            raise TypeError("a replica follower serves a replica's database")
        self.replica, self.backend, self.db = replica, backend, backend.db
        self.history = writer.replica_history
        writer.status = replica.status
        replica.history_read_through = backend.realtime.read_through
        _register_gauges(backend, replica)
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
        self.history.advance()

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


def _register_gauges(backend: Backend, replica: KafkaReplica) -> None:
    """What the follower knows of `bkg.log`, on the server's `/metrics`."""
    status, metrics = replica.status, backend.metrics
    metrics.gauge(
        "bkg_replica_primary_head_lsn",
        "Highest LSN seen in bkg.log: the primary's head as last seen.",
        lambda: status.primary_head_lsn,
    )
    metrics.gauge(
        "bkg_replica_gap_records",
        "Records bkg.log holds beyond a gap this replica cannot cross (0: none).",
        lambda: status.gap_records,
    )
    metrics.gauge(
        "bkg_replica_stalled",
        "1 while the replica cannot follow bkg.log (see /healthz for the reason).",
        lambda: 0 if status.reason is None else 1,
    )
