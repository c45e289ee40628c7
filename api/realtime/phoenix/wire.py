"""Frames of the Phoenix channels protocol, in both serialiser versions clients speak.

Version 1.0.0 (realtime-py) sends JSON objects ``{"topic", "event", "payload", "ref",
"join_ref"}``; version 2.0.0 (realtime-js) sends JSON arrays ``[join_ref, ref, topic, event,
payload]``. Outgoing frames are built around an already encoded payload, so a change encoded
once is spliced into every channel's frame without being encoded again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

from api.realtime.errors import RealtimeError

VSN1 = "1.0.0"
VSN2 = "2.0.0"
VERSIONS = (VSN1, VSN2)
_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode


class ProtocolError(RealtimeError):
    """A frame that is not a Phoenix message of the socket's version."""


@dataclass(frozen=True, slots=True)
class Message:
    """One incoming message."""

    join_ref: str | None
    ref: str | None
    topic: str
    event: str
    payload: dict[str, Any]


def decode(text: str, vsn: str) -> Message:
    """Parse a text frame; ProtocolError when it is not JSON or not a message."""
    try:
        raw = _decode(text)
    except msgspec.DecodeError as exc:
        raise ProtocolError("frames must be JSON") from exc
    if vsn == VSN2:
        if not isinstance(raw, list) or len(raw) != 5:
            raise ProtocolError("a 2.0.0 frame is [join_ref, ref, topic, event, payload]")
        join_ref, ref, topic, event, payload = raw
    else:
        if not isinstance(raw, dict):
            raise ProtocolError("a 1.0.0 frame is an object {topic, event, payload, ref}")
        join_ref, ref = raw.get("join_ref"), raw.get("ref")
        topic, event, payload = raw.get("topic"), raw.get("event"), raw.get("payload", {})
    if not isinstance(topic, str) or not isinstance(event, str):
        raise ProtocolError("a message needs a topic and an event (strings)")
    if not isinstance(payload, dict):
        raise ProtocolError("a message's payload must be an object")
    return Message(_ref(join_ref), _ref(ref), topic, event, payload)


USER_BROADCAST_PUSH = 3
JSON_ENCODING = 1


def decode_binary(data: bytes, vsn: str) -> Message:
    """A binary frame: in 2.0.0, realtime-js sends a client's broadcast as a "user broadcast
    push" (kind 3: lengths of join_ref, ref, topic, event and metadata, the payload's
    encoding, those strings, then the payload). JSON payloads only; ProtocolError else."""
    if vsn != VSN2 or len(data) < 7 or data[0] != USER_BROADCAST_PUSH:
        raise ProtocolError("the only binary frame is a 2.0.0 user broadcast push")
    sizes, encoding = data[1:6], data[6]
    offset, parts = 7, []
    for size in sizes:
        parts.append(data[offset : offset + size].decode("utf-8", "replace"))
        offset += size
    if offset > len(data):
        raise ProtocolError("a user broadcast push shorter than its header says")
    join_ref, ref, topic, event, metadata = parts
    if encoding != JSON_ENCODING:
        raise ProtocolError("binary broadcast payloads are not served; send JSON")
    try:
        payload = _decode(data[offset:]) if offset < len(data) else {}
        meta = _decode(metadata) if metadata else {}
    except msgspec.DecodeError as exc:
        raise ProtocolError("a user broadcast push's payload must be JSON") from exc
    if not isinstance(meta, dict):
        raise ProtocolError("a user broadcast push's metadata must be an object")
    message = {**meta, "type": "broadcast", "event": event, "payload": payload}
    return Message(join_ref or None, ref or None, topic, "broadcast", message)


def _ref(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str | int) and not isinstance(value, bool):
        return str(value)
    raise ProtocolError("refs are strings")


def encode(
    vsn: str, topic: str, event: str, payload: Any, ref: str | None = None,
    join_ref: str | None = None,
) -> bytes:  # fmt: skip
    """An outgoing frame."""
    return spliced(vsn, topic, event, _encode(payload), ref, join_ref)


def spliced(
    vsn: str, topic: str, event: str, payload: bytes, ref: str | None = None,
    join_ref: str | None = None,
) -> bytes:  # fmt: skip
    """An outgoing frame around an encoded payload."""
    if vsn == VSN2:
        head = _encode([join_ref, ref, topic, event])
        return head[:-1] + b"," + payload + b"]"
    head = _encode({"topic": topic, "event": event, "ref": ref, "join_ref": join_ref})
    return head[:-1] + b',"payload":' + payload + b"}"


def reply(vsn: str, message: Message, status: str, response: dict[str, Any]) -> bytes:
    """The ``phx_reply`` to `message`."""
    payload = {"status": status, "response": response}
    return encode(vsn, message.topic, "phx_reply", payload, message.ref, message.join_ref)
