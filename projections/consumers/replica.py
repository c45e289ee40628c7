"""A read replica's core: a projection built from the `bkg.log` topic, verified as it goes.

`KafkaReplica` reads `bkg.log` (one partition, no consumer group: it keeps its own place),
checks every frame with `StreamVerifier` (CRC, LSN order, hash chain, seal signatures) and
folds the records a seal has authenticated into a SQLite projection with the same folds the
primary uses, so that at the same LSN it holds the same rows. The applied LSN, the chain
value, the known keys and the Kafka offset to resume from are written in the same
transaction as the effects: a replica stopped at any point resumes exactly where it was.
So are the records themselves (`replica_history`): a serving replica replays realtime
history from them as the primary does from its log, and they never disagree with the state.
Queries run on the store (`connect_readonly`) through the same SQL layer as the primary's.

Seeded with a checkpoint of the primary (`checkpoint=`), a new replica still reads and
verifies `bkg.log` from the start, but folds nothing up to the checkpoint's LSN: there it
checks the checkpoint (signature by a key the stream announced, file digest, chain hash of
that record), installs the checkpoint's database as its store, and folds (and keeps
history) from LSN + 1.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sqlite3
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import OffsetOutOfRangeError

from eventlog.framing import GENESIS_HASH
from eventlog.record import Record
from projections.checkpoints import Checkpoint, validate
from projections.consumers.cdc import LOG_TOPIC
from projections.consumers.errors import ConsumerError
from projections.consumers.replica_history import ensure_history, keep_records, trim_history
from projections.consumers.replica_status import ReplicaStatus
from projections.consumers.stream_verify import StreamVerifier
from projections.folds import FoldRegistry, apply_event
from projections.meta import connect, init_schema, read_applied_lsn, set_applied_lsn

STATE_TABLE = "_bkg_replica"
FETCH_MAX_WAIT_MS = 10
"""How long the broker may hold a fetch that found nothing new. The broker answers a fetch
when `fetch_min_bytes` (1) are there or this time is up, whichever comes first, but some
(Tansu) hold it the whole time: a record committed meanwhile waits for the next fetch. It
bounds the replication lag added here; aiokafka's default of 500 ms made it ~250 ms."""
POLL_MS = 500
"""How long one `getmany` waits for records: `stop` takes effect within it."""


def _nobody() -> int | None:
    return None


@dataclass(frozen=True)
class ReplicaState:
    """Where the replica stands: applied LSN, chain after it, keys, next Kafka offset."""

    lsn: int
    chain: bytes
    keys: dict[str, bytes]
    offset: int


