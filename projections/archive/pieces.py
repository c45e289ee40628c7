"""Signed manifests of active-segment pieces, so that a restore checks them as it checks
sealed segments: by digest and signature, without walking their frames.

A piece is bytes `offset..end` of the active segment, ending on a seal. Its manifest uses
the sealed segments' format (`eventlog.segments.Manifest`): `segment` names the piece, the
LSN range, the chain value before it and the head its last seal signs, the SHA-256 and size
of its bytes, signed by the key that sealed its last group. When the writer has moved to a
newer key since (a rotation between two passes), the piece goes without a manifest and a
restore walks it instead.
"""

from __future__ import annotations

import mmap
from pathlib import Path

from eventlog.framing import HEADER, HEADER_SIZE, FrameType
from eventlog.keys import SigningKey, parse_seal
from eventlog.segments import SEGMENT_HEADER_SIZE, Manifest
from projections.blobs.blobstore import Written


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


def piece_manifest(
    name: str,
    first_lsn: int,
    last_lsn: int,
    prev_chain: bytes,
    chain_head: bytes,
    written: Written,
    key: SigningKey,
) -> Manifest:
    """The signed manifest of one uploaded piece (`written`: what the blob store measured
    of it while it streamed)."""
    return Manifest(
        segment=name,
        first_lsn=first_lsn,
        last_lsn=last_lsn,
        count=last_lsn - first_lsn + 1,
        prev_hash=prev_chain.hex(),
        chain_head=chain_head.hex(),
        sha256=written.sha256,
        size=written.size,
        key_id=key.key_id,
    ).signed_by(key)
