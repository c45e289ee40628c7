"""`LocalBlobStore`: blobs as files under data/objects/, written crash-safely.

A key `a/b/c` is the file `<root>/a/b/c`. A put streams into a temporary file under
`<root>/.tmp/` (top-level folders starting with a dot are never listed), fsyncs it, renames
it over the target and fsyncs the directory, so after a crash a key holds the old bytes or
the new, never a torn file. The file system cannot hold both `a` and `a/b`; such a put is a
`BlobConflictError`.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

from eventlog import fsync_dir
from projections.blobs.blobstore import (
    CHUNK_BYTES,
    PAGE,
    BlobInfo,
    HashingChunks,
    Written,
    read_file,
)
from projections.blobs.errors import BlobConflictError, BlobNotFoundError

TMP_DIR = ".tmp"


class LocalBlobStore:
    """Blobs as files in one directory tree."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._tmp = root / TMP_DIR
        self._tmp.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.root / key

    def put(self, key: str, chunks: Iterable[bytes], size: int | None = None) -> Written:
        target = self._path(key)
        hashing = HashingChunks(chunks, size)
        tmp = self._tmp / uuid.uuid4().hex
        try:
            with open(tmp, "wb") as handle:
                for chunk in hashing:
                    handle.write(chunk)
                handle.flush()
                os.fsync(handle.fileno())
            self._publish(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        return hashing.written()

    def _publish(self, tmp: Path, target: Path) -> None:
        """Rename a finished temporary file over `target` and make that durable."""
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, target)
        except (IsADirectoryError, NotADirectoryError, FileExistsError) as exc:
            raise BlobConflictError(
                f"{target.relative_to(self.root)} clashes with a folder"
            ) from exc
        fsync_dir(target.parent)

    def get(self, key: str, offset: int = 0, length: int | None = None) -> Iterator[bytes]:
        try:
            handle = open(self._path(key), "rb")  # noqa: SIM115 - closed by the generator
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise BlobNotFoundError(f"no blob {key}") from exc
        return read_file(handle, offset, length)

    def stat(self, key: str) -> BlobInfo:
        path = self._path(key)
        if not path.is_file():
            raise BlobNotFoundError(f"no blob {key}")
        return BlobInfo(key, path.stat().st_size)

    def delete(self, key: str) -> None:
        path = self._path(key)
        try:
            path.unlink()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return
        fsync_dir(path.parent)

    def list(self, prefix: str, after: str = "", limit: int = PAGE) -> list[BlobInfo]:
        folder, _, _ = prefix.rpartition("/")
        keys = sorted(key for key in self._walk(folder) if key.startswith(prefix) and key > after)[
            :limit
        ]
        return [BlobInfo(key, self._path(key).stat().st_size) for key in keys]

    def _walk(self, folder: str) -> Iterator[str]:
        start = self.root / folder if folder else self.root
        for directory, dirs, files in os.walk(start):
            rel = Path(directory).relative_to(self.root).as_posix()
            if rel == ".":
                dirs[:] = [d for d in dirs if not d.startswith(".")]
            for name in files:
                yield name if rel == "." else f"{rel}/{name}"

    def copy(self, source: str, target: str) -> None:
        tmp = self._tmp / uuid.uuid4().hex
        try:
            with open(self._path(source), "rb") as src, open(tmp, "wb") as dst:
                shutil.copyfileobj(src, dst, CHUNK_BYTES)
                dst.flush()
                os.fsync(dst.fileno())
            self._publish(tmp, self._path(target))
        except (FileNotFoundError, IsADirectoryError) as exc:
            raise BlobNotFoundError(f"no blob {source}") from exc
        finally:
            tmp.unlink(missing_ok=True)

    def direct_url(self, key: str, expires_s: int) -> str | None:
        return None

    def local_path(self, key: str) -> Path | None:
        path = self._path(key)
        return path if path.is_file() else None