class KafkaReplica:
    """Follows `bkg.log` into the SQLite store at `path`."""

    def __init__(
        self,
        path: Path,
        bootstrap: str,
        registry: FoldRegistry,
        checkpoint: Checkpoint | None = None,
        history_records: int | None = None,
    ) -> None:
        self.path = Path(path)
        self.history_records = history_records
        self.bootstrap = bootstrap
        self.registry = registry
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = self._open_store()
        if checkpoint is not None and self.applied_lsn:
            raise ConsumerError("a checkpoint can only seed an empty replica")
        self._seed = checkpoint
        self._stopping = threading.Event()
        self.status = ReplicaStatus()
        self.history_read_through: Callable[[], int | None] = _nobody
        """The LSN through which every reader of the history has read (a serving replica's
        realtime hub), or None: trimming (`history_records`) keeps every record after it."""

    def _open_store(self) -> sqlite3.Connection:
        conn = connect(str(self.path))
        init_schema(conn)
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {STATE_TABLE} (id INTEGER PRIMARY KEY CHECK (id = 1),"
            " chain BLOB NOT NULL, keys TEXT NOT NULL, next_offset INTEGER NOT NULL)"
        )
        ensure_history(conn)
        return conn

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
        self,
        until_lsn: int | None = None,
        idle_timeout_s: float | None = None,
        on_applied: Callable[[int], None] | None = None,
    ) -> int:
        """Apply verified records until `until_lsn` is applied, or until nothing arrived for
        `idle_timeout_s`, or `stop` is called, or forever; returns the applied LSN. Raises
        StreamVerifyError at the first record that fails verification. `on_applied(lsn)`
        runs after each commit of newly applied records (a server serving the store from
        other connections learns of them so). A topic that lost what the replica needs
        next is reported in `status` (see `projections.consumers.replica_status`)."""
        state = self.state()
        if until_lsn is not None and state.lsn >= until_lsn:
            return state.lsn
        verifier = StreamVerifier.resume(state.lsn, state.chain, state.keys, tolerate_gaps=True)
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            enable_auto_commit=False,
            auto_offset_reset="none",
            fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
        )
        await consumer.start()
        loop = asyncio.get_running_loop()
        idle_since = loop.time()
        try:
            partition = TopicPartition(LOG_TOPIC, 0)
            consumer.assign([partition])
            consumer.seek(partition, state.offset)
            while not self._stopping.is_set() and (
                until_lsn is None or self.applied_lsn < until_lsn
            ):
                try:
                    batches = await consumer.getmany(partition, timeout_ms=POLL_MS)
                except OffsetOutOfRangeError:
                    await self._check_offset(consumer, partition, lost=True)
                    continue
                messages = batches.get(partition, [])
                if messages:
                    idle_since = loop.time()
                elif idle_timeout_s is not None and loop.time() - idle_since >= idle_timeout_s:
                    break
                else:
                    await self._check_offset(consumer, partition)
                before = self.applied_lsn
                self._apply(verifier, messages)
                if on_applied is not None and self.applied_lsn != before:
                    on_applied(self.applied_lsn)
                self.status.observe(verifier.seen_lsn, verifier.lsn, self.applied_lsn)
        finally:
            await consumer.stop()
        return self.applied_lsn

    async def _check_offset(
        self, consumer: AIOKafkaConsumer, partition: TopicPartition, lost: bool = False
    ) -> None:
        """Is the offset to read from still in the topic (`lost`: the broker said it is not;
        some, Tansu, answer a fetch out of range with nothing instead, so this is asked
        whenever a poll brought nothing)? If not, the topic restarted or was truncated:
        report it and read on from its start (what follows the applied LSN may still be
        there; a gap is reported as it shows)."""
        position = await consumer.position(partition)
        begin, end = await _offsets(consumer, partition)
        if (lost or not begin <= position <= end) and not self._stopping.is_set():
            self.status.lost_offset(position, begin, end, self.applied_lsn)
            consumer.seek(partition, begin)

    def follow_sync(
        self,
        until_lsn: int | None = None,
        idle_timeout_s: float | None = None,
        on_applied: Callable[[int], None] | None = None,
    ) -> int:
        return asyncio.run(self.follow(until_lsn, idle_timeout_s, on_applied))

    def stop(self) -> None:
        """Make a running `follow` return within its poll interval (from any thread)."""
        self._stopping.set()

    def _apply(
        self, verifier: StreamVerifier, messages: list[ConsumerRecord[bytes, bytes]]
    ) -> None:
        """Verify the messages and fold what seals released, with the state and the
        records themselves, atomically."""
        released: list[Record] = []
        next_offset = 0
        for message in messages:
            if message.value is None:
                continue
            newly = verifier.accept(message.value, dict(message.headers).get("seal"))
            if newly:
                released.extend(newly)
                next_offset = message.offset + 1
        if not released:
            return
        last = released[-1]
        if self._seed is not None:
            if last.lsn < self._seed.lsn:
                return
            self._install_seed(self._seed, released, verifier)
            released = [r for r in released if r.lsn > self._seed.lsn]
            self._seed = None
        self.conn.execute("BEGIN")
        try:
            for record in released:
                apply_event(self.conn, record, self.registry)
            keep_records(self.conn, released)
            if self.history_records is not None:
                trim_history(self.conn, last.lsn, self.history_records, self.history_read_through())
            set_applied_lsn(self.conn, last.lsn)
            keys = json.dumps({k: v.hex() for k, v in verifier.ring.public_keys().items()})
            self.conn.execute(
                f"INSERT OR REPLACE INTO {STATE_TABLE} (id, chain, keys, next_offset)"
                " VALUES (1, ?, ?, ?)",
                (last.chain_hash, keys, next_offset),
            )
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def _install_seed(
        self, seed: Checkpoint, released: list[Record], verifier: StreamVerifier
    ) -> None:
        """Check the checkpoint against the verified record at its LSN, then make its
        database the store (raises InvalidCheckpointError if it does not check out)."""
        at = next(r for r in released if r.lsn == seed.lsn)
        validate(seed, _OneRecord(at), verifier.ring)
        self.conn.close()
        for suffix in ("-wal", "-shm"):
            Path(str(self.path) + suffix).unlink(missing_ok=True)
        tmp = self.path.with_name(self.path.name + ".seed")
        shutil.copyfile(seed.path, tmp)
        os.replace(tmp, self.path)
        self.conn = self._open_store()

    def close(self) -> None:
        self.conn.close()


async def _offsets(consumer: AIOKafkaConsumer, partition: TopicPartition) -> tuple[int, int]:
    """The first offset the topic holds and the one its next message will get."""
    begin = (await consumer.beginning_offsets([partition]))[partition]
    end = (await consumer.end_offsets([partition]))[partition]
    return begin, end


class _OneRecord:
    """The log as far as checkpoint validation needs it: the verified record at its LSN."""

    def __init__(self, record: Record) -> None:
        self.record = record

    @property
    def head_lsn(self) -> int:
        return self.record.lsn

    def read(self, from_lsn: int = 1, to_lsn: int | None = None) -> Iterator[Record]:
        if from_lsn <= self.record.lsn <= (to_lsn or self.record.lsn):
            yield self.record
