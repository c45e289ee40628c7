"""``append``: durable appends of 200-byte payloads from 1, 16 and 64 threads.

Ours (``EventLog.append``, group commit) against (a) ``write`` + ``fsync`` per record, (b)
SQLite WAL ``synchronous=FULL`` with one INSERT per transaction and a connection per thread,
and (c) the ``eventsourcing`` library's SQLite recorder. Every system starts from an empty
store in a fresh temporary directory at every concurrency point; a full run repeats all
points three times, interleaved, and keeps each system's best round. Goal at 64 appenders: at
least 3x (b) and 3x (c).
"""

from __future__ import annotations

from bench.compare import Factory, best_of_rounds, throughput_outcome
from bench.model import Outcome, Scenario, ratio_key
from bench.peers.eventsourcing_sqlite import EventsourcingSqlite
from bench.peers.fsync_file import FsyncFile
from bench.peers.sqlite_txn import SqliteTxn
from bench.scenarios._eventlog import SUBJECT, EventLogPeer
from bench.sizing import rounds, scaled

CONCURRENCY = (1, 16, 64)
FULL_OPERATIONS = 20_000
GOALS = {ratio_key("sqlite_txn", 64): 3.0, ratio_key("eventsourcing", 64): 3.0}

SYSTEMS: dict[str, Factory] = {
    SUBJECT: EventLogPeer,
    FsyncFile.name: FsyncFile,
    SqliteTxn.name: SqliteTxn,
    EventsourcingSqlite.name: EventsourcingSqlite,
}


def run(quick: bool) -> Outcome:
    """Every system at every point, interleaved; each keeps its best round."""
    operations = scaled(FULL_OPERATIONS, quick=quick, minimum=max(CONCURRENCY))
    measured = best_of_rounds(SYSTEMS, CONCURRENCY, operations, rounds(quick=quick))
    return throughput_outcome(measured, subject=SUBJECT, unit="appends/s", goals=GOALS)


SCENARIO = Scenario(
    name="append",
    peers=(FsyncFile.name, SqliteTxn.name, EventsourcingSqlite.name),
    run=run,
    description=(
        "Durable appends of 200-byte payloads from 1, 16 and 64 threads: ours against "
        "write+fsync per record, SQLite WAL synchronous=FULL (one INSERT per transaction) "
        "and the eventsourcing library's SQLite recorder."
    ),
)
