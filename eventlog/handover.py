"""Cutting a log at an LSN and handing it over to the key that writes on (a restore).

The cut keeps records 1..N byte for byte, and the seal right after N if N ends a group.
Then one system record is appended at N+1 and sealed by the restored copy's signing key,
so that the log opens cleanly (recovery keeps what a seal covers) and says in itself that
a restore happened and which key continues: a plain `restore` event when that key sealed
the last group before the cut, else a `key.restored` announcement (see `eventlog.keys`).
"""

from __future__ import annotations

import mmap
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eventlog.errors import CutError
from eventlog.framing import HEADER, HEADER_SIZE, FrameType, chain_next, encode_frame
from eventlog.keys import KEY_EVENT_KIND, SigningKey, parse_seal, restore_announcement, seal_body
from eventlog.record import Entry, pack_body, pack_payload, unpack_body
from eventlog.segments import (
    SEGMENT_HEADER_SIZE,
    Manifest,
    decode_segment_header,
    fsync_dir,
    index_path,
    list_segments,
    manifest_path,
)


@dataclass(frozen=True)
class Cut:
    """The end of the kept log: after record `lsn` (chain value `chain`, timestamp
    `ts_us`) at byte `offset` of `segment`; `sealer` is the key id of the last seal kept."""

    segment: Path
    lsn: int
    offset: int
    chain: bytes
    ts_us: int
    sealer: str


def cut_log(log_dir: Path, lsn: int, hint: tuple[int, bytes] | None = None) -> Cut:
    """Drop everything after record `lsn` (the log has been verified). `hint` is a frame
    offset in the segment holding `lsn`, before `lsn`, and the chain value there, where
    the search for the cut may start."""
    segments = list_segments(log_dir)
    position = max((i for i, (base, _) in enumerate(segments) if base <= lsn), default=-1)
    if position < 0:
        raise CutError(f"the log holds no record {lsn}")
    for _, later in segments[position + 1 :]:
        for path in (later, manifest_path(later), index_path(later)):
            path.unlink(missing_ok=True)
    path = segments[position][1]
    previous_sealer = _manifest_key_id(segments[position - 1][1]) if position else ""
    cut = _find_cut(path, lsn, previous_sealer, hint)
    with open(path, "r+b") as handle:
        handle.truncate(cut.offset)
        os.fsync(handle.fileno())
    manifest_path(path).unlink(missing_ok=True)
    index_path(path).unlink(missing_ok=True)
    fsync_dir(log_dir)
    return cut


def _manifest_key_id(segment: Path) -> str:
    return Manifest.from_json(manifest_path(segment).read_bytes()).key_id


def _find_cut(path: Path, lsn: int, sealer: str, hint: tuple[int, bytes] | None) -> Cut:
    """Find the end of record `lsn` (and of its seal, if one follows) in a verified segment.

    Frames are hopped by their headers; the chain value is taken from the last seal before
    the cut (a seal carries the chain head it signs) and recomputed only over the few events
    between that seal and `lsn`, so a cut costs a header walk, not a rehash of the segment.
    """
    with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, prot=mmap.PROT_READ) as data:
        if hint is None:
            hint = SEGMENT_HEADER_SIZE, decode_segment_header(data[:SEGMENT_HEADER_SIZE])[1]
        return _hop_to(path, data, lsn, sealer, *hint)


def _hop_to(path: Path, data: mmap.mmap, lsn: int, sealer: str, offset: int, chain: bytes) -> Cut:
    events_since_seal: list[tuple[int, int]] = []
    end: int | None = None
    event_start = 0
    while offset + HEADER_SIZE <= len(data):
        length, _, frame_type, frame_lsn = HEADER.unpack_from(data, offset)
        frame_end = offset + HEADER_SIZE + length
        if frame_lsn > lsn:
            break
        if frame_type == FrameType.SEAL:
            sealer, _, chain = parse_seal(data[offset + HEADER_SIZE : frame_end])
            events_since_seal = []
            if end is not None:
                end = frame_end
        else:
            events_since_seal.append((offset, frame_end))
            if frame_lsn == lsn:
                end, event_start = frame_end, offset
        offset = frame_end
    if end is None:
        raise CutError(f"record {lsn} is not in {path.name}")
    for start, stop in events_since_seal:
        chain = chain_next(chain, data[start:stop])
    length = HEADER.unpack_from(data, event_start)[0]
    body = data[event_start + HEADER_SIZE : event_start + HEADER_SIZE + length]
    return Cut(path, lsn, end, chain, unpack_body(body)[1], sealer)


def hand_over(cut: Cut, key: SigningKey, source: str) -> tuple[int, bool]:
    """Append the restore record at `cut.lsn + 1`, sealed by `key`; returns its LSN and
    whether it announced a new key."""
    lsn = cut.lsn + 1
    new_key = key.key_id != cut.sealer
    payload: dict[str, Any]
    if new_key:
        payload = restore_announcement(key, cut.lsn)
    else:
        payload = {"type": "restore", "key_id": key.key_id, "restored_lsn": cut.lsn}
    payload["source"] = source
    entry = Entry(KEY_EVENT_KIND, payload, actor="system")
    ts_us = max(time.time_ns() // 1000, cut.ts_us)
    event = encode_frame(FrameType.EVENT, lsn, pack_body(entry, ts_us, pack_payload(payload)))
    chain = chain_next(cut.chain, event)
    seal = encode_frame(FrameType.SEAL, lsn, seal_body(key, lsn, chain))
    with open(cut.segment, "ab") as handle:
        handle.write(event + seal)
        handle.flush()
        os.fsync(handle.fileno())
    return lsn, new_key
