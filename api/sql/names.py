"""Namespace names: the one rule for CREATE SCHEMA, API keys, JWT ``ns``, policies, storage.

A namespace is a SQL schema, and every door that names one checks it here, so a schema an
admin can create is exactly a namespace a key can be issued for, and the other way round.
A valid name is 1-63 of ``a-z``, ``0-9`` and ``_``, not starting with a digit (an unquoted
Postgres identifier, folded to lower case), and not reserved:

- schemas whose tables stand for something of the server's own: ``storage`` (object
  policies are written on ``storage.objects``), ``auth`` (``auth.uid()``), ``realtime``,
  ``extensions``, ``information_schema``;
- SQLite's schema names ``main`` and ``temp`` (capture tables live in ``temp``);
- the prefixes of system and internal names: ``pg_`` (as in Postgres, SQLSTATE 42939),
  ``sqlite_``, ``_bkg`` and ``bkg_`` (internal tables are ``_bkg_*``), and ``bkg`` itself.

Names accepted before this rule stay readable in old logs (replay does not re-check them),
but no new schema, key, token or policy can use them.
"""

from __future__ import annotations

import re

MAX_NAMESPACE_LENGTH = 63
NAMESPACE_RE = re.compile(r"[a-z_][a-z0-9_]{0,62}")
RESERVED_NAMESPACES = frozenset(
    {"storage", "auth", "realtime", "extensions", "information_schema", "main", "temp", "bkg"}
)
RESERVED_PREFIXES = ("pg_", "sqlite_", "_bkg", "bkg_")


def namespace_problem(name: object) -> str | None:
    """Why ``name`` cannot be a namespace, or None when it can."""
    if not isinstance(name, str) or not NAMESPACE_RE.fullmatch(name):
        shown = repr(name)[:80]
        return (
            f"{shown} is not a namespace name: 1-{MAX_NAMESPACE_LENGTH} of a-z, 0-9, '_',"
            " not starting with a digit"
        )
    if name in RESERVED_NAMESPACES or name.startswith(RESERVED_PREFIXES):
        return f"{name!r} is a reserved name"
    return None


def is_namespace(name: object) -> bool:
    """True when ``name`` is a valid, unreserved namespace name."""
    return namespace_problem(name) is None
