"""Tiered retention: prune local sealed segments that the archive is known to hold.

A sealed segment may leave local disk (its `.seg` and `.idx`; the signed manifest stays,
see `eventlog.pruned`) only when all of these hold:

- it is older than the newest `retain` local sealed segments (the active one always stays);
- every LSN in it is at or below the newest checkpoint the archive has confirmed uploaded
  (the archiver's cursor says so and the checkpoint's manifest is in the archive), so a
  rebuild from that checkpoint plus the local tail never needs it;
- the archive has confirmed the segment and its manifest (the cursor is past it, the
  archived segment has the manifest's size and the archived manifest is the local one).

Segments are pruned oldest first and the first one that fails a condition stops the run,
so the pruned ones always form a prefix of the log. The reason is reported, for
`bkgdb log prune` and the server's log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from eventlog import Manifest
from projections.archive import layout
from projections.archive.archiver import ArchiveCursor
from projections.blobs.blobstore import BlobStore, exists


class PrunableLog(Protocol):
    """What retention needs of the log (`eventlog.EventLog`)."""

    @property
    def sealed_manifests(self) -> list[Manifest]: ...

    @property
    def pruned_manifests(self) -> list[Manifest]: ...

    def prune(self, through_lsn: int) -> list[Manifest]: ...


@dataclass
class PruneReport:
    """What a run pruned, how far the log is now pruned, and why it stopped where it did."""

    pruned: list[str] = field(default_factory=list)
    pruned_through_lsn: int = 0
    checkpoint_lsn: int = 0
    local_sealed: int = 0
    stopped: str = ""


def prune(log: PrunableLog, retain: int, cursor: ArchiveCursor, remote: BlobStore) -> PruneReport:
    """Prune what the rules above allow; never anything the archive has not confirmed."""
    if retain < 0:
        raise ValueError("the number of local segments to retain cannot be negative")
    sealed = log.sealed_manifests
    report = PruneReport(checkpoint_lsn=_archived_checkpoint(cursor, remote))
    candidates = sealed[: max(len(sealed) - retain, 0)]
    through = 0
    for manifest in candidates:
        report.stopped = _blocker(manifest, cursor, report.checkpoint_lsn, remote)
        if report.stopped:
            break
        through = manifest.last_lsn
    else:
        report.stopped = f"the newest {retain} sealed segment(s) and the active one stay local"
    if through:
        report.pruned = [manifest.segment for manifest in log.prune(through)]
    done = log.pruned_manifests
    report.pruned_through_lsn = done[-1].last_lsn if done else 0
    report.local_sealed = len(log.sealed_manifests)
    return report


def _archived_checkpoint(cursor: ArchiveCursor, remote: BlobStore) -> int:
    """The newest checkpoint's LSN that the archive confirmed (0 if none)."""
    key = layout.checkpoint_key(cursor.checkpoint_lsn, "manifest")
    return cursor.checkpoint_lsn if cursor.checkpoint_lsn and exists(remote, key) else 0


def _blocker(manifest: Manifest, cursor: ArchiveCursor, checkpoint: int, remote: BlobStore) -> str:
    """Why this segment must stay local, or "" if it may go."""
    name, base = manifest.segment, manifest.first_lsn
    if checkpoint == 0:
        return "no checkpoint has been confirmed in the archive yet"
    if manifest.last_lsn > checkpoint:
        return (
            f"{name} ends at LSN {manifest.last_lsn}, after the newest archived checkpoint "
            f"(LSN {checkpoint})"
        )
    if cursor.segment <= base:
        return f"the archive has not confirmed {name} yet"
    sizes = {entry.key: entry.size for entry in remote.list(layout.segment_key(base, ""))}
    if sizes.get(layout.segment_key(base, "seg")) != manifest.size:
        return f"the archive does not hold {name} whole"
    archived = b"".join(remote.get(layout.segment_key(base, "manifest")))
    if Manifest.from_json(archived) != manifest:
        return f"the archived manifest of {name} is not the local one"
    return ""
