"""The Kafka mirror against a real broker: what a plain aiokafka consumer group finds.

Every LSN in order with valid CRCs, chain and signatures on `bkg.log`; every row change on
`bkg.cdc.<ns>.<table>` with a tombstone after each delete; DDL on `bkg.schema`.
"""

from __future__ import annotations

import json
from pathlib import Path

from api.database import Database
from bench.peers.kafka import TansuBroker
from eventlog import Record
from projections.consumers.cdc import DEBEZIUM_OPS
from projections.consumers.cursor import CursorFile
from projections.consumers.kafka_mirror import MIRROR_NAME, KafkaMirror, MirrorConfig
from projections.consumers.runner import ConsumerRunner
from tests.kafka.kafkit import (
    Messages,
    consume,
    has_lsns_up_to,
    lsn_of,
    open_database,
    verified_log,
    write_workload,
)


def start_mirror(db: Database, bootstrap: str) -> ConsumerRunner:
    cursor = CursorFile(db.data.consumers, MIRROR_NAME)
    runner = ConsumerRunner(KafkaMirror(MirrorConfig(bootstrap)), db.log, cursor, max_batch=64)
    runner.start()
    return runner


def expected_changes(records: list[Record]) -> list[tuple[str, int, int, str]]:
    """(topic, lsn, index, op) of every change the log holds, tombstones included."""
    expected = []
    for record in records:
        if record.kind not in ("ddl", "dml"):
            continue
        for index, change in enumerate(record.payload["changes"]):
            if change["op"] == "ddl":
                expected.append(("bkg.schema", record.lsn, index, "ddl"))
                continue
            topic = "bkg.cdc." + change["table"]
            expected.append((topic, record.lsn, index, DEBEZIUM_OPS[change["op"]]))
            if change["op"] == "delete":
                expected.append((topic, record.lsn, index, "tombstone"))
    return expected


def observed_changes(messages: Messages) -> list[tuple[str, int, int, str]]:
    observed, last_delete = [], None
    for message in messages:
        if message.value is None:
            assert last_delete is not None and message.key == last_delete[0]
            observed.append((message.topic, *last_delete[1], "tombstone"))
            continue
        value = json.loads(message.value)
        source = value["source"]
        assert source["name"] == "bkg-db" and source["lsn"] == lsn_of(message)
        op = value.get("op", "ddl")
        if op == "d":
            last_delete = (message.key, (source["lsn"], source["index"]))
        observed.append((message.topic, source["lsn"], source["index"], op))
    return observed


def test_consumer_group_finds_every_lsn_and_change(tmp_path: Path, broker: TansuBroker) -> None:
    db = open_database(tmp_path / "data")
    try:
        write_workload(db, rows=30)
        runner = start_mirror(db, broker.bootstrap)
        db.execute("INSERT INTO items (id, name) VALUES (1000, 'written while live')")
        head = db.log.head_lsn
        assert runner.wait_until(head, timeout=30)
        records = list(db.log.read(1, head))
        runner.stop()
    finally:
        db.close()
    expected = expected_changes(records)

    def done(messages: Messages) -> bool:
        mirrored = [m for m in messages if m.topic != "bkg.log"]
        return has_lsns_up_to(head)(messages) and len(mirrored) >= len(expected)

    everything = consume(broker.bootstrap, done, pattern=r"^bkg\.", group="plain-group")
    log_messages = [m for m in everything if m.topic == "bkg.log"]
    released = verified_log(log_messages)
    assert [r.lsn for r in released] == list(range(1, head + 1))
    assert [r.frame for r in released] == [r.frame for r in records]
    changes = [m for m in everything if m.topic != "bkg.log"]
    observed = observed_changes(sorted(changes, key=lambda m: (lsn_of(m), m.topic, m.offset)))
    assert sorted(observed) == sorted(expected)
    by_key = [json.loads(m.key) for m in changes if m.topic == "bkg.cdc.public.items"]
    assert {"id": 1000} in by_key


def test_mirror_resumes_from_its_cursor(tmp_path: Path, broker: TansuBroker) -> None:
    db = open_database(tmp_path / "data")
    try:
        write_workload(db, rows=5)
        runner = start_mirror(db, broker.bootstrap)
        first_head = db.log.head_lsn
        assert runner.wait_until(first_head, timeout=30)
        runner.stop()
        assert CursorFile(db.data.consumers, MIRROR_NAME).load() == first_head
        db.execute("INSERT INTO items (id, name) VALUES (500, 'after the stop')")
        runner = start_mirror(db, broker.bootstrap)
        assert runner.wait_until(db.log.head_lsn, timeout=30)
        assert runner.stats.snapshot().records_total == db.log.head_lsn - first_head
        head = db.log.head_lsn
        runner.stop()
    finally:
        db.close()
    messages = consume(broker.bootstrap, has_lsns_up_to(head), topics=("bkg.log",), group=None)
    assert [lsn_of(m) for m in messages] == list(range(1, head + 1))
