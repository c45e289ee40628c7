"""``mirror``: records/s the Kafka mirror delivers to a broker, against a raw aiokafka producer.

A log of SQL-shaped records (one inserted row each, ~200 bytes) is mirrored from LSN 1 by
``KafkaMirror`` under ``ConsumerRunner``: each record becomes a ``bkg.log`` message (its
signed frame) and a ``bkg.cdc.public.bench`` Debezium message, both acknowledged (acks=all)
before the durable cursor moves. The peer is a plain ``AIOKafkaProducer`` with the same
settings sending exactly the same messages (to other topics) as fast as it can, with no log
to read, no cursor to keep. The mirror queues its messages through aiokafka's batch API;
for transparency a second peer (``aiokafka_batch``) sends the same messages through that
API too, which shows what the mirror's own work (reading and checking the log, building
the CDC JSON, keeping the cursor) costs. All run against the same Tansu broker in the same
run, best of a few passes. Goal: ours >= 0.8x the raw producer (``vs_aiokafka@1``).

Then the lag: records are appended at a steady rate while the mirror follows the log live;
per record, the time from its commit timestamp to the broker's acknowledgement of its
batch. Reported as p50/p99 in milliseconds.
"""

from __future__ import annotations

import asyncio
import tempfile
import threading
import time
from collections.abc import Awaitable, Sequence
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer

from bench.errors import PeerFailedError
from bench.model import Figure, Outcome, Ratio, Scenario, figure_key, ratio_key
from bench.peers.kafka import TansuBroker
from bench.scenarios._eventlog import SUBJECT
from bench.sizing import rounds, scaled, smoke
from eventlog import Entry, EventLog, LogOptions, SealedRecord, SigningKey
from projections.consumers.cdc import Message, change_messages, log_message
from projections.consumers.cursor import CursorFile
from projections.consumers.kafka_mirror import KafkaMirror, MirrorConfig, send_in_batches
from projections.consumers.runner import ConsumerRunner

PEER = "aiokafka"
BATCH_PEER = "aiokafka_batch"
FULL_RECORDS = 100_000
LIVE_RATE = 2000.0
LIVE_SECONDS = 3.0
GOAL_RATIO = 0.8


def payload(i: int) -> dict[str, Any]:
    row = {"id": i, "body": "x" * 120}
    return {
        "statements": [{"sql": "INSERT INTO public.bench (id, body) VALUES ($1, $2)"}],
        "changes": [
            {"op": "insert", "table": "public.bench", "rowid": i, "pk": {"id": i}, "old": None,
             "new": row}
        ],
    }  # fmt: skip


def fill(log: EventLog, records: int) -> None:
    """Append `records` SQL-shaped records without waiting on each."""
    pending = [log.submit(Entry("dml", payload(i), actor="admin")) for i in range(records)]
    pending[-1].future.result()


def mirror_once(log: EventLog, scratch: Path, bootstrap: str) -> float:
    """Mirror the whole log from LSN 1 with a fresh cursor; records/s."""
    cursor = CursorFile(scratch, f"bench-{time.monotonic_ns()}")
    runner = ConsumerRunner(KafkaMirror(MirrorConfig(bootstrap)), log, cursor)
    began = time.perf_counter()
    runner.start()
    try:
        if not runner.wait_until(log.head_lsn, timeout=600):
            raise PeerFailedError(f"the mirror stopped at LSN {runner.cursor}")
    finally:
        runner.stop()
    return log.head_lsn / (time.perf_counter() - began)


def raw_messages(log: EventLog) -> list[Message]:
    """The mirror's messages for the whole log, sent by the peer to `raw.*` topics."""
    messages = []
    for item in log.read_sealed(1, log.head_lsn):
        for m in [log_message(item), *change_messages(item.record)]:
            messages.append(m._replace(topic="raw." + m.topic))
    return messages


async def raw_once(
    messages: Sequence[Message], records: int, bootstrap: str, batched: bool
) -> float:
    """A plain producer with the mirror's settings sends the same messages, one `send`
    each or (`batched`) through the batch API as the mirror does; records/s."""
    config = MirrorConfig(bootstrap)
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        request_timeout_ms=config.request_timeout_ms,
        max_request_size=config.max_request_size,
        max_batch_size=config.max_batch_size,
        linger_ms=config.linger_ms,
    )
    await producer.start()
    try:
        began = time.perf_counter()
        if batched:
            acks = []
            for topic in dict.fromkeys(m.topic for m in messages):
                mine = [m for m in messages if m.topic == topic]
                acks.extend(await send_in_batches(producer, topic, mine))
        else:
            acks = [
                await producer.send(m.topic, m.value, key=m.key, headers=m.headers, partition=0)
                for m in messages
            ]
        await asyncio.gather(*acks)
        return records / (time.perf_counter() - began)
    finally:
        await producer.stop()


