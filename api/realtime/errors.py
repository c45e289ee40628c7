"""Exceptions of realtime (tree drawn in `api.realtime`)."""

from __future__ import annotations


class RealtimeError(Exception):
    """Base class of every error realtime raises."""


class SubscriptionError(RealtimeError):
    """A subscription request cannot be understood (bad id, tables, ops or setting)."""


class HistoryGoneError(RealtimeError):
    """A resume position is older than the history this server can read (pruned segments
    without an archive, or a replica seeded from a checkpoint)."""
