"""Ours through the embedded API: ``api.Database`` as a :class:`bench.load.Peer`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

from api.database import Database
from api.datadir import DataDir
from api.initialise import initialise
from bench.load import Write
from bench.scenarios._eventlog import SUBJECT

SEGMENT_BYTES = 64 * 1024 * 1024
CREATE = "CREATE TABLE bench_events (id bigserial PRIMARY KEY, payload bytea NOT NULL)"
INSERT = "INSERT INTO bench_events (payload) VALUES ($1)"


def new_database(directory: Path) -> Database:
    """Initialise a data directory under ``directory`` and open it."""
    root = directory / "data"
    initialise(DataDir(root), SEGMENT_BYTES)
    return Database.open(root)


class DatabasePeer:
    """Durable single-row INSERTs through ``Database.execute``: each returns once the log
    record is durable and the row visible to readers."""

    name = SUBJECT

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._db: Database | None = None

    def __enter__(self) -> DatabasePeer:
        self._db = new_database(self.directory)
        self._db.execute(CREATE)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._db is not None:
            self._db.close()

    def count(self) -> int:
        """Rows committed so far (for tests)."""
        if self._db is None:
            raise RuntimeError("DatabasePeer used outside its with-block")
        return int(self._db.execute("SELECT count(*) FROM bench_events").rows[0][0])

    @contextmanager
    def session(self) -> Iterator[Write]:
        """Writers share the one database; its commit pipeline groups them into fsyncs."""
        db = self._db
        if db is None:
            raise RuntimeError("DatabasePeer used outside its with-block")

        def write(payload: bytes) -> None:
            db.execute(INSERT, [payload])

        yield write
