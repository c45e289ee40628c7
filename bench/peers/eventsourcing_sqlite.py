"""Peer (c): the ``eventsourcing`` library appending events with its SQLite recorder.

The infrastructure is built the way an eventsourcing application builds it: an
``InfrastructureFactory`` constructed from ``PERSISTENCE_MODULE=eventsourcing.sqlite`` and
``SQLITE_DBNAME`` (a file database, which the library switches to WAL mode), whose
application recorder inserts ``StoredEvent`` rows. Each thread appends to its own aggregate
(originator id) with increasing versions, as concurrent command handlers would. The library
leaves SQLite's ``synchronous`` at its default, FULL, so each insert is durable on return.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import uuid4

from eventsourcing.persistence import ApplicationRecorder, InfrastructureFactory, StoredEvent

from bench.load import Managed, Write

TOPIC = "bench.events:Appended"
LOCK_TIMEOUT_S = 120
"""SQLITE_LOCK_TIMEOUT: long enough that 64 appenders queue rather than fail."""


class EventsourcingSqlite(Managed):
    """One ``insert_events`` call (one transaction) per 200-byte event."""

    name = "eventsourcing"

    def __init__(self, directory: Path) -> None:
        self.path = directory / "eventsourcing.sqlite3"
        self._factory: InfrastructureFactory[Any] | None = None
        self._recorder: ApplicationRecorder | None = None

    def open(self) -> None:
        """Build the infrastructure from its environment, as an application would."""
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(self.path),
            "SQLITE_LOCK_TIMEOUT": str(LOCK_TIMEOUT_S),
        }
        self._factory = InfrastructureFactory.construct(env)
        self._recorder = self._factory.application_recorder()

    def close(self) -> None:
        """Close the library's connection pool."""
        if self._factory is not None:
            self._factory.close()

    def count(self) -> int:
        """Events recorded so far (for tests): the recorder's highest notification id."""
        return self._require().max_notification_id() or 0

    def _require(self) -> ApplicationRecorder:
        if self._recorder is None:
            raise RuntimeError("EventsourcingSqlite used outside its with-block")
        return self._recorder

    @contextmanager
    def session(self) -> Iterator[Write]:
        """A fresh aggregate per thread; the library's pool hands out connections."""
        recorder = self._require()
        originator_id = uuid4()
        version = 0

        def write(payload: bytes) -> None:
            nonlocal version
            version += 1
            event = StoredEvent(
                originator_id=originator_id, originator_version=version, topic=TOPIC, state=payload
            )
            recorder.insert_events([event])

        yield write
