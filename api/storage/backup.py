"""Object bytes of the local backend in the continuous archive, and back in a restore.

With the local backend, bytes live only in data/objects/, which the log does not hold. So
the archive consumer is given `blob_attachments`: each `object.created` / `object.replaced`
record names its blob, which the archiver uploads to `archive/objects/<blob key>` before
the record counts as archived. Blobs of replaced and deleted objects stay in the archive,
so a restore to an earlier LSN finds the bytes the objects had then.

`restore_blobs` brings back the blobs of the objects live in a restored projection, each
checked against the size and SHA-256 its metadata records. An object whose blob is not
archived but is under `objects/` of the same bucket and prefix lives on the s3 backend and
needs nothing; one found in neither place fails the restore, naming the object.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from pathlib import Path

from api.storage import meta
from api.storage.errors import StorageError
from api.storage.names import check_object_name
from eventlog import Record
from projections.archive.attachments import Attachments
from projections.archive.errors import RestoreError
from projections.blobs.blobstore import BlobStore, list_all
from projections.blobs.errors import BlobError, LengthMismatchError
from projections.blobs.local import LocalBlobStore

ARCHIVED_BLOBS = "archive/objects/"
S3_BACKEND_BLOBS = "objects/"
"""Where the s3 backend keeps blobs, under the same prefix as the archive."""
PARALLEL_DOWNLOADS = 4
Progress = Callable[[int, int], None]


def blob_attachments(objects_dir: Path) -> Attachments:
    """The archiver's `attachments` for objects on the local backend under `objects_dir`."""

    def attachments(record: Record) -> Iterable[tuple[str, Path]]:
        payload = record.payload
        if record.kind != "storage" or not isinstance(payload, dict):
            return ()
        if payload.get("type") not in (meta.OBJECT_CREATED, meta.OBJECT_REPLACED):
            return ()
        blob: str = payload["blob"]
        return ((ARCHIVED_BLOBS + blob, objects_dir / blob),)

    return attachments


def restore_blobs(
    remote: BlobStore,
    objects: list[meta.ObjectMeta],
    objects_dir: Path,
    progress: Progress | None = None,
) -> tuple[int, int]:
    """Download the archived blob of every object in `objects` into `objects_dir`, several
    at a time; returns (objects downloaded, bytes)."""
    archived = {key.removeprefix(ARCHIVED_BLOBS) for key in list_all(remote, ARCHIVED_BLOBS)}
    wanted = [found for found in objects if found.blob in archived]
    _check_elsewhere(remote, [found for found in objects if found.blob not in archived])
    store = LocalBlobStore(objects_dir)
    total, done = sum(found.size for found in wanted), 0
    pool = ThreadPoolExecutor(PARALLEL_DOWNLOADS, thread_name_prefix="bkg-restore-blob")
    try:
        for size in pool.map(lambda found: _fetch(remote, store, found), wanted):
            done += size
            if progress:
                progress(done, total)
    finally:
        pool.shutdown(cancel_futures=True)  # after a failure, the rest is not downloaded
    return len(wanted), done


def _check_elsewhere(remote: BlobStore, objects: list[meta.ObjectMeta]) -> None:
    """Objects whose blobs the archive lacks must be on the s3 backend."""
    if not objects:
        return
    on_s3 = {key.removeprefix(S3_BACKEND_BLOBS) for key in list_all(remote, S3_BACKEND_BLOBS)}
    for found in objects:
        if found.blob not in on_s3:
            raise RestoreError(
                f"object {found.bucket}/{found.name} (LSN {found.lsn}): its bytes (blob"
                f" {found.blob}) are neither in the archive nor in the s3 object store"
            )


def _fetch(remote: BlobStore, store: LocalBlobStore, found: meta.ObjectMeta) -> int:
    """One blob, streamed into place and checked; a blob that does not match is removed."""
    name = f"object {found.bucket}/{found.name} (LSN {found.lsn}, blob {found.blob})"
    try:
        check_object_name(found.blob)
        written = store.put(found.blob, remote.get(ARCHIVED_BLOBS + found.blob), found.size)
    except LengthMismatchError as exc:
        raise RestoreError(f"{name}: the archived blob is not {found.size} bytes: {exc}") from exc
    except (StorageError, BlobError) as exc:
        raise RestoreError(f"{name}: its bytes could not be restored: {exc}") from exc
    if written.sha256 != found.sha256:
        with suppress(BlobError):
            store.delete(found.blob)
        raise RestoreError(f"{name}: the archived bytes do not match its SHA-256")
    return written.size
