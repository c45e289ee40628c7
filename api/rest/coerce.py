"""Filter values, which arrive as text, as values of their column's type.

PostgREST leaves this to Postgres, which reads a quoted literal as the column's type. SQLite
compares a number column with text by the column's affinity, but not a boolean (stored as
0/1) with `true`; and text that is no number would silently match nothing. So values of
boolean and numeric columns are converted here, and text that is not of the type is
Postgres' 22P02 (400), as PostgREST answers.
"""

from __future__ import annotations

import re
from typing import Any

from api.rest.errors import RestError
from api.sql.catalog import ColumnDef

TRUE = frozenset({"true", "t", "yes", "y", "on", "1"})
FALSE = frozenset({"false", "f", "no", "n", "off", "0"})
BOOLEAN_TYPES = frozenset({"bool", "boolean"})
_INTEGER = re.compile(r"\s*[+-]?[0-9]{1,19}\s*")


def typed_value(column: ColumnDef, text: str) -> Any:
    """`text` as a value of `column`'s type (unchanged for text-like columns)."""
    kind = column.type.lower()
    if kind in BOOLEAN_TYPES:
        lowered = text.strip().lower()
        if lowered in TRUE:
            return True
        if lowered in FALSE:
            return False
        raise _invalid("boolean", text)
    if column.affinity == "INTEGER":
        if not _INTEGER.fullmatch(text):
            raise _invalid("integer", text)
        return int(text)
    if column.affinity in ("REAL", "NUMERIC") and "json" not in kind:
        try:
            return float(text) if not _INTEGER.fullmatch(text) else int(text)
        except ValueError:
            raise _invalid("numeric", text) from None
    return text


def _invalid(kind: str, text: str) -> RestError:
    shown = text if len(text) <= 100 else text[:100] + "..."
    return RestError(400, "22P02", f'invalid input syntax for type {kind}: "{shown}"')
