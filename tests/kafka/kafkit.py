"""Helpers of the Kafka tests: a data directory with a database, and a plain aiokafka
consumer group reading what the mirror wrote."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

from aiokafka import AIOKafkaConsumer, ConsumerRecord

from api.database import Database
from api.datadir import DataDir
from api.initialise import initialise
from eventlog import Record
from projections.consumers.stream_verify import StreamVerifier

Messages = list[ConsumerRecord[bytes, bytes]]


def open_database(root: Path) -> Database:
    """A fresh, initialised data directory opened for embedded use."""
    initialise(DataDir(root), 1 << 20)
    return Database.open(root)


def write_workload(db: Database, rows: int, table: str = "items") -> None:
    """DDL, inserts, updates and deletes: every kind of change the mirror carries."""
    db.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, name TEXT, blob BYTEA)")
    for i in range(rows):
        db.execute(
            f"INSERT INTO {table} (id, name, blob) VALUES ($1, $2, $3)", [i, f"n{i}", b"\x00"]
        )
    db.execute(f"UPDATE {table} SET name = 'changed' WHERE id < 3")
    db.execute(f"DELETE FROM {table} WHERE id = 1")


def consume(
    bootstrap: str,
    done: Callable[[Messages], bool],
    *,
    topics: tuple[str, ...] = (),
    pattern: str | None = None,
    group: str | None = "bkg-test",
    timeout_s: float = 30.0,
) -> Messages:
    """Read with a consumer group from the earliest offset until `done(messages)`."""
    return asyncio.run(_consume(bootstrap, done, topics, pattern, group, timeout_s))


async def _consume(
    bootstrap: str,
    done: Callable[[Messages], bool],
    topics: tuple[str, ...],
    pattern: str | None,
    group: str | None,
    timeout_s: float,
) -> Messages:
    consumer = AIOKafkaConsumer(
        *topics,
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        metadata_max_age_ms=500,
    )
    if pattern is not None:
        consumer.subscribe(pattern=pattern)
    await consumer.start()
    messages: Messages = []
    deadline = time.monotonic() + timeout_s
    try:
        while not done(messages):
            if time.monotonic() > deadline:
                raise TimeoutError(f"consumed {len(messages)} messages, not done")
            batches = await consumer.getmany(timeout_ms=500)
            for batch in batches.values():
                messages.extend(batch)
    finally:
        await consumer.stop()
    return messages


def lsn_of(message: ConsumerRecord[bytes, bytes]) -> int:
    headers = dict(message.headers)
    return int(headers["lsn"].decode())


def has_lsns_up_to(head: int) -> Callable[[Messages], bool]:
    return lambda messages: any(lsn_of(m) >= head for m in messages)


def verified_through(head: int) -> Callable[[Messages], bool]:
    """Done once every LSN up to `head` has been released by a gap-tolerant verifier."""
    return lambda messages: len(verified_log(messages, tolerate_gaps=True)) >= head


def verified_log(messages: Messages, tolerate_gaps: bool = False) -> list[Record]:
    """Check `bkg.log` messages as a replica would and return the authenticated records.

    Redelivered LSNs are allowed (at-least-once). A gap fails, unless `tolerate_gaps`: after
    a broker outage a producer without idempotence may have delivered a batch whose
    predecessor expired; the mirror's re-send from its cursor then fills the gap, and the
    caller still checks that every LSN was released, in order.
    """
    verifier = StreamVerifier(tolerate_gaps=tolerate_gaps)
    released: list[Record] = []
    for message in messages:
        assert message.key == lsn_of(message).to_bytes(8, "big")
        assert message.value is not None
        released.extend(verifier.accept(message.value, dict(message.headers).get("seal")))
    return released
