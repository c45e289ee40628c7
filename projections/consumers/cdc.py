"""The messages the Kafka mirror sends, as DESIGN.md fixes them.

- `bkg.log`: value = the record frame exactly as stored and signed, key = LSN as 8-byte
  big-endian, header `lsn` (ASCII decimal); the last record of each group commit also
  carries header `seal` = the seal frame, so readers can check signatures.
- `bkg.cdc.<namespace>.<table>`: one Debezium-style JSON value per row change, keyed by the
  JSON of its primary key; a tombstone (null value, same key) follows each delete.
- `bkg.schema`: one JSON value per DDL change, keyed by the JSON of its table name.

Row values are SQLite storage values; bytes become base64 strings (as Debezium does).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from typing import Any, NamedTuple

import msgspec

from eventlog import SealedRecord
from eventlog.framing import LSN_FIELD
from eventlog.record import Record

LOG_TOPIC = "bkg.log"
SCHEMA_TOPIC = "bkg.schema"
CDC_PREFIX = "bkg.cdc."
SQL_KINDS = ("ddl", "dml")
DEBEZIUM_OPS = {"insert": "c", "update": "u", "delete": "d"}
_TOPIC_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")

Headers = list[tuple[str, bytes]]

_json = msgspec.json.Encoder().encode
"""Compact JSON in insertion order; bytes become base64 strings."""


class Message(NamedTuple):
    """One Kafka message: where it goes and its bytes (value None is a tombstone)."""

    topic: str
    key: bytes
    value: bytes | None
    headers: Headers


@functools.lru_cache(maxsize=4096)
def cdc_topic(table: str) -> str:
    """`bkg.cdc.<namespace>.<table>` with characters Kafka forbids replaced by `_`."""
    return CDC_PREFIX + _TOPIC_UNSAFE.sub("_", table)


def log_message(item: SealedRecord) -> Message:
    """The `bkg.log` message of one record."""
    record = item.record
    headers: Headers = [("lsn", str(record.lsn).encode())]
    if item.seal is not None:
        headers.append(("seal", item.seal))
    return Message(LOG_TOPIC, LSN_FIELD.pack(record.lsn), record.frame, headers)


class _Source(msgspec.Struct):
    """Debezium's `source` block (a Struct: encodes several times faster than a dict)."""

    name: str
    lsn: int
    index: int
    table: str
    ts_ms: int


class _RowChange(msgspec.Struct):
    before: Any
    after: Any
    op: str
    source: _Source
    ts_ms: int


def change_messages(record: Record) -> Iterator[Message]:
    """The CDC and schema messages of a SQL record, in the order of its changes."""
    if record.kind not in SQL_KINDS or not isinstance(record.payload, dict):
        return
    headers: Headers = [("lsn", str(record.lsn).encode())]
    lsn, ts_ms = record.lsn, record.ts_us // 1000
    for index, change in enumerate(record.payload.get("changes") or ()):
        table = str(change.get("table", ""))
        source = _Source("bkg-db", lsn, index, table, ts_ms)
        op = change.get("op")
        if op == "ddl":
            key = _json({"table": table})
            yield Message(SCHEMA_TOPIC, key, _schema_value(change, source), headers)
            continue
        code = DEBEZIUM_OPS.get(op)
        if code is None:
            continue
        key = _json(change.get("pk") or {"rowid": change.get("rowid")})
        value = _RowChange(change.get("old"), change.get("new"), code, source, ts_ms)
        topic = cdc_topic(table)
        yield Message(topic, key, _json(value), headers)
        if code == "d":
            yield Message(topic, key, None, headers)


def _schema_value(change: dict[str, Any], source: _Source) -> bytes:
    return _json(
        {
            "table": source.table,
            "action": change.get("action"),
            "sql": change.get("sql"),
            "definition": change.get("definition"),
            "source": source,
            "ts_ms": source.ts_ms,
        }
    )
