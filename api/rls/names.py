"""Identifier rules shared by the policy validator, the rewrite and the authorizer.

Physical SQLite tables are named ``"ns.table"`` (see ``projections.apply``), so a name that
itself contains a dot, or that starts like an internal table, could alias another table or
the catalogue; such names are refused wherever a principal can write one.
"""

from __future__ import annotations

from api.sql.limits import MAX_IDENTIFIER_BYTES

INTERNAL_PREFIXES = ("_bkg", "sqlite_", "pragma_")


def is_reserved(name: str) -> bool:
    """True for names that may denote internal or system tables."""
    lowered = name.lower()
    return lowered.startswith(INTERNAL_PREFIXES)


def check_identifier(name: str, error: type[Exception]) -> None:
    """Raise ``error`` unless ``name`` is a plain, non-reserved identifier of at most
    ``MAX_IDENTIFIER_BYTES`` bytes."""
    if not name or "." in name or "\x00" in name or '"' in name:
        raise error(f"identifier {name[:64]!r} is not allowed")
    if len(name.encode("utf-8", "surrogatepass")) > MAX_IDENTIFIER_BYTES:
        raise error(f"identifier {name[:24] + '...'!r} is longer than {MAX_IDENTIFIER_BYTES} bytes")
    if is_reserved(name):
        raise error(f"{name!r} names an internal table")


def split_physical(table: str) -> tuple[str, str] | None:
    """``("ns", "t")`` for the physical table name ``ns.t``; None for any other name."""
    ns, dot, name = table.partition(".")
    if not dot or not ns or not name or "." in name:
        return None
    return ns.lower(), name.lower()
