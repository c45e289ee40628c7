"""Exceptions of the log consumers (tree drawn in `projections.consumers`)."""

from __future__ import annotations


class ConsumerError(Exception):
    """Base class of every error the log consumers raise."""


class CursorError(ConsumerError):
    """A consumer's cursor file exists but cannot be read."""


class StreamVerifyError(ConsumerError):
    """A frame received from a mirror is damaged, out of order, or not signed; `lsn` is the
    first LSN that cannot be trusted."""

    def __init__(self, message: str, lsn: int) -> None:
        super().__init__(message)
        self.lsn = lsn


class HistoryUnavailableError(ConsumerError):
    """A read asked a replica for records it does not keep (at or before `base_lsn`, where
    its history begins)."""

    def __init__(self, message: str, base_lsn: int) -> None:
        super().__init__(message)
        self.base_lsn = base_lsn


class AuditError(ConsumerError):
    """The audit trail cannot be written or read."""


class AuditVerifyError(AuditError):
    """An audit file fails its seal or a line does not match the log."""


class MirrorError(ConsumerError):
    """The Kafka mirror cannot be configured or started."""
