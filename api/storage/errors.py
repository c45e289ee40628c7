"""Exceptions of object storage (tree drawn in `api.storage`); HTTP codes in brackets are
what `api.http.errors` turns them into."""

from __future__ import annotations


class StorageError(Exception):
    """Base class of every error object storage raises."""


class NotFoundError(StorageError):
    """An unknown bucket, object or upload [404 NOT_FOUND]."""


class BadObjectRequestError(StorageError):
    """A request that can never succeed as sent [400 BAD_REQUEST]."""


class InvalidKeyError(BadObjectRequestError):
    """An object name that is empty, too long, or escapes its bucket (`..`, `/x`, NUL)."""


class TooLargeError(BadObjectRequestError):
    """An upload larger than the bucket's or the server's limit."""


class BadMimeTypeError(BadObjectRequestError):
    """An upload of a type its bucket's `allowed_mime_types` do not name [415]."""


class RangeNotSatisfiableError(BadObjectRequestError):
    """A Range header outside the object [416]."""

    def __init__(self, message: str, size: int) -> None:
        super().__init__(message)
        self.size = size


class ConflictError(StorageError):
    """A bucket that exists already, or an upload at the wrong offset [409 CONFLICT]."""


class ForbiddenError(StorageError):
    """The caller may not do this to this object, or a signed URL is expired or tampered
    with [403 FORBIDDEN]."""