class _TimedMirror(KafkaMirror):
    """The mirror, noting for each record how long after its commit the broker acked it."""

    def __init__(self, config: MirrorConfig) -> None:
        super().__init__(config)
        self.lags_ms: list[float] = []

    async def dispatch(self, batch: Sequence[SealedRecord]) -> Awaitable[object]:
        acked = await super().dispatch(batch)

        async def timed() -> None:
            await acked
            now_us = time.time_ns() / 1000
            self.lags_ms.extend((now_us - item.record.ts_us) / 1000 for item in batch)

        return asyncio.ensure_future(timed())


def live_lag(log: EventLog, scratch: Path, bootstrap: str, seconds: float) -> list[float]:
    """Append at a steady rate while the mirror follows; per-record lags in ms."""
    mirror = _TimedMirror(MirrorConfig(bootstrap))
    cursor = CursorFile(scratch, "bench-live")
    cursor.save(log.head_lsn)
    runner = ConsumerRunner(mirror, log, cursor)
    runner.start()
    stop = threading.Event()
    try:
        started, sent = time.perf_counter(), 0
        while (elapsed := time.perf_counter() - started) < seconds:
            due = int(elapsed * LIVE_RATE)
            for _ in range(due - sent):
                log.submit(Entry("dml", payload(sent), actor="admin"))
                sent += 1
            stop.wait(0.001)
        if not runner.wait_until(log.head_lsn, timeout=60):
            raise PeerFailedError("the live mirror fell behind")
    finally:
        runner.stop()
    return mirror.lags_ms


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def throughputs(log: EventLog, scratch: Path, bootstrap: str, passes: int) -> list[float]:
    """Best records/s of [the mirror, the raw producer, the raw batch producer]."""
    messages = raw_messages(log)
    best = [0.0, 0.0, 0.0]
    for _ in range(passes):
        for position, batched in ((1, False), (2, True)):
            rate = asyncio.run(raw_once(messages, log.head_lsn, bootstrap, batched))
            best[position] = max(best[position], rate)
        best[0] = max(best[0], mirror_once(log, scratch, bootstrap))
    return best


def run(quick: bool) -> Outcome:
    records = scaled(FULL_RECORDS, quick=quick, minimum=200)
    passes = rounds(quick=quick, full=3)
    live_seconds = LIVE_SECONDS * (0.3 if quick or smoke() else 1.0)
    with tempfile.TemporaryDirectory(prefix="bkg-bench-mirror-") as scratch_dir:
        scratch = Path(scratch_dir)
        broker = TansuBroker(scratch / "broker.log")
        broker.start()
        try:
            with EventLog.create(scratch / "log", SigningKey.generate(), LogOptions()) as log:
                fill(log, records)
                ours, peer, batch_peer = throughputs(log, scratch, broker.bootstrap, passes)
                lags = live_lag(log, scratch, broker.bootstrap, live_seconds)
        finally:
            broker.stop()
    return Outcome(
        figures={
            figure_key(SUBJECT, 1): Figure(ours, "records/s"),
            figure_key(PEER, 1): Figure(peer, "records/s"),
            figure_key(BATCH_PEER, 1): Figure(batch_peer, "records/s"),
            "mirror_lag_p50_ms": Figure(percentile(lags, 0.5), "ms"),
            "mirror_lag_p99_ms": Figure(percentile(lags, 0.99), "ms"),
        },
        ratios={
            ratio_key(PEER, 1): Ratio(ours / peer, GOAL_RATIO),
            ratio_key(BATCH_PEER, 1): Ratio(ours / batch_peer),
        },
    )


SCENARIO = Scenario(
    name="mirror",
    peers=(PEER, BATCH_PEER),
    run=run,
    description=(
        "Records/s mirrored to a Kafka broker (bkg.log + CDC, acked, durable cursor) vs a raw "
        "aiokafka producer sending the same messages; mirror lag p50/p99 at a steady rate."
    ),
    needs=frozenset({"kafka"}),
)
