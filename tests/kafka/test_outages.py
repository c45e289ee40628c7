"""Outages: the broker killed and restarted mid-stream, and the mirroring process killed.

In both, a reader of `bkg.log` must find every LSN, in order, verified, once the mirror has
caught up; while the broker is down, writes go on and the lag shows in the stats.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from api.database import Database
from api.http.metrics import Metrics
from bench.peers.kafka import TansuBroker
from projections.consumers.cursor import CursorFile
from projections.consumers.kafka_mirror import MIRROR_NAME, KafkaMirror, MirrorConfig
from projections.consumers.runner import ConsumerRunner
from projections.consumers.service import ConsumerService
from tests.kafka.kafkit import (
    consume,
    has_lsns_up_to,
    lsn_of,
    open_database,
    verified_log,
    verified_through,
    write_workload,
)

ROOT = Path(__file__).resolve().parents[2]


def poll(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.02)


def mirror_runner(db: Database, bootstrap: str, max_batch: int = 16) -> ConsumerRunner:
    cursor = CursorFile(db.data.consumers, MIRROR_NAME)
    config = MirrorConfig(bootstrap, request_timeout_ms=2000)
    return ConsumerRunner(KafkaMirror(config), db.log, cursor, max_batch=max_batch)


class Writer:
    """Inserts rows on a thread until stopped, as clients would during an outage."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.rows = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.rows += 1
            self.db.execute("INSERT INTO items (id, name) VALUES ($1, 'w')", [100_000 + self.rows])
            self._stop.wait(0.002)

    def __enter__(self) -> Writer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def test_broker_killed_mid_stream_nothing_missing(
    tmp_path: Path, durable_broker: TansuBroker
) -> None:
    db = open_database(tmp_path / "data")
    runner = mirror_runner(db, durable_broker.bootstrap)
    try:
        write_workload(db, rows=5)
        runner.start()
        with Writer(db):
            poll(lambda: runner.cursor >= 40, 30, "the mirror to get going")
            durable_broker.kill()
            head_at_kill = db.log.head_lsn
            # Writes go on without the broker, and the mirror's lag shows it.
            poll(lambda: db.log.head_lsn >= head_at_kill + 100, 30, "writes during the outage")
            snapshot = runner.stats.snapshot()
            assert snapshot.cursor_lsn <= head_at_kill
            assert snapshot.lag >= 100
            metrics = Metrics()
            ConsumerService([runner], []).register_gauges(metrics.labelled_gauge)
            text = metrics.render()
            lag = re.search(
                r'^bkg_consumer_lag_records\{consumer="kafka-mirror"\} (\d+)$', text, re.M
            )
            assert lag is not None and int(lag.group(1)) >= snapshot.lag
            poll(lambda: runner.stats.snapshot().errors_total >= 1, 30, "the failure to show")
            durable_broker.start()
            poll(lambda: runner.cursor > snapshot.cursor_lsn, 30, "the mirror to resume")
        head = db.log.head_lsn
        assert runner.wait_until(head, timeout=60)
        assert runner.stats.snapshot().lag == 0
    finally:
        runner.stop()
        db.close()
    messages = consume(
        durable_broker.bootstrap, verified_through(head), topics=("bkg.log",), group=None
    )
    released = verified_log(messages, tolerate_gaps=True)
    assert [r.lsn for r in released] == list(range(1, head + 1))


def test_mirroring_process_killed_resumes_from_cursor(tmp_path: Path, broker: TansuBroker) -> None:
    data = tmp_path / "data"
    db = open_database(data)
    write_workload(db, rows=3)
    db.close()
    cursor = CursorFile(data / "consumers", MIRROR_NAME)
    with open(tmp_path / "child.log", "wb") as log:
        child = subprocess.Popen(
            [sys.executable, "-m", "tests.kafka.mirror_process", str(data), broker.bootstrap],
            cwd=ROOT,
            stdout=log,
            stderr=log,
        )
    try:
        poll(lambda: cursor.load() >= 60, 60, "the child to mirror")
    except TimeoutError as exc:
        raise AssertionError((tmp_path / "child.log").read_text()[-3000:]) from exc
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    saved = cursor.load()
    db = Database.open(data)
    runner = mirror_runner(db, broker.bootstrap)
    try:
        assert db.log.head_lsn >= saved
        runner.start()
        head = db.log.head_lsn
        assert runner.wait_until(head, timeout=30)
        assert runner.stats.snapshot().records_total == head - saved
    finally:
        runner.stop()
        db.close()
    messages = consume(broker.bootstrap, has_lsns_up_to(head), topics=("bkg.log",), group=None)
    released = verified_log(messages)
    assert [r.lsn for r in released] == list(range(1, head + 1))
    counts = Counter(lsn_of(m) for m in messages)
    assert all(counts[lsn] == 1 for lsn in range(1, saved + 1))
