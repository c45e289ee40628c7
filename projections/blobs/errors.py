"""Exceptions of the blob layer (tree drawn in `projections.blobs`). Its users translate
them at their own boundary: object storage's HTTP routes to status codes, the archive and
restore to their own errors."""

from __future__ import annotations


class BlobError(Exception):
    """Base class of every error a blob store raises."""


class BlobNotFoundError(BlobError):
    """No blob under the key (raised before the first chunk of a read)."""


class BlobConflictError(BlobError):
    """The key cannot be stored where another one is (local disk: `a` and `a/b`)."""


class LengthMismatchError(BlobError):
    """The chunks did not have the size the put declared; nothing was stored."""


class BlobUnavailableError(BlobError):
    """The remote store (S3) refused or could not be reached; the operation did not happen
    (a put stored nothing). Local disk failures stay `OSError`."""
