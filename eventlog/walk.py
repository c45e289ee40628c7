"""Walking the frames of a segment while checking order, chain and seals.

Recovery, the reader and `verify` all walk segments the same way; they differ only in how
much they check (signatures need a key ring) and what they do at the first bad frame.
Events become visible to a reader only once a seal covers them: frames after the last
seal are a group still being written, or a torn one.
"""

from __future__ import annotations

import hashlib
import mmap
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from eventlog.framing import HEADER, HEADER_SIZE, MAX_BODY, FrameError, FrameType
from eventlog.keys import KeyRing, parse_seal, seal_message
from eventlog.segments import SEGMENT_HEADER_SIZE


class ChainBreakError(ValueError):
    """Frames that are each intact but do not follow on: a gap, a repeat, a bad seal."""

    def __init__(self, message: str, lsn: int, offset: int) -> None:
        super().__init__(message)
        self.lsn = lsn
        self.offset = offset


@dataclass
class Cursor:
    """Where a walk stands: the last event seen and the last seal that covered events."""

    lsn: int
    chain: bytes
    offset: int
    sealed_lsn: int
    sealed_chain: bytes
    sealed_offset: int
    seal_key_id: str = ""
    seal_signature: bytes = b""
    seal_frame: bytes = b""

    @classmethod
    def at(cls, lsn: int, chain: bytes, offset: int) -> Cursor:
        return cls(lsn, chain, offset, lsn, chain, offset)


# An event frame that checked out: (LSN, offset, frame bytes, chain value after it).
# A plain tuple: walks make one per record and this is their hottest loop.
WalkedEvent = tuple[int, int, bytes, bytes]


def walk_events(
    data: bytes | mmap.mmap, cursor: Cursor, ring: KeyRing | None = None, chain: bool = True
) -> Iterator[WalkedEvent]:
    """Yield sealed events from `cursor.offset` on, advancing `cursor` as frames pass.

    Raises FrameError at the first frame that is not intact and ChainBreakError at the first one
    that does not follow on. Events of a group are held back until its seal arrives, so a
    caller sees only what a seal covers. With a ring every seal signature is checked;
    without, only that each seal matches the chain (the cursor keeps the last seal's
    signature: because the chain commits to everything before it, checking that one
    signature authenticates every record it follows). With `chain=False` the hash chain is
    neither computed nor checked (CRCs and LSN order still are): for scans that trust a
    log verified elsewhere and need speed, such as a rebuild; chain values are then empty.
    """
    sha256, crc32, unpack_from = hashlib.sha256, zlib.crc32, HEADER.unpack_from
    size, offset, pending = len(data), cursor.offset, []
    while offset < size:
        if size - offset < HEADER_SIZE:
            raise FrameError("frame header cut short", offset, truncated=True)
        length, crc, frame_type, lsn = unpack_from(data, offset)
        end = offset + HEADER_SIZE + length
        if length > MAX_BODY:
            raise FrameError(f"frame length {length} is implausible", offset, truncated=False)
        if end > size:
            raise FrameError("frame body cut short", offset, truncated=True)
        frame = data[offset:end]
        tail = frame[8:]
        if crc32(tail) != crc:
            raise FrameError("frame CRC mismatch", offset, truncated=False)
        if frame_type == FrameType.EVENT:
            if lsn != cursor.lsn + 1:
                raise ChainBreakError(
                    f"expected LSN {cursor.lsn + 1}, found {lsn}", cursor.lsn + 1, offset
                )
            if chain:
                cursor.chain = sha256(cursor.chain + tail).digest()
            cursor.lsn = lsn
            pending.append((lsn, offset, frame, cursor.chain))
        elif frame_type == FrameType.SEAL:
            _check_seal(frame[HEADER_SIZE:], lsn, cursor, offset, ring if chain else None, chain)
            cursor.seal_frame = frame
            yield from pending
            pending.clear()
            cursor.sealed_lsn, cursor.sealed_chain, cursor.sealed_offset = lsn, cursor.chain, end
        else:
            raise FrameError(f"unknown frame type {frame_type}", offset, truncated=False)
        offset = cursor.offset = end


def _check_seal(
    body: bytes, lsn: int, cursor: Cursor, offset: int, ring: KeyRing | None, chain: bool
) -> None:
    """A seal must cover exactly the events walked so far, and (with a ring) be signed."""
    try:
        key_id, signature, head = parse_seal(body)
    except (ValueError, TypeError) as exc:
        raise ChainBreakError(f"unreadable seal: {exc}", cursor.sealed_lsn + 1, offset) from exc
    if lsn != cursor.lsn or lsn <= cursor.sealed_lsn:
        raise ChainBreakError(
            f"seal for LSN {lsn} after LSN {cursor.lsn}", cursor.sealed_lsn + 1, offset
        )
    if chain and head != cursor.chain:
        raise ChainBreakError("seal does not match the hash chain", cursor.sealed_lsn + 1, offset)
    if ring is not None and not ring.verify(key_id, signature, seal_message(lsn, head), lsn):
        reason = "unknown signing key" if key_id not in ring else "bad seal signature"
        raise ChainBreakError(f"{reason} ({key_id})", cursor.sealed_lsn + 1, offset)
    cursor.seal_key_id, cursor.seal_signature = key_id, signature


def last_seal(path: Path, offset: int, end: int) -> tuple[str, bytes] | None:
    """(key id, chain head) of the last seal in bytes `offset..end` of a segment, found by
    hopping frame headers (the bytes are the writer's own, durable and sealed)."""
    found = None
    with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, prot=mmap.PROT_READ) as data:
        position = max(offset, SEGMENT_HEADER_SIZE)
        while position + HEADER_SIZE <= end:
            length, _, frame_type, _ = HEADER.unpack_from(data, position)
            frame_end = position + HEADER_SIZE + length
            if frame_type == FrameType.SEAL:
                key_id, _, head = parse_seal(data[position + HEADER_SIZE : frame_end])
                found = (key_id, head)
            position = frame_end
    return found
