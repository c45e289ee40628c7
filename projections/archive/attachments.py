"""Files that records name, archived together with the records (object bytes, for one).

The archive does not know what a record means. Whoever creates the `Archiver` may give it
an `Attachments` function that names, for one record, the local files to keep in the
archive beside it: (name in the archive, local path). The archiver walks the bytes it is
about to upload (`records_in`) and uploads each record's files first (`upload_file`), so
once the cursor has passed a record, its files are in the archive too. Files are streamed,
never read whole. A file that is gone by then (removed locally before the archive got to
it) cannot be archived any more: it is reported and skipped, so one lost file never
stalls the archive.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path

from eventlog import Record
from projections.blobs.blobstore import CHUNK_BYTES, BlobStore

Attachments = Callable[[Record], Iterable[tuple[str, Path]]]


def upload_file(remote: BlobStore, name: str, path: Path) -> bool:
    """Stream one local file to `name`; False (nothing uploaded) if the file is gone. Once
    open, the file is read to its end even if it is removed meanwhile."""
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed below, after the size is taken
    except FileNotFoundError:
        return False
    with handle:
        size = os.fstat(handle.fileno()).st_size
        remote.put(name, iter(partial(handle.read, CHUNK_BYTES), b""), size)
    return True
