"""Exceptions of the archive (tree drawn in `projections.archive`)."""

from __future__ import annotations


class ArchiveError(Exception):
    """Base class of every error of the archive and restore."""


class RestoreError(ArchiveError):
    """The archive cannot be restored as asked; the message says why."""
