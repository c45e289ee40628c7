"""A watcher of `bkg.log` in a process of its own, for ``replica_lag``: ``python -m
bench.scenarios._lag_watch replica STORE BOOTSTRAP`` follows the topic as a `KafkaReplica`
and prints ``<lsn> <monotonic ns>`` each time a batch is committed (visible to its readers);
``... raw - BOOTSTRAP`` is a plain aiokafka consumer with the replica's fetch settings that
prints the same for every message as it arrives. ``ready`` comes first. A process of its
own, as a served replica is: threads of one process would queue on one interpreter lock,
which a replica does not share with its primary. CLOCK_MONOTONIC is one clock for every
process of the machine, so the times compare with the writer's."""

from __future__ import annotations

import asyncio
import signal
import sys
import threading
import time
from pathlib import Path

from aiokafka import AIOKafkaConsumer, TopicPartition

from api.folds import all_folds
from eventlog.framing import LSN_FIELD
from projections.consumers.cdc import LOG_TOPIC
from projections.consumers.replica import FETCH_MAX_WAIT_MS, KafkaReplica


def note(lsn: int) -> None:
    print(lsn, time.monotonic_ns(), flush=True)


def follow_as_replica(store: Path, bootstrap: str) -> None:
    replica = KafkaReplica(store, bootstrap, all_folds())
    signal.signal(signal.SIGTERM, lambda *_: replica.stop())
    print("ready", flush=True)
    replica.follow_sync(on_applied=note)
    replica.close()


async def follow_raw(bootstrap: str) -> None:
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=FETCH_MAX_WAIT_MS
    )
    await consumer.start()
    try:
        partition = TopicPartition(LOG_TOPIC, 0)
        consumer.assign([partition])
        await consumer.seek_to_end(partition)
        await consumer.position(partition)
        print("ready", flush=True)
        while not stopping.is_set():
            batches = await consumer.getmany(partition, timeout_ms=200)
            for message in batches.get(partition, []):
                if message.key is not None:
                    note(LSN_FIELD.unpack(message.key)[0])
    finally:
        await consumer.stop()


if __name__ == "__main__":
    mode, store, bootstrap = sys.argv[1:4]
    if mode == "replica":
        follow_as_replica(Path(store), bootstrap)
    else:
        asyncio.run(follow_raw(bootstrap))
