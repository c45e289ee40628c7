"""Frames: how records and seals sit in a segment file.

A frame is a 17-byte header followed by a body::

    u32 body length | u32 CRC-32 of (type, lsn, body) | u8 type | u64 lsn | body

Type 1 frames carry events; type 2 frames are seals that sign the hash chain head after
the event whose LSN they carry. Every event frame extends the SHA-256 hash chain:
``chain[n] = sha256(chain[n-1] || type || lsn || body)``, so a changed, dropped, inserted
or reordered record changes every chain value after it.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from dataclasses import dataclass
from enum import IntEnum

HEADER = struct.Struct(">IIBQ")
HEADER_SIZE = HEADER.size
LSN_FIELD = struct.Struct(">Q")
GENESIS_HASH = bytes(32)
MAX_BODY = 64 * 1024 * 1024


class FrameType(IntEnum):
    EVENT = 1
    SEAL = 2


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded frame; `end` is the offset just past it in the buffer it came from."""

    type: int
    lsn: int
    body: bytes
    offset: int
    end: int


class FrameError(ValueError):
    """A frame at `offset` is invalid; `truncated` means it runs past the end of the data."""

    def __init__(self, message: str, offset: int, truncated: bool) -> None:
        super().__init__(message)
        self.offset = offset
        self.truncated = truncated


def encode_frame(frame_type: FrameType, lsn: int, body: bytes) -> bytes:
    """Frame a body; the CRC covers type, LSN and body so none can change unnoticed."""
    tail = bytes((frame_type,)) + LSN_FIELD.pack(lsn) + body
    return struct.pack(">II", len(body), zlib.crc32(tail)) + tail


def chain_next(previous: bytes, frame: bytes | memoryview) -> bytes:
    """The chain value after an event frame: it commits to type, LSN and body."""
    return hashlib.sha256(bytes(previous) + bytes(frame[8:])).digest()


def decode_frame(data: bytes | memoryview, offset: int) -> Frame:
    """Decode the frame starting at `offset`, raising FrameError if it is not intact."""
    available = len(data) - offset
    if available < HEADER_SIZE:
        raise FrameError("frame header cut short", offset, truncated=True)
    length, crc, frame_type, lsn = HEADER.unpack_from(data, offset)
    if length > MAX_BODY:
        raise FrameError(f"frame length {length} is implausible", offset, truncated=False)
    end = offset + HEADER_SIZE + length
    if end > len(data):
        raise FrameError("frame body cut short", offset, truncated=True)
    if zlib.crc32(data[offset + 8 : end]) != crc:
        raise FrameError("frame CRC mismatch", offset, truncated=False)
    if frame_type not in (FrameType.EVENT, FrameType.SEAL):
        raise FrameError(f"unknown frame type {frame_type}", offset, truncated=False)
    return Frame(frame_type, lsn, bytes(data[offset + HEADER_SIZE : end]), offset, end)
