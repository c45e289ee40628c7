"""Continuous backup of the log to an object store, and restore from it.

- `layout`: the names of archived files (`log/`, `active/`, `checkpoints/`).
- `remote`: the `Remote` protocol the archive writes to (an S3 bucket/prefix in production;
  `api.storage` provides it, this package never imports `api`).
- `archiver`: the archive consumer: sealed segments with their manifests, the durable prefix
  of the active segment as it grows, checkpoints; a durable cursor, retries and lag.
- `attachments`: files that records name (the api's object bytes), uploaded through a hook
  before the records that name them, so the archive never learns what a payload means.
- `restore`: download, verify (manifests, chain, signatures) and cut at an LSN, then hand
  over to a new signing key recorded in the log.

Exceptions (`projections.archive.errors`)::

    ArchiveError
    └── RestoreError        the archive cannot be restored (incomplete, fails verification,
                            target directory not empty, LSN out of range)
"""
