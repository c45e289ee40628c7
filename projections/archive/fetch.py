"""Reading pruned segments back from the archive: the log's `segment_source`.

Tiered retention deletes old sealed segments locally once the archive holds them, keeping
their signed manifests (`eventlog.pruned`). A read of their LSNs (an `as_of_lsn` query, a
replay, a rebuild without a checkpoint) calls `ArchiveFetcher(base)`, which copies the
segment from the archive's blob store into a local one over a cache directory
(`data/log-cache/`, derived and deletable) and checks its size and SHA-256 against the
manifest kept locally, so a copy altered in the archive or in the cache is never read: a
bad cached copy is fetched again, a bad archived one refused. The log only knows the
`eventlog.pruned.SegmentSource` callable (it cannot know the blob layer above it); this is
the one implementation, over blob stores.
"""

from __future__ import annotations

import threading
from pathlib import Path

from eventlog import CorruptLogError, Manifest, file_sha256, format_segment_name, manifest_path
from projections.archive import layout
from projections.blobs.blobstore import BlobStore
from projections.blobs.errors import LengthMismatchError
from projections.blobs.local import LocalBlobStore

CACHE_DIR = "log-cache"


class ArchiveFetcher:
    """`base LSN -> Path` of a checked local copy of a pruned segment."""

    def __init__(self, remote: BlobStore, log_dir: Path, cache_dir: Path) -> None:
        self.remote = remote
        self.log_dir = log_dir
        self.cache_dir = cache_dir
        self.downloads = 0
        self._lock = threading.Lock()
        self._checked: dict[Path, tuple[int, int, int]] = {}
        self._cache: LocalBlobStore | None = None

    def __call__(self, base_lsn: int) -> Path:
        name = format_segment_name(base_lsn)
        manifest = Manifest.from_json(manifest_path(self.log_dir / name).read_bytes())
        target = self.cache_dir / name
        with self._lock:
            if not self._intact(target, manifest):
                self._download(base_lsn, name, manifest)
        return target

    def _intact(self, target: Path, manifest: Manifest) -> bool:
        """Is the cached copy the manifest's bytes? (hashed once per change of the file)"""
        try:
            stat = target.stat()
        except FileNotFoundError:
            return False
        stamp = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
        if self._checked.get(target) == stamp:
            return True
        if stat.st_size != manifest.size or file_sha256(target) != manifest.sha256:
            return False
        self._checked[target] = stamp
        return True

    def _download(self, base_lsn: int, name: str, manifest: Manifest) -> None:
        """Copy the archived segment into the cache (crash-safely, as every local blob is
        written); a copy that does not match the manifest is removed and refused."""
        if self._cache is None:
            self._cache = LocalBlobStore(self.cache_dir)
        refusal = CorruptLogError(
            f"the archived copy of segment {name} does not match its local manifest"
            " (size or SHA-256); it is not read",
            lsn=base_lsn,
        )
        chunks = self.remote.get(layout.segment_key(base_lsn, "seg"))
        try:
            written = self._cache.put(name, chunks, manifest.size)
        except LengthMismatchError as exc:
            raise refusal from exc
        if written.sha256 != manifest.sha256:
            self._cache.delete(name)
            raise refusal
        self.downloads += 1
