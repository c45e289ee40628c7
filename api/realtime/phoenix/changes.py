"""A channel's postgres_changes as a subscriber of the hub, encoding changes as Supabase does.

The hub and catch-up treat the channel like any `GET /realtime` subscriber (the same
filters, position and row-level security through `view_for`); only the frame differs. The
change's ``data`` (``schema, table, commit_timestamp, type, columns, record, old_record,
errors``, Supabase's wire shape, which realtime-py and realtime-js turn into ``eventType,
new, old``) is encoded once per change and shared by every channel; each channel's frame
adds its topic and the ids of its bindings the change matched, and is itself shared by the
channels of the same topic, version and matched ids (clients of one application join the
same topics with the same bindings). An update whose old row the
subscriber may not see carries the primary key alone as ``old_record`` (`View.KEYED`).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from typing import Any

import msgspec

from api.realtime.access import Access, View
from api.realtime.events import ChangeEvent
from api.realtime.phoenix.bindings import Binding
from api.realtime.phoenix.wire import spliced
from api.realtime.position import Position
from api.realtime.subscriber import Share, Subscriber

TYPES = {"insert": "INSERT", "update": "UPDATE", "delete": "DELETE"}
PG_TYPES = {
    "integer": "int8", "real": "float8", "text": "text", "boolean": "bool", "json": "jsonb",
    "timestamp": "timestamp", "timestamptz": "timestamptz", "date": "date", "time": "time",
    "uuid": "uuid", "bytea": "bytea",
}  # fmt: skip
_encode = msgspec.json.Encoder().encode


class ChannelSubscriber(Subscriber):
    """A joined channel's postgres_changes bindings; its frames go to the socket's outbox
    through `send` (False when the outbox is full: the channel leaves the hub and the
    socket closes)."""

    __slots__ = ("_shape", "bindings", "on_close", "send", "topic", "vsn")

    def __init__(
        self, access: Access, after: Position, bindings: list[Binding], topic: str, vsn: str,
        send: Callable[[bytes], bool], on_close: Callable[[], None],
    ) -> None:  # fmt: skip
        super().__init__(access, after, limit=1, heartbeat_s=3600.0)
        self.bindings = bindings
        self.topic = topic
        self.vsn = vsn
        self.send = send
        self.on_close = on_close
        matching = tuple((b.id, b.ops, b.schema, b.table, b.filter) for b in bindings)
        self._shape = ("phoenix", vsn, topic, matching)

    def close(self) -> None:
        """The hub ended this subscriber (it failed, or the server is stopping): the
        channel is closed, so that the client knows to rejoin."""
        super().close()
        self.on_close()

    def frame_for(self, event: ChangeEvent, view: View) -> bytes | None:
        if view is View.HIDDEN or event.op not in TYPES:
            return None
        data = event.keyed.data if view is View.KEYED and event.keyed is not None else event.data
        row = data.get("old") if event.op == "delete" else data.get("new")
        ids = [b.id for b in self.bindings if b.matches(event.table, event.op, row)]
        if not ids:
            return None
        key = f"{view.value} {self.vsn} {self.topic} {ids}"
        frame = event.encoded.get(key)
        if frame is None:
            body = b'{"ids":' + _encode(ids) + b',"data":' + supabase_data(event, view) + b"}"
            frame = event.encoded[key] = spliced(self.vsn, self.topic, "postgres_changes", body)
        return frame

    def shape(self) -> tuple[Hashable, ...]:
        """The version, the topic and what decides the bindings' matches and ids."""
        return self._shape

    def queue(self, share: Share) -> bool:
        """Put the group's frames (after this channel's position) in the socket's outbox;
        False (overflowed) when it is full."""
        if self.after.lsn >= share.lsn:
            share = share.after(self.after)
        send = self.send
        for frame in share.frames:
            if not send(frame):
                self.overflowed = True
                return False
        return True


def supabase_data(event: ChangeEvent, view: View) -> bytes:
    """The change's ``data`` as Supabase sends it, encoded once per form and shared."""
    form = "phoenix-keyed" if view is View.KEYED else "phoenix"
    found = event.encoded.get(form)
    if found is None:
        data = event.keyed.data if view is View.KEYED and event.keyed is not None else event.data
        found = event.encoded[form] = _encode(_shape(event, data))
    return found


def _shape(event: ChangeEvent, data: Mapping[str, Any]) -> dict[str, Any]:
    schema, _, table = event.table.partition(".")
    shaped: dict[str, Any] = {
        "schema": schema,
        "table": table,
        "commit_timestamp": data.get("ts"),
        "type": TYPES[event.op],
        "columns": [
            {"name": name, "type": PG_TYPES.get(family or "", "text")}
            for name, family in event.families.items()
        ],
        "errors": None,
        "lsn": f"{event.lsn}.{event.index}",
    }
    if event.op != "delete":
        shaped["record"] = data.get("new")
    if event.op != "insert":
        shaped["old_record"] = data.get("old")
    return shaped
