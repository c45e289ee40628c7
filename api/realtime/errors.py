"""Exceptions of realtime (tree drawn in `api.realtime`)."""

from __future__ import annotations


class RealtimeError(Exception):
    """Base class of every error realtime raises."""


class SubscriptionError(RealtimeError):
    """A subscription request cannot be understood (bad id, tables, ops or setting)."""
