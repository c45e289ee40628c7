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

import mmap
import os
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from pathlib import Path

from eventlog.framing import HEADER_SIZE
from eventlog.record import Record, unpack_body
from eventlog.segments import SEGMENT_HEADER_SIZE
from eventlog.walk import Cursor, walk_events
from projections.blobs.blobstore import CHUNK_BYTES, BlobStore

Attachments = Callable[[Record], Iterable[tuple[str, Path]]]


def records_in(path: Path, start: int, end: int, after_lsn: int) -> Iterator[Record]:
    """The records in bytes `start..end` of a segment, whose first event is `after_lsn + 1`
    (the bytes are the writer's own, durable and sealed: CRCs and order are checked, the
    hash chain is not recomputed)."""
    with open(path, "rb") as handle, mmap.mmap(handle.fileno(), end, prot=mmap.PROT_READ) as data:
        cursor = Cursor.at(after_lsn, b"", max(start, SEGMENT_HEADER_SIZE))
        for lsn, _, frame, _ in walk_events(data, cursor, chain=False):
            version, ts_us, kind, actor, namespace, payload = unpack_body(frame[HEADER_SIZE:])
            yield Record(lsn, ts_us, kind, actor, namespace, payload, version, b"", frame)


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
