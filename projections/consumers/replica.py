"""A read replica's core: a projection built from the `bkg.log` topic, verified as it goes.

`KafkaReplica` reads `bkg.log` (one partition, no consumer group: it keeps its own place),
checks every frame with `StreamVerifier` (CRC, LSN order, hash chain, seal signatures) and
folds the records a seal has authenticated into a SQLite projection with the same folds the
primary uses, so that at the same LSN it holds the same rows. The applied LSN, the chain
value, the known keys and the Kafka offset to resume from are written in the same
transaction as the effects: a replica stopped at any point resumes exactly where it was.
Queries run on the store (`connect_readonly`) through the same SQL layer as the primary's.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from eventlog.framing import GENESIS_HASH
from eventlog.record import Record
from projections.consumers.cdc import LOG_TOPIC
from projections.consumers.stream_verify import StreamVerifier
from projections.folds import FoldRegistry, apply_event
from projections.meta import connect, init_schema, read_applied_lsn, set_applied_lsn

STATE_TABLE = "_bkg_replica"


@dataclass(frozen=True)
class ReplicaState:
    """Where the replica stands: applied LSN, chain after it, keys, next Kafka offset."""

    lsn: int
    chain: bytes
    keys: dict[str, bytes]
    offset: int


class KafkaReplica:
    """Follows `bkg.log` into the SQLite store at `path`."""

    def __init__(self, path: Path, bootstrap: str, registry: FoldRegistry) -> None:
        self.path = Path(path)
        self.bootstrap = bootstrap
        self.registry = registry
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = connect(str(self.path))
        init_schema(self.conn)
        self.conn.execute(
            f"CREATE TABLE IF NOT EXISTS {STATE_TABLE} (id INTEGER PRIMARY KEY CHECK (id = 1),"
            " chain BLOB NOT NULL, keys TEXT NOT NULL, next_offset INTEGER NOT NULL)"
        )

    @property
    def applied_lsn(self) -> int:
        return read_applied_lsn(self.conn)

    def state(self) -> ReplicaState:
        row = self.conn.execute(f"SELECT chain, keys, next_offset FROM {STATE_TABLE}").fetchone()
        if row is None:
            return ReplicaState(0, GENESIS_HASH, {}, 0)
        keys = {k: bytes.fromhex(v) for k, v in json.loads(row[1]).items()}
        return ReplicaState(self.applied_lsn, bytes(row[0]), keys, int(row[2]))

    def connect_readonly(self) -> sqlite3.Connection:
        """A read connection on the replica's store (its applied LSN is `applied_lsn`)."""
        return connect(str(self.path), read_only=True)

    async def follow(
        self, until_lsn: int | None = None, idle_timeout_s: float | None = None
    ) -> int:
        """Apply verified records until `until_lsn` is applied, or until nothing arrived for
        `idle_timeout_s`, or forever; returns the applied LSN. Raises StreamVerifyError at
        the first record that fails verification."""
        state = self.state()
        if until_lsn is not None and state.lsn >= until_lsn:
            return state.lsn
        verifier = StreamVerifier.resume(state.lsn, state.chain, state.keys, tolerate_gaps=True)
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False)
        await consumer.start()
        loop = asyncio.get_running_loop()
        idle_since = loop.time()
        try:
            partition = TopicPartition(LOG_TOPIC, 0)
            consumer.assign([partition])
            consumer.seek(partition, state.offset)
            while until_lsn is None or self.applied_lsn < until_lsn:
                batches = await consumer.getmany(partition, timeout_ms=500)
                messages = batches.get(partition, [])
                if messages:
                    idle_since = loop.time()
                elif idle_timeout_s is not None and loop.time() - idle_since >= idle_timeout_s:
                    break
                self._apply(verifier, messages)
        finally:
            await consumer.stop()
        return self.applied_lsn

    def follow_sync(self, until_lsn: int | None = None, idle_timeout_s: float | None = None) -> int:
        return asyncio.run(self.follow(until_lsn, idle_timeout_s))

    def _apply(
        self, verifier: StreamVerifier, messages: list[ConsumerRecord[bytes, bytes]]
    ) -> None:
        """Verify the messages and fold what seals released, with the state, atomically."""
        released: list[Record] = []
        next_offset = None
        for message in messages:
            if message.value is None:
                continue
            seal = dict(message.headers).get("seal")
            newly = verifier.accept(message.value, seal)
            if newly:
                released.extend(newly)
                next_offset = message.offset + 1
        if not released or next_offset is None:
            return
        self.conn.execute("BEGIN")
        try:
            for record in released:
                apply_event(self.conn, record, self.registry)
            set_applied_lsn(self.conn, released[-1].lsn)
            keys = json.dumps({k: v.hex() for k, v in verifier.ring.public_keys().items()})
            self.conn.execute(
                f"INSERT OR REPLACE INTO {STATE_TABLE} (id, chain, keys, next_offset)"
                " VALUES (1, ?, ?, ?)",
                (released[-1].chain_hash, keys, next_offset),
            )
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()
