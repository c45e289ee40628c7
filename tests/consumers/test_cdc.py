"""The mirror's message shapes, exactly as DESIGN.md fixes them (no broker needed)."""

from __future__ import annotations

import json

from eventlog import Record, SealedRecord
from eventlog.framing import LSN_FIELD
from projections.consumers.cdc import cdc_topic, change_messages, log_message

TS_US = 1_795_318_333_640_123


def sql_record(changes: list[dict[str, object]], lsn: int = 42) -> Record:
    payload = {"statements": [{"sql": "..."}], "changes": changes}
    return Record(lsn, TS_US, "dml", "admin", None, payload, 1, b"\x01" * 32, b"frame bytes")


def test_log_message_carries_the_frame_the_lsn_and_the_seal() -> None:
    record = sql_record([])
    plain = log_message(SealedRecord(record, None))
    sealed = log_message(SealedRecord(record, b"seal frame"))
    assert plain.topic == "bkg.log" and plain.value == b"frame bytes"
    assert plain.key == LSN_FIELD.pack(42) == (42).to_bytes(8, "big")
    assert plain.headers == [("lsn", b"42")]
    assert sealed.headers == [("lsn", b"42"), ("seal", b"seal frame")]


def test_row_changes_are_debezium_values_keyed_by_primary_key() -> None:
    row = {"id": 5, "name": "x", "blob": b"\x00\xff"}
    changed = {**row, "name": "y"}
    record = sql_record(
        [
            {
                "op": "insert",
                "table": "shop.items",
                "rowid": 5,
                "pk": {"id": 5},
                "old": None,
                "new": row,
            },
            {
                "op": "update",
                "table": "shop.items",
                "rowid": 5,
                "pk": {"id": 5},
                "old": row,
                "new": changed,
            },
            {
                "op": "delete",
                "table": "shop.items",
                "rowid": 5,
                "pk": {"id": 5},
                "old": changed,
                "new": None,
            },
        ]
    )
    messages = list(change_messages(record))
    assert [m.topic for m in messages] == ["bkg.cdc.shop.items"] * 4
    assert all(json.loads(m.key) == {"id": 5} for m in messages)
    assert messages[3].value is None  # the tombstone after the delete
    values = [json.loads(m.value) for m in messages[:3] if m.value is not None]
    assert [v["op"] for v in values] == ["c", "u", "d"]
    source = {
        "name": "bkg-db",
        "lsn": 42,
        "index": 1,
        "table": "shop.items",
        "ts_ms": TS_US // 1000,
    }
    assert values[1] == {
        "before": {"id": 5, "name": "x", "blob": "AP8="},
        "after": {"id": 5, "name": "y", "blob": "AP8="},
        "op": "u",
        "source": source,
        "ts_ms": TS_US // 1000,
    }
    assert values[2]["after"] is None and values[0]["before"] is None


def test_ddl_goes_to_the_schema_topic_and_other_kinds_nowhere() -> None:
    ddl: dict[str, object] = {
        "op": "ddl",
        "table": "public.t",
        "action": "create_table",
        "sql": "CREATE TABLE public.t (id INT)",
        "sqlite": [],
        "definition": None,
    }
    [message] = change_messages(sql_record([ddl]))
    assert message.topic == "bkg.schema" and json.loads(message.key) == {"table": "public.t"}
    assert message.value is not None
    value = json.loads(message.value)
    assert value["action"] == "create_table" and value["sql"].startswith("CREATE TABLE")
    assert value["source"]["lsn"] == 42 and value["source"]["index"] == 0
    auth = Record(7, TS_US, "auth", "admin", None, {"changes": [ddl]}, 1, b"", b"")
    assert list(change_messages(auth)) == []


def test_tables_without_primary_key_and_odd_names() -> None:
    change = {
        "op": "insert",
        "table": "public.odd name",
        "rowid": 9,
        "pk": {},
        "old": None,
        "new": {"a": 1},
    }
    [message] = change_messages(sql_record([change]))
    assert json.loads(message.key) == {"rowid": 9}
    assert message.topic == cdc_topic("public.odd name") == "bkg.cdc.public.odd_name"
