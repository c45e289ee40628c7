"""Log records -> change events, each encoded once as the SSE frame every subscriber gets.

A record of kind "dml" or "ddl" carries ``payload["changes"]``; change ``i`` becomes the event
with id ``<lsn>.<i>``. A "storage" record that creates, replaces or deletes an object becomes
one event (index 0) on the table ``storage.objects`` (the table object policies name):
insert, update or delete of the object's metadata, in the bucket's namespace.

The frame is built once per change and shared by every subscriber that may see it, so
fan-out costs no encoding per subscriber. An update has a second form, built on first use
and shared the same way: its ``old`` cut down to the primary key, for subscribers whose
policies let them see the new row but not the old one (see ``api.realtime.access``). The raw
(storage-valued) images stay beside the frames for row-level security, whose predicates run
in SQLite on stored values.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec

from api.realtime.coltypes import ColumnTypes
from api.realtime.position import event_id
from api.storage.access import POLICY_TABLE, policy_row
from api.storage.meta import OBJECT_CREATED, OBJECT_DELETED, OBJECT_REPLACED
from eventlog import Record

SQL_KINDS = frozenset({"dml", "ddl"})
STORAGE_KIND = "storage"
OBJECTS_TABLE = POLICY_TABLE
OBJECT_OPS = {OBJECT_CREATED: "insert", OBJECT_REPLACED: "update", OBJECT_DELETED: "delete"}
OBJECT_FIELDS = ("bucket", "name", "size", "sha256", "content_type", "owner", "metadata")
OPS = ("insert", "update", "delete", "ddl")
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
_encode = msgspec.json.Encoder().encode
"""Compact JSON in insertion order; bytes become base64 strings (as `/query` returns them)."""


class KeyedFrame:
    """An update's frame with ``old`` reduced to the primary key, encoded on first use."""

    __slots__ = ("_data", "_frame", "_id")

    def __init__(self, id_: str, data: dict[str, Any]) -> None:
        self._id = id_
        self._data = data
        self._frame: bytes | None = None

    @property
    def data(self) -> dict[str, Any]:
        """The event as a mapping (for other wire formats)."""
        return self._data

    @property
    def frame(self) -> bytes:
        if self._frame is None:
            self._frame = frame(self._id, "update", self._data)
        return self._frame


@dataclass(frozen=True, slots=True)
class ChangeEvent:
    """One change of one record: what filters look at, and its encoded frame. ``image`` is
    the row that decides visibility (the new row; a deletion's old row); an update also
    carries its raw ``old`` row and the ``keyed`` form of its frame. ``data`` is the event
    as a mapping and ``families`` its table's column type families, for other wire formats
    (`api.realtime.phoenix`), which keep their encodings of the event in ``encoded``, built
    once and shared by their subscribers as the SSE frame is."""

    lsn: int
    index: int
    table: str
    op: str
    image: Mapping[str, Any] | None
    frame: bytes
    namespace: str
    old: Mapping[str, Any] | None = None
    keyed: KeyedFrame | None = None
    data: Mapping[str, Any] = field(default_factory=dict)
    families: Mapping[str, str | None] = field(default_factory=dict)
    encoded: dict[str, bytes] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return event_id(self.lsn, self.index)


@dataclass(frozen=True, slots=True)
class RecordEvents:
    """All the change events of one record."""

    lsn: int
    events: list[ChangeEvent]


def record_events(record: Record, types: ColumnTypes) -> Iterator[ChangeEvent]:
    """The change events of a record, in order (none for records without changes)."""
    if record.kind == STORAGE_KIND and isinstance(record.payload, Mapping):
        yield from _object_events(record, record.payload)
        return
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
        id_ = event_id(record.lsn, index)
        encoded = frame(id_, op, data)
        namespace = table.partition(".")[0]
        families = types.families(table)
        if op != "update":
            yield ChangeEvent(
                record.lsn, index, table, op, image, encoded, namespace,
                data=data, families=families,
            )  # fmt: skip
            continue
        keyed = KeyedFrame(id_, {**data, "old": types.typed(table, change.get("pk") or {})})
        old_row = change["old"]
        yield ChangeEvent(
            record.lsn, index, table, op, image, encoded, namespace, old_row, keyed,
            data=data, families=families,
        )  # fmt: skip


def _object_events(record: Record, payload: Mapping[str, Any]) -> Iterator[ChangeEvent]:
    """The one event of an object's creation, replacement or deletion. The image for object
    policies is the new object, or for a deletion the old one (records written before
    deletions carried the old object's facts have only its bucket and name)."""
    op = OBJECT_OPS.get(str(payload.get("type")))
    namespace = record.namespace
    if op is None or namespace is None:
        return
    facts = {k: payload[k] for k in OBJECT_FIELDS if k in payload}
    new, old = (None, facts) if op == "delete" else (facts, None)
    image = policy_row(
        str(payload["bucket"]), namespace, str(payload["name"]),
        str(payload.get("owner", "")), payload.get("metadata") or {},
    )  # fmt: skip
    data = {
        "lsn": record.lsn,
        "index": 0,
        "ts": _iso(record.ts_us),
        "table": OBJECTS_TABLE,
        "op": op,
        "new": new,
        "old": old,
        "actor": record.actor,
    }
    encoded = frame(event_id(record.lsn, 0), op, data)
    yield ChangeEvent(record.lsn, 0, OBJECTS_TABLE, op, image, encoded, namespace, data=data)


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
