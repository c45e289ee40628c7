"""Sealed segments pruned from local disk: their manifests stay, their bytes live elsewhere.

Tiered retention deletes the `.seg` and `.idx` of the oldest sealed segments once an
archive holds them (the policy is the archive's business, `projections.archive.retention`).
Each pruned segment's signed manifest stays in `log/`: it is small and carries the chain
ends, so recovery can start at the first local segment with the chain value the last pruned
manifest records, and `verify` can check that the pruned manifests still link up from LSN 1.

The log never knows where pruned bytes went. Whoever opens it may pass a `SegmentSource`,
a callable `base LSN -> Path` of a local copy of that segment (for example fetched from S3
into a cache and checked against the manifest kept here); without one, reading a pruned
LSN raises `PrunedSegmentError`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

from eventlog.errors import CorruptLogError, PrunedSegmentError
from eventlog.framing import GENESIS_HASH
from eventlog.segments import Manifest, format_segment_name, fsync_dir, index_path

SegmentSource = Callable[[int], Path]
_MANIFEST = re.compile(r"^(\d{20})\.manifest$")


def pruned_manifests(log_dir: Path) -> list[Manifest]:
    """The manifests in `log_dir` whose segment file is gone, in log order (one listing)."""
    names = {entry.name for entry in os.scandir(log_dir)}
    found = []
    for name in names:
        match = _MANIFEST.match(name)
        if match and format_segment_name(int(match.group(1))) not in names:
            try:
                found.append(Manifest.from_json((log_dir / name).read_bytes()))
            except (OSError, ValueError, TypeError) as exc:
                raise CorruptLogError(
                    f"manifest {name} of a pruned segment is unreadable: {exc}",
                    lsn=int(match.group(1)),
                    path=str(log_dir / name),
                ) from exc
    return sorted(found, key=lambda manifest: manifest.first_lsn)


def check_pruned(manifests: list[Manifest], first_local: int | None) -> tuple[int, bytes]:
    """Check that pruned manifests line up from LSN 1 and end just before the first local
    segment; return the last pruned LSN and its chain value (0 and genesis if none)."""
    prev_last, prev_chain = 0, GENESIS_HASH
    for manifest in manifests:
        if manifest.first_lsn != prev_last + 1 or bytes.fromhex(manifest.prev_hash) != prev_chain:
            raise CorruptLogError(
                f"pruned segment {manifest.segment} does not follow its predecessor",
                lsn=prev_last + 1,
            )
        prev_last, prev_chain = manifest.last_lsn, bytes.fromhex(manifest.chain_head)
    if manifests and first_local is not None and first_local != prev_last + 1:
        raise CorruptLogError(
            f"the first local segment starts at LSN {first_local}, the pruned ones end at "
            f"LSN {prev_last}",
            lsn=prev_last + 1,
        )
    return prev_last, prev_chain


def unavailable(base_lsn: int) -> Path:
    """The source of a log opened without one: pruned LSNs cannot be read."""
    raise PrunedSegmentError(
        f"segment {format_segment_name(base_lsn)} was pruned from local disk and no archive "
        "is configured to fetch it from (set the S3 archive, BKG_S3_*)",
        base_lsn,
    )


def remove_segment_files(segment: Path) -> None:
    """Delete a segment's bytes and index, keeping its manifest."""
    index_path(segment).unlink(missing_ok=True)
    segment.unlink(missing_ok=True)
    fsync_dir(segment.parent)
