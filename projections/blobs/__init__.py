"""The blob layer: byte streams under keys, on local disk or in S3, below both object
storage (`api.storage`, the bytes of objects) and the archive (`projections.archive`, log
segments and checkpoints). It knows keys and bytes, nothing of what they mean.

- `blobstore`: the `BlobStore` interface every store implements, `BlobInfo`, `Written`,
  and `HashingChunks` (size and SHA-256 taken while a put streams); `file_chunks`,
  `list_all` and `exists`, helpers over any store.
- `local`: `LocalBlobStore`, files under one directory written crash-safely.
- `s3`: `S3BlobStore` and `S3Location`, any S3-compatible service through minio.
- `cache`: `CachedBlobStore`, a bounded local copy of a remote store's recent blobs.

One contract test suite (`tests/storage/test_blobstore.py`) runs against every store.

Exceptions (`projections.blobs.errors`)::

    BlobError
    ├── BlobNotFoundError       no blob under the key
    ├── BlobConflictError       the key clashes with another (local disk: `a` and `a/b`)
    ├── LengthMismatchError     the stream's size is not the declared one; nothing stored
    └── BlobUnavailableError    S3 refused or unreachable; nothing happened
"""
