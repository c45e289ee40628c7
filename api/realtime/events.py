"""Log records -> change events, each encoded once as the SSE frame every subscriber gets.

A record of kind "dml" or "ddl" carries ``payload["changes"]``; change ``i`` becomes the event
with id ``<lsn>.<i>``. The frame is built once per change and shared by every subscriber that
may see it (visibility filters, it never transforms), so fan-out costs no encoding per
subscriber. The raw (storage-valued) images stay beside the frame for row-level security,
whose predicates run in SQLite on stored values.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

from api.realtime.coltypes import ColumnTypes
from api.realtime.position import event_id
from eventlog import Record

SQL_KINDS = frozenset({"dml", "ddl"})
OPS = ("insert", "update", "delete", "ddl")
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
_encode = msgspec.json.Encoder().encode
"""Compact JSON in insertion order; bytes become base64 strings (as `/query` returns them)."""


@dataclass(frozen=True, slots=True)
class ChangeEvent:
    """One change of one record: what filters look at, and its encoded frame."""

    lsn: int
    index: int
    table: str
    op: str
    image: Mapping[str, Any] | None
    frame: bytes

    @property
    def id(self) -> str:
        return event_id(self.lsn, self.index)

    @property
    def namespace(self) -> str:
        return self.table.partition(".")[0]


@dataclass(frozen=True, slots=True)
class RecordEvents:
    """All the change events of one record, and what a subscriber needs to know to take
    them all at once (the common case: no row-level security, filters that cover them)."""

    lsn: int
    events: list[ChangeEvent]
    tables: frozenset[str]
    ops: frozenset[str]
    namespaces: frozenset[str]
    has_rows: bool
    frames: list[bytes]

    @classmethod
    def of(cls, lsn: int, events: list[ChangeEvent]) -> RecordEvents:
        return cls(
            lsn=lsn,
            events=events,
            tables=frozenset(e.table for e in events),
            ops=frozenset(e.op for e in events),
            namespaces=frozenset(e.namespace for e in events),
            has_rows=any(e.image is not None for e in events),
            frames=[e.frame for e in events],
        )

    @property
    def last_id(self) -> str:
        return self.events[-1].id


def record_events(record: Record, types: ColumnTypes) -> Iterator[ChangeEvent]:
    """The change events of a record, in order (none for records that are not SQL)."""
    if record.kind not in SQL_KINDS or not isinstance(record.payload, Mapping):
        return
    ts = _iso(record.ts_us)
    for index, change in enumerate(record.payload.get("changes") or ()):
        op = str(change["op"])
        table = str(change["table"])
        if op == "ddl":
            types.learn(change)
            new: Any = {k: change.get(k) for k in ("action", "sql", "definition")}
            old: Any = None
            image = None
        else:
            new = types.typed(table, change.get("new"))
            old = types.typed(table, change.get("old"))
            image = change["old"] if op == "delete" else change["new"]
        data = {
            "lsn": record.lsn,
            "index": index,
            "ts": ts,
            "table": table,
            "op": op,
            "new": new,
            "old": old,
            "actor": record.actor,
        }
        encoded = frame(event_id(record.lsn, index), op, data)
        yield ChangeEvent(record.lsn, index, table, op, image, encoded)


def learn_schema(record: Record, types: ColumnTypes) -> None:
    """Follow a record's DDL changes without building events (nobody is listening)."""
    if record.kind == "ddl" and isinstance(record.payload, Mapping):
        for change in record.payload.get("changes") or ():
            if change.get("op") == "ddl":
                types.learn(change)


def frame(id_: str | None, event: str, data: Any) -> bytes:
    """One SSE message: optional id, event name, one line of JSON data."""
    head = f"id: {id_}\nevent: {event}\n" if id_ is not None else f"event: {event}\n"
    return head.encode() + b"data: " + _encode(data) + b"\n\n"


def comment(text: str) -> bytes:
    """An SSE comment line (ignored by clients; keeps proxies and the TCP path alive)."""
    return f": {text}\n\n".encode()


def _iso(ts_us: int) -> str:
    """Commit time as ISO-8601 UTC with microseconds, e.g. ``2026-11-22T03:40:01.123456Z``."""
    moment = _EPOCH + datetime.timedelta(microseconds=ts_us)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
