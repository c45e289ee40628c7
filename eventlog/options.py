"""Tunables of the log writer, with defaults that suit a single server."""

from __future__ import annotations

from dataclasses import dataclass

MIB = 1024 * 1024


@dataclass(frozen=True)
class LogOptions:
    """How the writer groups, syncs and rotates.

    `batch_delay_s` waits a little for more appenders before a group is written: zero is
    right for most loads because appenders arriving during one fsync form the next group.
    """

    segment_bytes: int = 64 * MIB
    max_batch: int = 2048
    max_batch_bytes: int = 8 * MIB
    batch_delay_s: float = 0.0
    index_every: int = 64
    max_record_bytes: int = 16 * MIB

    def __post_init__(self) -> None:
        if self.segment_bytes < 4096:
            raise ValueError("segment_bytes must be at least 4096")
        if self.max_batch < 1 or self.max_batch_bytes < 1 or self.index_every < 1:
            raise ValueError("max_batch, max_batch_bytes and index_every must be positive")
        if self.batch_delay_s < 0:
            raise ValueError("batch_delay_s cannot be negative")
