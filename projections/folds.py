"""The fold registry: which function folds a log record of a given kind into the projection.

"ddl" and "dml" records carry row images and are applied with `fold_sql`; the folds of the
other kinds ("auth", "policy", "storage") live with the packages that own them. Which kinds
are folded is decided in one place, `api.folds.all_folds()`, which builds the registry
every database, rebuild, replay and replica uses; this package keeps no registry of its
own. A kind without a fold only advances the applied LSN, so old stores keep working when
new kinds appear. Every fold runs inside a savepoint: a fold that raises is
rolled back and reported, and the record still counts as applied, so the live store and every
replay of the log end in the same state.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from typing import Any, Protocol

from projections.apply import apply_changes
from projections.errors import FoldError

logger = logging.getLogger(__name__)


class Event(Protocol):
    """What a fold sees of a record: `eventlog.Record` satisfies it, and so does a record
    that the commit pipeline has submitted but not yet read back."""

    @property
    def lsn(self) -> int: ...
    @property
    def ts_us(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def actor(self) -> str: ...
    @property
    def namespace(self) -> str | None: ...
    @property
    def payload(self) -> Any: ...


Fold = Callable[[sqlite3.Connection, Event], None]


class FoldRegistry:
    """Maps a record kind to the function that folds it into a SQLite connection."""

    def __init__(self) -> None:
        self._folds: dict[str, Fold] = {}

    def register(self, kind: str, fold: Fold) -> None:
        """Register `fold` for `kind`; registering the same function again is a no-op and a
        different function for a taken kind is a programming error."""
        current = self._folds.get(kind)
        if current is not None and current is not fold:
            raise ValueError(f"a fold for kind {kind!r} is already registered")
        self._folds[kind] = fold

    def fold_for(self, kind: str) -> Fold | None:
        """The fold for `kind`, or None when records of that kind only advance the LSN."""
        return self._folds.get(kind)

    def kinds(self) -> list[str]:
        """The kinds that have a fold, sorted."""
        return sorted(self._folds)


def fold_sql(conn: sqlite3.Connection, event: Event) -> None:
    """Apply the row images and DDL of a "ddl"/"dml" record, never its SQL text."""
    apply_changes(conn, event.payload["changes"])


def apply_event(conn: sqlite3.Connection, event: Event, registry: FoldRegistry) -> FoldError | None:
    """Fold one record inside the caller's transaction; return the error if the fold failed.

    The fold runs in a savepoint so that a failing fold leaves no partial effects.
    """
    fold = registry.fold_for(event.kind)
    if fold is None:
        return None
    conn.execute("SAVEPOINT bkg_fold")
    try:
        fold(conn, event)
    except Exception as exc:
        conn.execute("ROLLBACK TO bkg_fold")
        conn.execute("RELEASE bkg_fold")
        logger.warning("fold of %s record at LSN %d failed: %s", event.kind, event.lsn, exc)
        error = FoldError(
            f"fold of {event.kind} record at LSN {event.lsn} failed: {exc}", event.lsn
        )
        error.__cause__ = exc
        return error
    conn.execute("RELEASE bkg_fold")
    return None
