"""Event ids and positions in the change sequence.

An event id is ``<lsn>.<index>``: the record's LSN and the change's position in the record's
``changes`` list. A position names where a stream stands: after change ``index`` of record
``lsn``, or (``index`` None, written ``<lsn>``) after the whole record ``lsn``. Resuming from a
position delivers exactly the changes that come after it.
"""

from __future__ import annotations

from dataclasses import dataclass

from api.realtime.errors import SubscriptionError


@dataclass(frozen=True, slots=True)
class Position:
    """After change `index` of record `lsn`; after the whole record when `index` is None."""

    lsn: int
    index: int | None = None

    @property
    def done_through(self) -> int:
        """The last record this position is wholly past (a record it stands inside is not)."""
        return self.lsn if self.index is None else self.lsn - 1

    def precedes(self, lsn: int, index: int) -> bool:
        """True when change `index` of record `lsn` comes after this position."""
        if lsn != self.lsn:
            return lsn > self.lsn
        return self.index is not None and index > self.index

    def __str__(self) -> str:
        return str(self.lsn) if self.index is None else f"{self.lsn}.{self.index}"


def event_id(lsn: int, index: int) -> str:
    """The SSE id of change `index` of record `lsn`."""
    return f"{lsn}.{index}"


def parse_position(text: str) -> Position:
    """An id as a client sends it back (``Last-Event-ID``): ``<lsn>.<index>`` or ``<lsn>``."""
    lsn_text, dot, index_text = text.strip().partition(".")
    try:
        lsn = int(lsn_text)
        index = int(index_text) if dot else None
    except ValueError as exc:
        raise SubscriptionError(f"event id {text!r} is not <lsn>.<index>") from exc
    if lsn < 0 or (index is not None and index < 0):
        raise SubscriptionError(f"event id {text!r} has a negative part")
    return Position(lsn, index)


def start_position(last_event_id: str | None, from_lsn: int | None) -> Position | None:
    """Where a subscription resumes: after `Last-Event-ID`, else before record `from_lsn`
    (inclusive, as ``bkgdb tail --from-lsn``), else None (from the hub's position)."""
    if last_event_id:
        return parse_position(last_event_id)
    if from_lsn is None:
        return None
    if from_lsn < 1:
        raise SubscriptionError("from_lsn must be 1 or more")
    return Position(from_lsn - 1)
