"""Opening a log for writing: check what is sealed, repair a torn tail, refuse real damage.

A crash can only tear the group being written when it happened: the bytes after the last
intact seal of the newest segment. Those bytes were never acknowledged, so they are cut
off. Anything else that fails its checks — a sealed segment that no longer matches its
manifest, a bad frame followed by intact, sealed data — is damage: opening is refused with
the first bad LSN, and `bkgdb verify` gives the full picture.

Segments pruned to an archive (`eventlog.pruned`) left their manifests behind: those must
line up from LSN 1, and the first local segment must follow the last of them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from eventlog.errors import CorruptLogError
from eventlog.framing import GENESIS_HASH, HEADER_SIZE, FrameError, FrameType, decode_frame
from eventlog.pruned import check_pruned, pruned_manifests
from eventlog.segments import (
    SEGMENT_HEADER_SIZE,
    Manifest,
    SparseIndex,
    decode_segment_header,
    list_segments,
    manifest_path,
)
from eventlog.walk import ChainBreakError, Cursor, walk_events


@dataclass
class SealedSegment:
    base_lsn: int
    path: Path
    manifest: Manifest


@dataclass
class RecoveredLog:
    """What the writer needs to carry on: sealed segments, the active one and its end."""

    sealed: list[SealedSegment]
    active_path: Path | None
    active_base: int
    cursor: Cursor
    index: SparseIndex
    truncated_bytes: int = 0
    notes: list[str] = field(default_factory=list)
    pruned: list[Manifest] = field(default_factory=list)


def recover(log_dir: Path, index_every: int) -> RecoveredLog:
    segments = list_segments(log_dir)
    if not segments:
        raise CorruptLogError(f"{log_dir} holds no log segments (run `bkgdb init`)", lsn=1)
    pruned = pruned_manifests(log_dir)
    recovered = _recover_local(segments, index_every, *check_pruned(pruned, segments[0][0]))
    recovered.pruned = pruned
    return recovered


def _recover_local(
    segments: list[tuple[int, Path]], index_every: int, prev_last: int, prev_chain: bytes
) -> RecoveredLog:
    sealed, prev_last, prev_chain = _check_sealed(segments[:-1], prev_last, prev_chain)
    base, path = segments[-1]
    if manifest_path(path).exists():
        # The newest segment was sealed but its successor never created: carry on after it.
        more, prev_last, prev_chain = _check_sealed([segments[-1]], prev_last, prev_chain)
        cursor = Cursor.at(prev_last, prev_chain, SEGMENT_HEADER_SIZE)
        return RecoveredLog(sealed + more, None, prev_last + 1, cursor, SparseIndex())
    return _recover_active(sealed, base, path, prev_last, prev_chain, index_every)


def _check_sealed(
    segments: list[tuple[int, Path]], prev_last: int = 0, prev_chain: bytes = GENESIS_HASH
) -> tuple[list[SealedSegment], int, bytes]:
    """Sealed segments are trusted on open if their manifests line up and sizes match;
    the deep check of every byte is `verify`'s job."""
    sealed = []
    for base, path in segments:
        try:
            manifest = Manifest.from_json(manifest_path(path).read_bytes())
        except (OSError, ValueError, TypeError) as exc:
            raise CorruptLogError(
                f"segment {path.name} has no readable manifest ({exc}); run `bkgdb verify`",
                lsn=base,
                path=str(path),
            ) from exc
        if (
            manifest.first_lsn != base
            or base != prev_last + 1
            or bytes.fromhex(manifest.prev_hash) != prev_chain
            or path.stat().st_size != manifest.size
        ):
            raise CorruptLogError(
                f"segment {path.name} does not match its manifest or predecessor; "
                "run `bkgdb verify`",
                lsn=base,
                path=str(path),
            )
        sealed.append(SealedSegment(base, path, manifest))
        prev_last, prev_chain = manifest.last_lsn, bytes.fromhex(manifest.chain_head)
    return sealed, prev_last, prev_chain


def _recover_active(
    sealed: list[SealedSegment],
    base: int,
    path: Path,
    prev_last: int,
    prev_chain: bytes,
    index_every: int,
) -> RecoveredLog:
    data = path.read_bytes()
    try:
        header_base, header_prev = decode_segment_header(data)
    except ValueError as exc:
        if sealed and len(data) < SEGMENT_HEADER_SIZE:
            # A crash while the segment was being created: it never held a record.
            os.unlink(path)
            cursor = Cursor.at(prev_last, prev_chain, SEGMENT_HEADER_SIZE)
            return RecoveredLog(sealed, None, prev_last + 1, cursor, SparseIndex(), len(data))
        raise CorruptLogError(f"segment {path.name}: {exc}", lsn=base, path=str(path)) from exc
    if header_base != base or base != prev_last + 1 or header_prev != prev_chain:
        raise CorruptLogError(
            f"segment {path.name} does not follow its predecessor", lsn=base, path=str(path)
        )
    cursor = Cursor.at(base - 1, prev_chain, SEGMENT_HEADER_SIZE)
    index = SparseIndex()
    chain_before = prev_chain
    try:
        for lsn, offset, _, chain in walk_events(data, cursor):
            if (lsn - base) % index_every == 0:
                index.add(lsn, offset, chain_before)
            chain_before = chain
    except ChainBreakError as exc:
        raise CorruptLogError(
            f"segment {path.name}: {exc} at offset {exc.offset}; run `bkgdb verify`",
            lsn=exc.lsn,
            path=str(path),
            offset=exc.offset,
        ) from exc
    except FrameError as exc:
        if _sealed_data_after(data, exc.offset, cursor.sealed_lsn):
            raise CorruptLogError(
                f"segment {path.name}: {exc} at offset {exc.offset}, with sealed records "
                "after it; run `bkgdb verify`",
                lsn=cursor.lsn + 1,
                path=str(path),
                offset=exc.offset,
            ) from exc
    return _truncate_to_seal(sealed, path, base, cursor, index, len(data))


def _truncate_to_seal(
    sealed: list[SealedSegment],
    path: Path,
    base: int,
    cursor: Cursor,
    index: SparseIndex,
    size: int,
) -> RecoveredLog:
    """Cut everything after the last seal: a group that was never acknowledged."""
    torn = size - cursor.sealed_offset
    notes = []
    if torn:
        with open(path, "r+b") as handle:
            handle.truncate(cursor.sealed_offset)
            os.fsync(handle.fileno())
        notes.append(
            f"truncated a torn tail of {torn} bytes after LSN {cursor.sealed_lsn} in {path.name}"
        )
    cursor = Cursor.at(cursor.sealed_lsn, cursor.sealed_chain, cursor.sealed_offset)
    return RecoveredLog(sealed, path, base, cursor, index, torn, notes)


def _sealed_data_after(data: bytes, bad_offset: int, sealed_lsn: int) -> bool:
    """Is there an intact seal past the bad frame with more data after it?

    That can only be an acknowledged group followed by later writes, so the bad frame is
    damage, not a torn tail. A candidate seal is found by its type byte and the high bytes
    of a plausible LSN, then checked in full.
    """
    probe = bytes((FrameType.SEAL,)) + (sealed_lsn + 1).to_bytes(8, "big")[:5]
    at = data.find(probe, bad_offset + 1)
    while at != -1:
        start = at - 8
        if start > bad_offset:
            try:
                frame = decode_frame(data, start)
            except FrameError:
                frame = None
            if (
                frame is not None
                and frame.lsn > sealed_lsn
                and frame.end + HEADER_SIZE <= len(data)
            ):
                return True
        at = data.find(probe, at + 1)
    return False
