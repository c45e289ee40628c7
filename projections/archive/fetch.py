"""Reading pruned segments back from the archive: the log's `segment_source`.

Tiered retention deletes old sealed segments locally once the archive holds them, keeping
their signed manifests (`eventlog.pruned`). A read of their LSNs (an `as_of_lsn` query, a
replay, a rebuild without a checkpoint) calls `ArchiveFetcher(base)`, which downloads the
segment into a cache directory (`data/log-cache/`, derived and deletable) and checks its
size and SHA-256 against the manifest kept locally, so a copy altered in the archive or in
the cache is never read: a bad cached copy is fetched again, a bad archived one refused.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

from eventlog.errors import CorruptLogError
from eventlog.segments import Manifest, file_sha256, format_segment_name, manifest_path
from projections.archive import layout
from projections.archive.remote import Remote

CACHE_DIR = "log-cache"


class ArchiveFetcher:
    """`base LSN -> Path` of a checked local copy of a pruned segment."""

    def __init__(self, remote: Remote, log_dir: Path, cache_dir: Path) -> None:
        self.remote = remote
        self.log_dir = log_dir
        self.cache_dir = cache_dir
        self.downloads = 0
        self._lock = threading.Lock()
        self._checked: dict[Path, tuple[int, int, int]] = {}

    def __call__(self, base_lsn: int) -> Path:
        name = format_segment_name(base_lsn)
        manifest = Manifest.from_json(manifest_path(self.log_dir / name).read_bytes())
        target = self.cache_dir / name
        with self._lock:
            if not self._intact(target, manifest):
                self._download(base_lsn, target, manifest)
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

    def _download(self, base_lsn: int, target: Path, manifest: Manifest) -> None:
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".part")
        digest, size = hashlib.sha256(), 0
        with open(partial, "wb") as handle:
            for chunk in self.remote.get(layout.segment_key(base_lsn, "seg")):
                digest.update(chunk)
                size += len(chunk)
                handle.write(chunk)
        if size != manifest.size or digest.hexdigest() != manifest.sha256:
            partial.unlink()
            raise CorruptLogError(
                f"the archived copy of segment {target.name} does not match its local manifest"
                " (size or SHA-256); it is not read",
                lsn=base_lsn,
            )
        os.replace(partial, target)
        self.downloads += 1
