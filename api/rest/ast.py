"""The typed form of a PostgREST request's query string (what `api.rest.grammar` parses).

Nothing here knows SQL or the catalogue: names are as the client wrote them, values are
strings (PostgREST sends every value as text and lets Postgres coerce it). The SQL builder
(`api.rest.build`) validates every name against the catalogue before using it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

JsonOp = Literal["->", "->>"]
LogicOp = Literal["and", "or"]
Operator = Literal[
    "eq",
    "neq",
    "gt",
    "gte",
    "lt",
    "lte",
    "like",
    "ilike",
    "match",
    "imatch",
    "is",
    "isdistinct",
    "in",
    "cs",
    "cd",
    "ov",
    "fts",
    "plfts",
    "phfts",
    "wfts",
]
OPERATORS: tuple[Operator, ...] = (
    "eq",
    "neq",
    "gt",
    "gte",
    "lt",
    "lte",
    "like",
    "ilike",
    "match",
    "imatch",
    "is",
    "isdistinct",
    "in",
    "cs",
    "cd",
    "ov",
    "fts",
    "plfts",
    "phfts",
    "wfts",
)
TEXT_SEARCH: frozenset[str] = frozenset({"fts", "plfts", "phfts", "wfts"})


@dataclass(frozen=True)
class JsonStep:
    """One `->key` or `->>key` step; `key` is a name or an array index (digits, maybe `-`)."""

    op: JsonOp
    key: str


@dataclass(frozen=True)
class Field:
    """A column, possibly followed by a JSON path: `data->a->>b`."""

    name: str
    path: tuple[JsonStep, ...] = ()


@dataclass(frozen=True)
class Column:
    """A select item that is a column: `alias:col->path::cast`."""

    field: Field
    alias: str | None = None
    cast: str | None = None


@dataclass(frozen=True)
class Star:
    """`*`: every column of the table."""


@dataclass(frozen=True)
class Embed:
    """An embedded resource: `alias:rel!hint!inner(items)`."""

    name: str
    items: tuple[SelectItem, ...]
    alias: str | None = None
    hint: str | None = None
    join: Literal["left", "inner"] = "left"

    @property
    def label(self) -> str:
        """The key the embedded value is returned under."""
        return self.alias or self.name


SelectItem = Column | Star | Embed


@dataclass(frozen=True)
class Filter:
    """`field=[not.]op[(modifier)].value`. `value` is the raw text, except for `in`, whose
    items are split (`values`); `modifier` is the language of a text search."""

    field: Field
    op: Operator
    value: str = ""
    values: tuple[str, ...] = ()
    negated: bool = False
    modifier: str | None = None


@dataclass(frozen=True)
class Logic:
    """`or=(...)`, `and=(...)`, `not.or(...)`: a tree of conditions."""

    op: LogicOp
    children: tuple[Condition, ...]
    negated: bool = False


Condition = Filter | Logic


@dataclass(frozen=True)
class OrderTerm:
    """One `order=` term: `col.desc.nullslast`, or `rel(col).asc` on a to-one embed."""

    field: Field
    relation: str | None = None
    descending: bool = False
    nulls: Literal["first", "last"] | None = None


Path = tuple[str, ...]
"""Where a condition, order or limit applies: () for the table, ("rel",) for an embed."""


@dataclass
class ReadQuery:
    """Everything a query string asks for."""

    select: tuple[SelectItem, ...] = (Star(),)
    conditions: dict[Path, list[Condition]] = field(default_factory=dict)
    order: dict[Path, tuple[OrderTerm, ...]] = field(default_factory=dict)
    limit: dict[Path, int] = field(default_factory=dict)
    offset: dict[Path, int] = field(default_factory=dict)
    columns: tuple[str, ...] | None = None
    on_conflict: tuple[str, ...] | None = None
