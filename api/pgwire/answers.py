"""An answer to one statement (columns with OIDs, rows, tag) and its wire encoding."""

from __future__ import annotations

from collections.abc import Iterator, Sequence, Set
from dataclasses import dataclass, field
from typing import Any

from api.database import Result
from api.pgwire import codec
from api.pgwire import types as t
from api.pgwire.errors import PgError
from api.pgwire.statements import command_tag


@dataclass
class Answer:
    """What a statement answers; `columns` empty means no RowDescription (NoData)."""

    tag: str
    columns: list[str] = field(default_factory=list)
    oids: list[int] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)
    deferred: bool = False
    """Only the shape of a write that has not run yet (see `api.pgwire.extended`)."""

    @classmethod
    def of_result(cls, sql: str, result: Result) -> Answer:
        """The answer of an engine statement (column OIDs from declared types, else
        values)."""
        types = result.types or (None,) * len(result.columns)
        if len(types) != len(result.columns):
            types = (None,) * len(result.columns)
        oids = [
            t.oid_of_column(declared, [row[index] for row in result.rows[:100]])
            for index, declared in enumerate(types)
        ]
        return cls(command_tag(sql, result.rowcount), list(result.columns), oids, result.rows)

    @classmethod
    def of_rows(
        cls, tag: str, columns: Sequence[str], rows: list[list[Any]], booleans: Set[str]
    ) -> Answer:
        """An answer typed from its values, except the columns named in `booleans` (the
        emulated catalogue's, where SQLite keeps booleans as 0/1)."""
        oids = []
        for index, name in enumerate(columns):
            if name in booleans:
                oids.append(t.BOOL)
                for row in rows:
                    row[index] = None if row[index] is None else bool(row[index])
            else:
                oids.append(t.oid_of_column(None, [row[index] for row in rows[:100]]))
        return cls(tag, list(columns), oids, rows)

    @classmethod
    def text(cls, tag: str, columns: Sequence[str], rows: list[list[Any]]) -> Answer:
        """An answer whose every column is text (SHOW, emulated settings)."""
        return cls(tag, list(columns), [t.TEXT] * len(columns), rows)


def formats_for(codes: Sequence[int], count: int) -> list[bool]:
    """Bind's result format codes -> binary flag per column (none: all text; one: all)."""
    if not codes:
        return [False] * count
    if len(codes) == 1:
        return [codes[0] == 1] * count
    if len(codes) != count:
        raise PgError("08P01", f"bind message has {len(codes)} result formats for {count} columns")
    return [code == 1 for code in codes]


def row_description(answer: Answer, binary: Sequence[bool]) -> bytes:
    fields = [
        (name, oid, t.type_length(oid), 1 if flag else 0)
        for name, oid, flag in zip(answer.columns, answer.oids, binary, strict=True)
    ]
    return codec.row_description(fields)


def data_rows(
    rows: Sequence[Sequence[Any]], oids: Sequence[int], binary: Sequence[bool]
) -> Iterator[bytes]:
    """DataRow messages for `rows`, each value in its column's format."""
    columns = list(zip(oids, binary, strict=True))
    for row in rows:
        if len(row) != len(columns):
            raise PgError("XX000", "row width does not match its description")
        yield codec.data_row(
            [t.encode(v, oid, flag) for v, (oid, flag) in zip(row, columns, strict=True)]
        )
