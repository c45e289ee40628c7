"""The Kafka mirror: every record to `bkg.log`, every row change to `bkg.cdc.*`.

A consumer driven by `ConsumerRunner`: `dispatch` hands a batch to the producer and returns
a future that completes when the broker has acknowledged every message (acks=all); the
runner's durable cursor moves only past what the broker holds. Messages go out through
aiokafka's batch API (one record batch per topic and dispatch, in LSN order), which costs
far less per message than one `send` each. Topics are created if missing, with one
partition each so that each topic keeps LSN order.

The producer is idempotent where the broker supports it; a broker that refuses to hand out
producer ids (Tansu 0.6) gets a plain acks=all producer, which keeps order too (aiokafka
sends one batch per partition at a time) and may repeat messages after a retry, like any
at-least-once delivery: readers de-duplicate by LSN.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, UnknownError, UnsupportedVersionError

from eventlog import SealedRecord
from projections.consumers.cdc import LOG_TOPIC, SCHEMA_TOPIC, Message, change_messages, log_message
from projections.consumers.errors import MirrorError

logger = logging.getLogger(__name__)

BOOTSTRAP_ENV = "BKG_KAFKA_BOOTSTRAP"
MIRROR_NAME = "kafka-mirror"
_TOPIC_EXISTS = 36


@dataclass(frozen=True)
class MirrorConfig:
    """Where the broker is and how to talk to it."""

    bootstrap: str
    client_id: str = "bkg-db"
    request_timeout_ms: int = 5000
    max_request_size: int = 8 * 1024 * 1024
    max_batch_size: int = 512 * 1024
    linger_ms: int = 0  # send at once: the runner batches what piles up meanwhile


class KafkaMirror:
    """Sends each batch of records and waits until the broker acknowledged all of it."""

    name = MIRROR_NAME

    def __init__(self, config: MirrorConfig) -> None:
        self.config = config
        self.idempotent: bool | None = None
        self._producer: AIOKafkaProducer | None = None
        self._admin: AIOKafkaAdminClient | None = None
        self._topics: set[str] = set()

    async def start(self) -> None:
        """Connect, choosing the idempotent producer if the broker supports it."""
        self._admin = AIOKafkaAdminClient(
            bootstrap_servers=self.config.bootstrap,
            client_id=self.config.client_id,
            request_timeout_ms=self.config.request_timeout_ms,
        )
        await self._admin.start()
        self._producer = await self._start_producer()
        self._topics = set()
        await self._ensure_topics([LOG_TOPIC, SCHEMA_TOPIC])

    async def _start_producer(self) -> AIOKafkaProducer:
        if self.idempotent is not False:
            producer = self._new_producer(idempotent=True)
            try:
                await producer.start()
                self.idempotent = True
                return producer
            except (UnknownError, UnsupportedVersionError) as exc:
                await producer.stop()
                logger.warning("broker refuses idempotent producers (%s); using acks=all", exc)
                self.idempotent = False
            except BaseException:
                await producer.stop()
                raise
        producer = self._new_producer(idempotent=False)
        try:
            await producer.start()
        except BaseException:
            await producer.stop()
            raise
        return producer

    def _new_producer(self, idempotent: bool) -> AIOKafkaProducer:
        config = self.config
        return AIOKafkaProducer(
            bootstrap_servers=config.bootstrap,
            client_id=config.client_id,
            acks="all",
            enable_idempotence=idempotent,
            request_timeout_ms=config.request_timeout_ms,
            max_request_size=config.max_request_size,
            max_batch_size=config.max_batch_size,
            linger_ms=config.linger_ms,
        )

    async def dispatch(self, batch: Sequence[SealedRecord]) -> Awaitable[object]:
        """Hand the batch's messages to the producer in LSN order; the returned future
        completes once the broker acknowledged all of them."""
        producer = self._producer
        if producer is None:
            raise MirrorError("the mirror is not started")
        by_topic: dict[str, list[Message]] = {LOG_TOPIC: [log_message(item) for item in batch]}
        for item in batch:
            for message in change_messages(item.record):
                by_topic.setdefault(message.topic, []).append(message)
        await self._ensure_topics(sorted(by_topic.keys() - self._topics))
        acks = []
        for topic, messages in by_topic.items():
            acks.extend(await send_in_batches(producer, topic, messages))
        return asyncio.gather(*acks)

    async def _ensure_topics(self, topics: list[str]) -> None:
        """Create missing topics (one partition each); an existing topic is fine."""
        if not topics:
            return
        if self._admin is None:
            raise MirrorError("the mirror is not started")
        response = await self._admin.create_topics([NewTopic(t, 1, 1) for t in topics])
        for error in response.topic_errors:
            topic, code = error[0], error[1]
            if code not in (0, _TOPIC_EXISTS):
                raise MirrorError(f"cannot create topic {topic}: error {code}")
        self._topics.update(topics)

    async def stop(self) -> None:
        """Flush and disconnect (messages not acknowledged by then are sent again later)."""
        producer, admin = self._producer, self._admin
        self._producer = self._admin = None
        try:
            if producer is not None:
                await producer.stop()
        except KafkaError as exc:
            logger.info("mirror producer stopped with %s", exc)
        finally:
            if admin is not None:
                await admin.close()


async def send_in_batches(
    producer: AIOKafkaProducer, topic: str, messages: list[Message]
) -> list[asyncio.Future[object]]:
    """Queue `messages` (all for `topic`, partition 0) as record batches, in order."""
    acks = []
    builder = producer.create_batch()
    for message in messages:
        fits = builder.append(key=message.key, value=message.value, timestamp=None,
                              headers=message.headers)  # fmt: skip
        if fits is None:
            acks.append(await producer.send_batch(builder, topic, partition=0))
            builder = producer.create_batch()
            if builder.append(key=message.key, value=message.value, timestamp=None,
                              headers=message.headers) is None:  # fmt: skip
                raise MirrorError(f"a message for {topic} exceeds the producer's batch size")
    if builder.record_count():
        acks.append(await producer.send_batch(builder, topic, partition=0))
    return acks
