"""The event envelope: what appenders submit (`Entry`) and what readers get (`Record`).

On disk an event body is a msgpack array
``[version, ts_us, kind, actor, namespace, payload]``; the LSN lives in the frame header
(see `framing`) so that a reader can seek and check order without decoding bodies. The log
never looks inside `payload`: it is opaque to everything below `projections`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import msgpack
import msgspec

ENVELOPE_VERSION = 1
Envelope = tuple[int, int, str, str, str | None, Any]

# Decoding is on every read's hot path: msgspec's decoder checks the six-field shape as
# it goes and is two to three times faster than msgpack.unpackb on real payloads.
_decode_envelope = msgspec.msgpack.Decoder(Envelope).decode


@dataclass(frozen=True, slots=True)
class Entry:
    """An event to append. The log assigns its LSN and commit timestamp."""

    kind: str
    payload: Any
    actor: str = "system"
    namespace: str | None = None


class Record(NamedTuple):
    """A durable event as read back from the log.

    `frame` is the record exactly as stored and signed (header and body), so it can be
    mirrored byte for byte; `chain_hash` is the hash chain value after this record.
    Immutable like `Entry`, but a NamedTuple: readers build one per record, and that is
    five times cheaper than a frozen dataclass, which decides whether a scan reaches
    half a million records a second.
    """

    lsn: int
    ts_us: int
    kind: str
    actor: str
    namespace: str | None
    payload: Any
    version: int
    chain_hash: bytes
    frame: bytes


def pack_payload(payload: Any) -> bytes:
    """Encode a payload once, outside any lock, so appenders pay for their own encoding."""
    return msgpack.packb(payload, use_bin_type=True)


def pack_body(entry: Entry, ts_us: int, packed_payload: bytes) -> bytes:
    """Assemble the envelope array around an already-encoded payload.

    Concatenating msgpack items after an array header is valid msgpack, which lets the
    payload be encoded before the timestamp is known.
    """
    head = msgpack.packb(
        [ENVELOPE_VERSION, ts_us, entry.kind, entry.actor, entry.namespace, None],
        use_bin_type=True,
    )
    # The trailing nil placeholder (0xc0) is replaced by the encoded payload.
    return head[:-1] + packed_payload


def unpack_body(body: bytes | memoryview) -> Envelope:
    """Decode an envelope body into (version, ts_us, kind, actor, namespace, payload).

    Raises ValueError (msgspec's errors are ValueErrors) unless it is a 6-field envelope.
    """
    envelope: Envelope = _decode_envelope(body)
    return envelope
