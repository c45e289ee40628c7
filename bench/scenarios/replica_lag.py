"""``replica_lag``: from the primary's acknowledgement of a write to its row being visible
on a read replica that follows ``bkg.log`` on Kafka, at a steady write rate.

A primary (``api.Database``) takes single-row INSERTs at ``RATE`` per second, each timed
when ``execute`` returns (the record durable, the row visible on the primary). Its Kafka
mirror (``KafkaMirror`` under ``ConsumerRunner``, as ``bkgdb serve --kafka-bootstrap``
runs it) sends each record to a Tansu broker, and a ``KafkaReplica`` (as ``bkgdb replica
--serve`` runs it) verifies and folds what arrives; the moment it commits a batch, the
batch's rows are what its readers see (``on_applied``). Per record, the lag is that moment
minus the acknowledgement. For comparison, a plain aiokafka consumer with the replica's
fetch settings reads the same topic and notes when each record's message arrives: what
the transport alone costs, with no verification, fold or commit. The replica and the raw
consumer run in processes of their own (`_lag_watch`), as a served replica does; the
primary, its mirror and the broker share the machine with them. Goal: replica p99 <= 50 ms,
recorded as ``lag_p99_headroom_ms`` (50 ms minus the p99), which must be at least 0.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
import threading
import time
from bisect import bisect_left
from pathlib import Path

from api.database import Database
from bench.errors import PeerFailedError
from bench.model import Figure, Outcome, Scenario
from bench.peers.kafka import TansuBroker
from bench.scenarios._database import CREATE, INSERT, new_database
from bench.scenarios._eventlog import SUBJECT
from bench.scenarios.mirror import percentile
from bench.sizing import smoke
from projections.consumers.cursor import CursorFile
from projections.consumers.kafka_mirror import KafkaMirror, MirrorConfig
from projections.consumers.runner import ConsumerRunner

PEER = "aiokafka"
RATE = 100.0
SECONDS = 10.0
PAYLOAD = b"x" * 200
GOAL_P99_MS = 50.0
WAIT_S = 60.0
ROOT = Path(__file__).resolve().parents[2]


class Visibility:
    """When each LSN was first seen: (lsn, monotonic s) in the order they were seen."""

    def __init__(self) -> None:
        self.lsns: list[int] = []
        self.times: list[float] = []

    def seen(self, lsn: int) -> float | None:
        """When a batch holding `lsn` was first there (None: not yet)."""
        at = bisect_left(self.lsns, lsn)
        return self.times[at] if at < len(self.lsns) else None


class Watcher:
    """A `_lag_watch` process (the replica, or the raw consumer) and what it reported."""

    def __init__(self, mode: str, store: Path, bootstrap: str, log: Path) -> None:
        self.visible = Visibility()
        with log.open("ab") as stderr:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bench.scenarios._lag_watch", mode, str(store), bootstrap],
                stdout=subprocess.PIPE,
                stderr=stderr,
                cwd=ROOT,
            )
        assert self.process.stdout is not None
        self._lines = self.process.stdout
        if self._lines.readline().strip() != b"ready":
            raise PeerFailedError(f"the {mode} watcher did not start (see {log})")
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        for line in self._lines:
            lsn, ns = line.split()
            self.visible.lsns.append(int(lsn))
            self.visible.times.append(int(ns) / 1e9)

    def wait_for(self, lsn: int) -> None:
        deadline = time.monotonic() + WAIT_S
        while self.visible.seen(lsn) is None:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise PeerFailedError(f"the watcher did not see LSN {lsn}")
            time.sleep(0.01)

    def __enter__(self) -> Watcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=WAIT_S)
        finally:
            if self.process.poll() is None:
                self.process.kill()
            self._thread.join()
            self._lines.close()


def _write_steadily(db: Database, seconds: float) -> dict[int, float]:
    """INSERTs at `RATE` per second (on schedule, not back to back) for `seconds`; when
    each LSN was acknowledged."""
    acked: dict[int, float] = {}
    started = time.monotonic()
    for i in range(int(seconds * RATE)):
        delay = started + i / RATE - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        lsn = db.execute(INSERT, [PAYLOAD]).lsn
        acked[lsn] = time.monotonic()
    return acked


def lags_ms(acked: dict[int, float], seen: Visibility) -> list[float]:
    """Per acknowledged LSN, how long after its acknowledgement it was seen (in ms)."""
    lags = []
    for lsn, at in acked.items():
        when = seen.seen(lsn)
        if when is None:
            raise PeerFailedError(f"LSN {lsn} was never seen")
        lags.append(max(0.0, when - at) * 1000)
    return lags


def measure(scratch: Path, bootstrap: str, seconds: float) -> tuple[list[float], list[float]]:
    """Lags (ms) of the replica and of the raw consumer over `seconds` of steady writes."""
    db = new_database(scratch)
    runner = ConsumerRunner(
        KafkaMirror(MirrorConfig(bootstrap)), db.log, CursorFile(scratch, "bench-mirror")
    )
    log = scratch / "watchers.log"
    try:
        db.execute(CREATE)
        runner.start()
        with Watcher("replica", scratch / "replica.sqlite", bootstrap, log) as replica:
            replica.wait_for(db.log.head_lsn)
            with Watcher("raw", scratch / "-", bootstrap, log) as raw:
                acked = _write_steadily(db, seconds)
                replica.wait_for(max(acked))
                raw.wait_for(max(acked))
            return lags_ms(acked, replica.visible), lags_ms(acked, raw.visible)
    finally:
        runner.stop()
        db.close()


def run(quick: bool) -> Outcome:
    seconds = SECONDS * (0.3 if quick or smoke() else 1.0)
    with tempfile.TemporaryDirectory(prefix="bkg-bench-replica-lag-") as scratch_dir:
        scratch = Path(scratch_dir)
        broker = TansuBroker(scratch / "broker.log")
        broker.start()
        try:
            ours, peer = measure(scratch, broker.bootstrap, seconds)
        finally:
            broker.stop()
    p99 = percentile(ours, 0.99)
    return Outcome(
        figures={
            f"{SUBJECT}_lag_p50_ms": Figure(percentile(ours, 0.5), "ms"),
            f"{SUBJECT}_lag_p99_ms": Figure(p99, "ms"),
            "lag_p99_headroom_ms": Figure(GOAL_P99_MS - p99, "ms", 0.0),
            f"{PEER}_lag_p50_ms": Figure(percentile(peer, 0.5), "ms"),
            f"{PEER}_lag_p99_ms": Figure(percentile(peer, 0.99), "ms"),
            "writes_per_s": Figure(RATE, "writes/s"),
            "records": Figure(float(len(ours)), "records"),
        },
    )


SCENARIO = Scenario(
    name="replica_lag",
    peers=(PEER,),
    run=run,
    description=(
        "Replication lag at a steady write rate: primary acknowledgement to the row visible on "
        "a read replica following bkg.log on Kafka (p50/p99), beside a raw aiokafka consumer's "
        f"arrival; goal p99 <= {GOAL_P99_MS:.0f} ms."
    ),
    needs=frozenset({"kafka"}),
)
