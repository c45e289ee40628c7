"""Exceptions raised by the projections (drawn in the package docstring of `projections`)."""

from __future__ import annotations


class ProjectionError(Exception):
    """Base class of every error the projections raise."""


class StoreLockedError(ProjectionError):
    """Another process holds the projection store (a server, or a running rebuild)."""


class LsnOutOfRangeError(ProjectionError):
    """A requested LSN is negative or beyond the durable head of the log."""

    def __init__(self, message: str, lsn: int, head_lsn: int) -> None:
        super().__init__(message)
        self.lsn = lsn
        self.head_lsn = head_lsn


class CheckpointError(ProjectionError):
    """A checkpoint could not be written."""


class InvalidCheckpointError(CheckpointError):
    """A checkpoint failed validation (signature, file hash, chain hash or format)."""


class FoldError(ProjectionError):
    """A fold function raised on a durable record; its effects were rolled back.

    The record stays in the log and counts as applied, so live state and every replay agree.
    """

    def __init__(self, message: str, lsn: int) -> None:
        super().__init__(message)
        self.lsn = lsn


class PipelineClosedError(ProjectionError):
    """A write was submitted to, or was pending in, a commit pipeline that has stopped."""


class AppendFailedError(ProjectionError):
    """The log could not make a write durable; the write changed nothing."""


class StoreDamagedError(ProjectionError):
    """The projection file is damaged (SQLite found it malformed); nothing read from it can
    be trusted, so reads and writes are refused until it is rebuilt from the log (the next
    start does that: a damaged store is never marked clean)."""


class StatementCanceledError(ProjectionError):
    """Work ran past its deadline or was cancelled; it changed nothing (the message says
    why, in Postgres' words)."""
