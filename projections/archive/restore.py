"""Restore a data directory's log from the archive, verified, to its head or any LSN.

1. Download and verify, segment by segment in log order (`eventlog.SegmentChecker`):
   sealed ones whole, hashed as they stream in and authenticated by their signed manifests
   (digest, size, chain ends joining up, signature by a key announced in the log), the
   active one from its pieces (which must join up from offset 0), walked frame by frame up
   to its last seal, whose signature is checked. Nothing that fails is restored.
2. Cut after the target LSN, keeping its group's seal when it ends there, and drop what
   follows (segments after it, the cut segment's manifest and index).
3. Append one system record, sealed by the key the restored copy will write with. If that
   key sealed the last group before the cut (`--keys` with the original key), the record
   only says `restore`; otherwise it is a `key.restored` announcement of the new key.
   Nothing endorses a key that arrives that way (the old private key is not in the archive),
   so `verify` accepts it with a warning naming it, and `verify --trusted-keys` only if it
   is among the trusted keys: records before the cut stay authenticated by the old keys,
   records after it by the restore key alone, exactly as far as the operator trusts it.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from eventlog import (
    CorruptLogError,
    CutError,
    Manifest,
    MarkScanner,
    Piece,
    SegmentChecker,
    SigningKey,
    cut_log,
    format_segment_name,
    hand_over,
    list_segments,
    manifest_path,
)
from projections.archive import layout
from projections.archive.errors import RestoreError
from projections.blobs.blobstore import BlobStore, list_all

Progress = Callable[[int, int], None]
PARALLEL_DOWNLOADS = 4


@dataclass
class ArchiveListing:
    """What the archive holds: sealed segments (base -> manifest key), pieces of the
    active segment (base -> [(offset, key)]), checkpoints (LSNs)."""

    sealed: dict[int, str] = field(default_factory=dict)
    pieces: dict[int, list[tuple[int, str]]] = field(default_factory=dict)
    piece_manifests: set[str] = field(default_factory=set)
    checkpoints: list[int] = field(default_factory=list)
    has_config: bool = False


@dataclass
class RestoreReport:
    """What a restore did."""

    head_lsn: int
    restored_lsn: int
    segments: int
    bytes: int
    record_lsn: int
    key_id: str
    new_key: bool
    warnings: list[str] = field(default_factory=list)


def list_archive(remote: BlobStore) -> ArchiveListing:
    listing = ArchiveListing()
    for key in list_all(remote, layout.LOG):
        parsed = layout.parse_segment_key(key)
        if parsed and parsed[1] == "manifest":
            listing.sealed[parsed[0]] = key
    for key in list_all(remote, layout.ACTIVE):
        piece = layout.parse_part_key(key)
        if piece:
            listing.pieces.setdefault(piece[0], []).append((piece[1], key))
        elif key.endswith(".manifest"):
            listing.piece_manifests.add(key)
    for key in list_all(remote, layout.CHECKPOINTS):
        checkpoint = layout.parse_checkpoint_key(key)
        if checkpoint and checkpoint[1] == "manifest":
            listing.checkpoints.append(checkpoint[0])
    listing.has_config = bool(remote.list(layout.CONFIG, limit=1))
    return listing


def download_log(
    remote: BlobStore,
    listing: ArchiveListing,
    log_dir: Path,
    to_lsn: int | None,
    checker: SegmentChecker,
    progress: Progress | None = None,
) -> int:
    """Download the segments a restore to `to_lsn` needs, several at a time, and verify
    them in log order as they complete; returns the bytes fetched."""
    log_dir.mkdir(parents=True, exist_ok=True)
    limit = to_lsn if to_lsn is not None else float("inf")
    manifests = {base: _manifest(remote, base) for base in sorted(listing.sealed) if base <= limit}
    after_sealed = max((m.last_lsn for m in manifests.values()), default=0) + 1
    active = [b for b in listing.pieces if b == after_sealed <= limit and b not in listing.sealed]
    total, done = sum(m.size for m in manifests.values()), 0
    pool = ThreadPoolExecutor(PARALLEL_DOWNLOADS, thread_name_prefix="bkg-restore")
    with pool, _verified():
        sealed = {base: pool.submit(_fetch_sealed, remote, base, log_dir) for base in manifests}
        pieces = pool.submit(_fetch_pieces, remote, listing, active[0], log_dir) if active else None
        for base, manifest in manifests.items():
            fetched = sealed[base].result()
            checker.sealed(fetched.path, manifest, fetched.sha256, fetched.size, fetched.last_mark)
            manifest_path(fetched.path).write_bytes(manifest.to_json())
            done += fetched.size
            if progress:
                progress(done, total)
        if pieces is not None:
            fetched, parts = pieces.result()
            checker.active(fetched.path, parts, fetched.last_mark)
            done += fetched.size
    if checker.head_lsn == 0:
        raise RestoreError("the archive holds no log segments")
    return done


@contextmanager
def _verified() -> Iterator[None]:
    """A segment that fails its check fails the restore, naming the first bad LSN."""
    try:
        yield
    except CorruptLogError as exc:
        raise RestoreError(f"the archive fails verification at LSN {exc.lsn}: {exc}") from exc


def _manifest(remote: BlobStore, base: int) -> Manifest:
    raw = b"".join(remote.get(layout.segment_key(base, "manifest")))
    try:
        return Manifest.from_json(raw)
    except (ValueError, TypeError) as exc:
        raise RestoreError(f"archived manifest of segment {base} is unreadable: {exc}") from exc


@dataclass(frozen=True)
class Fetched:
    """A downloaded segment file, with what was measured while it streamed in."""

    path: Path
    size: int
    sha256: str
    last_mark: int


def _fetch_sealed(remote: BlobStore, base: int, log_dir: Path) -> Fetched:
    """One sealed segment, hashed and scanned for key announcements while it streams in."""
    path = log_dir / format_segment_name(base)
    digest, size, marks = hashlib.sha256(), 0, MarkScanner()
    with open(path, "wb") as handle:
        for chunk in remote.get(layout.segment_key(base, "seg")):
            digest.update(chunk)
            marks.feed(chunk)
            size += len(chunk)
            handle.write(chunk)
        handle.flush()
        os.fsync(handle.fileno())
    return Fetched(path, size, digest.hexdigest(), marks.last)


def _fetch_pieces(
    remote: BlobStore, listing: ArchiveListing, base: int, log_dir: Path
) -> tuple[Fetched, list[Piece]]:
    """The active segment, from pieces that must follow each other from offset 0, each
    hashed as it streams in, with their manifests."""
    path = log_dir / format_segment_name(base)
    pieces: list[Piece] = []
    size, marks = 0, MarkScanner()
    with open(path, "wb") as handle:
        for offset, key in sorted(listing.pieces[base]):
            if offset != size:
                raise RestoreError(f"archived pieces of segment {base} have a gap at {size}")
            digest = hashlib.sha256()
            for chunk in remote.get(key):
                digest.update(chunk)
                marks.feed(chunk)
                size += len(chunk)
                handle.write(chunk)
            manifest = None
            if key + ".manifest" in listing.piece_manifests:
                manifest = Manifest.from_json(b"".join(remote.get(key + ".manifest")))
            pieces.append(Piece(key, offset, size - offset, digest.hexdigest(), manifest))
        handle.flush()
        os.fsync(handle.fileno())
    return Fetched(path, size, "", marks.last), pieces


def restore_log(
    remote: BlobStore,
    log_dir: Path,
    key: SigningKey,
    to_lsn: int | None = None,
    trusted: dict[str, bytes] | None = None,
    progress: Progress | None = None,
) -> RestoreReport:
    """Download, verify, cut at `to_lsn` (default: the archive's head) and hand over to
    `key`, into `log_dir`, which must not hold a log yet."""
    if log_dir.exists() and any(log_dir.iterdir()):
        raise RestoreError(f"{log_dir} is not empty")
    listing = list_archive(remote)
    checker = SegmentChecker(trusted)
    fetched = download_log(remote, listing, log_dir, to_lsn, checker, progress)
    target = checker.head_lsn if to_lsn is None else to_lsn
    if not 1 <= target <= checker.head_lsn:
        raise RestoreError(f"LSN {target} is outside the archive (1..{checker.head_lsn})")
    last = checker.last_piece
    try:
        cut = cut_log(log_dir, target, last[:2] if last and target >= last[2] else None)
        record_lsn, new_key = hand_over(cut, key, "archive")
    except CutError as exc:
        raise RestoreError(str(exc)) from exc
    return RestoreReport(
        head_lsn=checker.head_lsn,
        restored_lsn=target,
        segments=len(list_segments(log_dir)),
        bytes=fetched,
        record_lsn=record_lsn,
        key_id=key.key_id,
        new_key=new_key,
        warnings=list(checker.warnings),
    )


def fetch_config(remote: BlobStore, listing: ArchiveListing) -> bytes | None:
    """The archived `log/config.json`, if the archive has one."""
    return b"".join(remote.get(layout.CONFIG)) if listing.has_config else None


def fetch_checkpoint(
    remote: BlobStore, listing: ArchiveListing, directory: Path, max_lsn: int
) -> int | None:
    """Download the newest archived checkpoint at or below `max_lsn` (it is validated
    like any checkpoint when the database opens); returns its LSN."""
    usable = [lsn for lsn in listing.checkpoints if lsn <= max_lsn]
    if not usable:
        return None
    lsn = max(usable)
    directory.mkdir(parents=True, exist_ok=True)
    for suffix in ("sqlite", "manifest"):
        with open(directory / f"{lsn:020d}.{suffix}", "wb") as handle:
            for chunk in remote.get(layout.checkpoint_key(lsn, suffix)):
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
    return lsn
