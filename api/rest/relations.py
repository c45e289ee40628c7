"""Foreign keys between tables, as PostgREST's embedding sees them.

A foreign key is declared on a column (`references ns.t(col)`) or as a table constraint
(`FOREIGN KEY (a, b) REFERENCES ns.t(c, d)`); either gives one `Relation` in each direction:
many-to-one from the referencing table, one-to-many from the referenced one. Its name is
PostgREST's default constraint name, `<table>_<columns>_fkey`, so that hints written for
Supabase projects (`authors!books_author_id_fkey`) work unchanged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from api.rest.errors import RestError, no_relationship
from api.sql import Catalog, TableDef

_COLUMN_REF = re.compile(r"^\s*([\w$]+)\.([\w$]+)\s*(?:\(([^)]*)\))?\s*$")
_TABLE_FK = re.compile(
    r"FOREIGN\s+KEY\s*\(([^)]*)\)\s*REFERENCES\s+([\w$]+)\.([\w$]+)\s*(?:\(([^)]*)\))?",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class ForeignKey:
    """`table(columns)` references `target(target_columns)`."""

    table: TableDef
    columns: tuple[str, ...]
    target: TableDef
    target_columns: tuple[str, ...]

    @property
    def name(self) -> str:
        return f"{self.table.short_name}_{'_'.join(self.columns)}_fkey"


@dataclass(frozen=True)
class Relation:
    """How rows of `child` attach to a row of `parent`: `parent_columns` equal
    `child_columns`; a to-one relation embeds an object, a to-many one a list."""

    parent: TableDef
    child: TableDef
    parent_columns: tuple[str, ...]
    child_columns: tuple[str, ...]
    kind: Literal["many_to_one", "one_to_many"]
    constraint: str

    @property
    def to_one(self) -> bool:
        return self.kind == "many_to_one"


def foreign_keys(catalog: Catalog, schema: str) -> list[ForeignKey]:
    """Every foreign key between tables of `schema`."""
    found: list[ForeignKey] = []
    for table in catalog.tables.values():
        if table.schema != schema:
            continue
        for column in table.columns:
            match = _COLUMN_REF.match(column.references or "")
            if match:
                target = _target(catalog, match.group(1), match.group(2), schema)
                if target is not None:
                    found.append(_key(table, (column.name,), target, match.group(3)))
        for constraint in table.constraints:
            for match in _TABLE_FK.finditer(constraint):
                target = _target(catalog, match.group(2), match.group(3), schema)
                columns = tuple(c.strip() for c in match.group(1).split(","))
                if target is not None:
                    found.append(_key(table, columns, target, match.group(4)))
    return found


def _target(catalog: Catalog, schema: str, name: str, wanted: str) -> TableDef | None:
    return catalog.tables.get(f"{schema}.{name}") if schema == wanted else None


def _key(
    table: TableDef, columns: tuple[str, ...], target: TableDef, ref: str | None
) -> ForeignKey:
    """A key; without referenced columns, the target's primary key."""
    target_columns = (
        tuple(c.strip() for c in ref.split(",")) if ref else tuple(target.primary_key())
    )
    return ForeignKey(table, columns, target, target_columns)


def find_relation(catalog: Catalog, parent: TableDef, name: str, hint: str | None) -> Relation:
    """The relation an embed `name!hint` means from `parent`: PGRST200 when none matches,
    PGRST201 (300) when several do and no hint tells them apart."""
    candidates: list[Relation] = []
    for key in foreign_keys(catalog, parent.schema):
        if key.table.name == parent.name and key.target.short_name == name:
            candidates.append(
                Relation(
                    parent,
                    key.target,
                    key.columns,
                    key.target_columns,
                    "many_to_one",
                    key.name,
                )
            )
        if key.target.name == parent.name and key.table.short_name == name:
            candidates.append(
                Relation(
                    parent,
                    key.table,
                    key.target_columns,
                    key.columns,
                    "one_to_many",
                    key.name,
                )
            )
    if hint is not None:
        candidates = [r for r in candidates if _matches(r, hint)]
    if not candidates:
        raise no_relationship(parent.short_name, name, parent.schema)
    if len(candidates) > 1:
        names = ", ".join(r.constraint for r in candidates)
        raise RestError(
            300,
            "PGRST201",
            f"Could not embed because more than one relationship was found for"
            f" '{parent.short_name}' and '{name}'",
            f"Relationships found: {names}",
            f"Try changing '{name}' to one of the following: "
            + ", ".join(f"'{name}!{r.constraint}'" for r in candidates),
        )
    return candidates[0]


def _matches(relation: Relation, hint: str) -> bool:
    """A hint names the constraint, or a column of the key on either side."""
    columns = {*relation.parent_columns, *relation.child_columns}
    return hint == relation.constraint or (hint in columns and len(relation.child_columns) == 1)
