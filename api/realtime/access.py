"""What one subscriber may see: its `tables` and `ops` filters, its namespace, and row-level
security evaluated on the row images.

Admins see everything; namespace keys see their namespace; users see their namespace's DDL
and the rows their policies let them SELECT at the moment the change is fanned out (policy
subqueries read the projection's current state), exactly as ``/query`` would answer them;
object events (``storage.objects``) pass the object policies' ``select``, as a download would.

For a user, an event is decided by its rows (`View`): an insert or update by the new row, a
delete by the old one; not visible, it is not sent. An update whose new row is visible but
whose old row is not (a row moved to the user by someone else) is sent with ``old`` reduced
to the primary key, as Supabase does: the user learns that the row arrived, never what it
was while it belonged to someone else.
"""

from __future__ import annotations

import enum
import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from api.auth.principal import Principal
from api.realtime.errors import SubscriptionError
from api.realtime.events import OBJECTS_TABLE, OPS, ChangeEvent
from api.rls.policy import PolicySet
from api.rls.rowfilter import RowFilter
from api.storage.access import allowed as objects_allowed

MAX_TABLES = 100


class View(enum.Enum):
    """What a subscriber gets of one change: nothing, the event, or the event with ``old``
    reduced to the primary key."""

    HIDDEN = "hidden"
    FULL = "full"
    KEYED = "keyed"


@dataclass(frozen=True)
class Filters:
    """The `tables` (qualified names; None: every table) and `ops` a subscriber asked for."""

    tables: frozenset[str] | None
    ops: frozenset[str]


def parse_filters(tables: str | None, ops: str | None, principal: Principal) -> Filters:
    """Filters from the query parameters; unqualified tables resolve to the principal's
    namespace (admin: ``public``)."""
    chosen_ops = frozenset(OPS)
    if ops:
        chosen_ops = frozenset(o.strip().lower() for o in ops.split(",") if o.strip())
        unknown = sorted(chosen_ops - set(OPS))
        if unknown or not chosen_ops:
            raise SubscriptionError(f"ops must be a list of {', '.join(OPS)}; got {ops!r}")
    if not tables:
        return Filters(None, chosen_ops)
    names = [t.strip() for t in tables.split(",") if t.strip()]
    if not names or len(names) > MAX_TABLES:
        raise SubscriptionError(f"tables must name 1 to {MAX_TABLES} tables")
    qualified = frozenset(n if "." in n else f"{principal.default_namespace}.{n}" for n in names)
    return Filters(qualified, chosen_ops)


class Access:
    """One subscriber's principal and filters; RLS through a `RowFilter` rebuilt whenever the
    policy set changes."""

    __slots__ = ("_policies", "_rows", "filters", "key", "principal", "signature")

    def __init__(self, principal: Principal, filters: Filters) -> None:
        self.principal = principal
        self.filters = filters
        claims = json.dumps(dict(principal.claims), sort_keys=True, default=str)
        self.key = (principal.kind, principal.id, principal.default_namespace, claims)
        self.signature = (
            principal.kind, principal.id, principal.namespace, principal.sub, principal.key_id,
            claims, filters,
        )  # fmt: skip
        """Every input of what this access lets through (the whole principal and the
        filters): accesses with equal signatures see exactly the same events."""
        self._policies: PolicySet | None = None
        self._rows: RowFilter | None = None

    @property
    def uses_rls(self) -> bool:
        """True when visibility depends on the row (user principals)."""
        return not self.principal.bypasses_rls

    def matches(self, event: ChangeEvent) -> bool:
        """The filters and the namespace (no SQL involved)."""
        filters = self.filters
        if event.op not in filters.ops:
            return False
        if filters.tables is not None and event.table not in filters.tables:
            return False
        return self.principal.kind == "admin" or event.namespace == self.principal.namespace

    def view(self, conn: sqlite3.Connection, event: ChangeEvent, policies: PolicySet) -> View:
        """Row-level security on the event's images (call only after `matches`)."""
        if event.image is None or not self.uses_rls:
            return View.FULL
        if not self._visible(conn, event.table, event.image, policies):
            return View.HIDDEN
        if event.old is not None and not self._visible(conn, event.table, event.old, policies):
            return View.KEYED
        return View.FULL

    def _visible(
        self, conn: sqlite3.Connection, table: str, row: Mapping[str, Any], policies: PolicySet
    ) -> bool:
        if table == OBJECTS_TABLE:
            return objects_allowed(conn, policies, self.principal, "select", row)
        if self._rows is None or policies is not self._policies:
            self._policies, self._rows = policies, RowFilter(policies, self.principal)
        return self._rows.visible(conn, table, row)
