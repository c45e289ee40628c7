"""Continuous backup of the log to an object store, and restore from it.

The archive writes to and reads from a blob store (`projections.blobs.BlobStore`: an S3
bucket/prefix in production, a local directory in tests), the same layer object storage
keeps its bytes in.

- `layout`: the names of archived files (`log/`, `active/`, `checkpoints/`).
- `archiver`: the archive consumer: sealed segments with their manifests, the durable prefix
  of the active segment as it grows, checkpoints; a durable cursor, retries and lag.
- `attachments`: files that records name (the api's object bytes), uploaded through a hook
  before the records that name them, so the archive never learns what a payload means.
- `restore`: download, verify (manifests, chain, signatures) and cut at an LSN, then hand
  over to a new signing key recorded in the log.
- `fetch`: the log's source of pruned segments, copied back from the archive and checked.
- `retention`: pruning local sealed segments the archive is known to hold.

Exceptions (`projections.archive.errors`)::

    ArchiveError
    └── RestoreError        the archive cannot be restored (incomplete, fails verification,
                            target directory not empty, LSN out of range)
"""
