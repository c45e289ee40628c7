"""What a read replica knows of `bkg.log` beyond what it applied, and whether it is stuck.

A replica follows the primary only as far as `bkg.log` lets it: if the topic restarts
empty, or retention truncates it, before the replica read what it lost, the records the
replica needs next are gone and it stays at its applied LSN for good. Two signs tell it:

    offset lost   the topic has no message at the offset the replica resumes from (it is
                  past the end of a topic that restarted, or before the start of one that
                  was truncated); the replica reads on from the topic's start
    gap           the topic holds records beyond the next LSN the replica needs, but not
                  that one; the highest LSN seen is the primary's head as last seen

A gap can also be transient (a producer without idempotence re-sends what it left out), so
it is reported while it is open and cleared once the missing records arrive. `ReplicaStatus`
is written by the follower's thread and read by others (`/healthz`, `/metrics`): plain
attribute reads, each value consistent on its own.
"""

from __future__ import annotations

import logging

log = logging.getLogger("bkgdb.replica")

RECOVERY = (
    "the records it lacks are on the primary only: have its mirror send bkg.log again from"
    " LSN 1 (stop the primary, remove data/consumers/kafka-mirror.cursor, start it; pruned"
    " segments come from its S3 archive) and this replica catches up, or re-seed a new"
    " replica from a checkpoint (--from-checkpoint) once the topic holds the log again"
)


class ReplicaStatus:
    """The primary's head as last seen in `bkg.log`, the gap before it, and why the replica
    cannot follow (None while it can)."""

    def __init__(self) -> None:
        self.primary_head_lsn = 0
        self.gap_records = 0
        self.reason: str | None = None
        self._lost_at: int | None = None  # the applied LSN when the offset was found lost
        self._lost = ""

    def lost_offset(self, offset: int, begin: int, end: int, applied_lsn: int) -> None:
        """The topic holds offsets `begin`..`end - 1` only, not `offset` the replica was to
        read next: it restarted or was truncated."""
        self._lost_at = applied_lsn
        held = f"offsets {begin} to {end - 1}" if end > begin else "nothing"
        self._lost = f"no message at offset {offset} (it holds {held})"
        self._report()

    def observe(self, seen_lsn: int, contiguous_lsn: int, applied_lsn: int) -> None:
        """After a poll: the highest LSN seen in the topic, the last LSN received without a
        gap before it, and the LSN applied."""
        self.primary_head_lsn = max(self.primary_head_lsn, seen_lsn)
        self.gap_records = max(0, seen_lsn - contiguous_lsn)
        if self._lost_at is not None and applied_lsn > self._lost_at:
            self._lost_at = None  # records after the applied LSN arrived: the topic goes on
        self._report()

    def _report(self) -> None:
        """Set `reason`, logging when it appears, changes or clears."""
        reason = None
        if self._lost_at is not None:
            reason = (
                f"bkg.log has {self._lost}: the topic restarted or was truncated, and"
                f" nothing after LSN {self._lost_at} has arrived since"
            )
        if self.gap_records:
            missing = self.primary_head_lsn - self.gap_records + 1
            reason = (
                f"bkg.log lacks LSN {missing} (it holds records up to LSN"
                f" {self.primary_head_lsn}, {self.gap_records} ahead of this replica); it"
                " cannot follow past the gap"
            )
        if reason == self.reason:
            return
        if reason is None:
            log.info("replica follows bkg.log again")
        else:
            log.error("replica stalled: %s; %s", reason, RECOVERY)
        self.reason = reason
