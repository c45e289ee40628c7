"""Reading records together with the seals that sign them.

`Record.frame` is an event exactly as stored; the Ed25519 signature that authenticates it
sits in the seal frame written after the last event of its group commit. A mirror that
wants downstream readers to verify signatures ships that seal frame too, so this reader
yields, for the last record of each group, the seal frame re-encoded from the walk (its
bytes are the stored ones: the seal body is a deterministic msgpack array).
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Iterator
from typing import Any, NamedTuple, Protocol

import msgpack
import msgspec

from eventlog.errors import CorruptLogError
from eventlog.framing import HEADER_SIZE, FrameError, FrameType, encode_frame
from eventlog.reader import Span
from eventlog.record import Record
from eventlog.segments import SEGMENT_HEADER_SIZE
from eventlog.walk import ChainBreakError, Cursor, walk_events

_decode = msgspec.msgpack.Decoder(tuple[int, int, str, str, str | None, Any]).decode
"""The envelope decoder: `eventlog.record.unpack_body` with msgspec, twice as fast and
checking the six-field shape as it goes."""


class SpanSource(Protocol):
    """`eventlog.EventLog` and `eventlog.LogReader` both list their readable spans."""

    @property
    def head_lsn(self) -> int: ...

    def spans(self) -> list[Span]: ...


class SealedRecord(NamedTuple):
    """A record and, when it ends a group commit, the seal frame signing the chain head."""

    record: Record
    seal: bytes | None


def read_sealed(source: SpanSource, from_lsn: int, to_lsn: int) -> Iterator[SealedRecord]:
    """Records `from_lsn..to_lsn` in order, with the chain checked and seals attached."""
    for span in source.spans():
        if span.last_lsn is not None and span.last_lsn < from_lsn:
            continue
        if span.base_lsn > to_lsn:
            return
        yield from _read_span(span, from_lsn, to_lsn)


def _read_span(span: Span, from_lsn: int, to_lsn: int) -> Iterator[SealedRecord]:
    with open(span.path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        end = size if span.end is None else min(span.end, size)
        if end <= SEGMENT_HEADER_SIZE:
            return
        with mmap.mmap(handle.fileno(), end, prot=mmap.PROT_READ) as mapped:
            try:
                yield from _walk(span, mapped, from_lsn, to_lsn)
            except FrameError as exc:
                if not span.live:
                    raise CorruptLogError(f"segment {span.path.name}: {exc}", lsn=0) from exc
                # The newest segment of a log another process writes: a group is being written.
            except ChainBreakError as exc:
                raise CorruptLogError(f"segment {span.path.name}: {exc}", lsn=exc.lsn) from exc


def _walk(span: Span, mapped: mmap.mmap, from_lsn: int, to_lsn: int) -> Iterator[SealedRecord]:
    cursor = _start(span, from_lsn)
    for lsn, _, frame, chain in walk_events(mapped, cursor):
        if lsn < from_lsn:
            continue
        if lsn > to_lsn:
            return
        version, ts_us, kind, actor, namespace, payload = _decode(frame[HEADER_SIZE:])
        record = Record(lsn, ts_us, kind, actor, namespace, payload, version, chain, frame)
        # While a group's events are yielded the cursor stands on its seal.
        seal = _seal_frame(cursor, chain) if lsn == cursor.lsn else None
        yield SealedRecord(record, seal)


def _start(span: Span, from_lsn: int) -> Cursor:
    point = span.index.floor(from_lsn) if span.index else None
    if point is None:
        return Cursor.at(span.base_lsn - 1, span.prev_chain, SEGMENT_HEADER_SIZE)
    lsn, offset, chain_before = point
    return Cursor.at(lsn - 1, chain_before, offset)


def _seal_frame(cursor: Cursor, chain: bytes) -> bytes:
    body = msgpack.packb([cursor.seal_key_id, cursor.seal_signature, chain], use_bin_type=True)
    return encode_frame(FrameType.SEAL, cursor.lsn, body)
