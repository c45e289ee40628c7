"""SQL cursors: `DECLARE name CURSOR [WITH HOLD] FOR query`, `FETCH [count] FROM name`,
`CLOSE name | ALL` (what psycopg's server-side cursors and psql's FETCH_COUNT send).

A cursor's query runs when it is declared, under the statement's governance, and its
answer (bounded by the server's result limits, like any answer) is kept in the session;
FETCH hands it out in pieces. Without `WITH HOLD` a cursor lives in its transaction block
only, as in Postgres. Backward and absolute movement, `SCROLL` and `BINARY` cursors are not
supported (0A000).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from api.pgwire.answers import Answer
from api.pgwire.errors import PgError

MAX_CURSORS = 64
"""Cursors one session may hold open at once (each keeps its bounded answer)."""
_NAME = r'("[^"]+"|[A-Za-z_]\w*)'
_DECLARE = re.compile(
    rf"^\s*DECLARE\s+{_NAME}\s+(BINARY\s+)?((?:NO\s+)?SCROLL\s+)?(?:ASENSITIVE\s+|INSENSITIVE\s+)?"
    r"CURSOR\s+(?:(WITH|WITHOUT)\s+HOLD\s+)?FOR\s+(.*?)\s*;?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_FETCH = re.compile(
    rf"^\s*FETCH\s+(?:(NEXT|ALL|FORWARD\s+ALL|FORWARD\s+\d+|FORWARD|\d+)\s+)?(?:FROM\s+|IN\s+)?"
    rf"{_NAME}\s*;?\s*$",
    re.IGNORECASE,
)
_CLOSE = re.compile(rf"^\s*CLOSE\s+(ALL|{_NAME})\s*;?\s*$", re.IGNORECASE)
_FIRST_WORD = re.compile(r"^\s*(DECLARE|FETCH|MOVE|CLOSE)\b", re.IGNORECASE)


@dataclass(frozen=True)
class CursorStatement:
    """A parsed cursor statement: `kind` is declare, fetch or close."""

    kind: str
    name: str
    query: str = ""
    hold: bool = False
    count: int | None = None
    """Rows a FETCH takes (None: all that remain)."""


@dataclass
class Cursor:
    """An open cursor: its answer and how far FETCH has read it."""

    answer: Answer
    hold: bool
    position: int = field(default=0)

    def fetch(self, count: int | None) -> Answer:
        end = len(self.answer.rows) if count is None else self.position + count
        rows = self.answer.rows[self.position : end]
        self.position += len(rows)
        return Answer(f"FETCH {len(rows)}", self.answer.columns, self.answer.oids, rows)

    def shape(self) -> Answer:
        return Answer("FETCH 0", self.answer.columns, self.answer.oids, [])


def cursor_statement(sql: str) -> CursorStatement | None:
    """The cursor statement `sql` is, or None; 0A000 for cursor forms not supported."""
    first = _FIRST_WORD.match(sql)
    if first is None:
        return None
    word = first.group(1).upper()
    if word == "DECLARE" and (match := _DECLARE.match(sql)):
        if match.group(2) or (match.group(3) and "NO" not in match.group(3).upper()):
            raise PgError("0A000", "BINARY and SCROLL cursors are not supported")
        hold = (match.group(4) or "").upper() == "WITH"
        return CursorStatement("declare", _unquote(match.group(1)), match.group(5), hold)
    if word == "FETCH" and (match := _FETCH.match(sql)):
        return CursorStatement("fetch", _unquote(match.group(2)), count=_count(match.group(1)))
    if word == "CLOSE" and (match := _CLOSE.match(sql)):
        name = match.group(1)
        return CursorStatement("close", "" if name.upper() == "ALL" else _unquote(name))
    raise PgError("0A000", f"this form of {word} is not supported")


def _unquote(name: str) -> str:
    return name[1:-1] if name.startswith('"') else name.lower()


def _count(direction: str | None) -> int | None:
    if direction is None:
        return 1
    words = direction.upper().split()
    if words[-1] == "ALL":
        return None
    if words[-1].isdigit():
        return int(words[-1])
    return 1  # NEXT, FORWARD


class Cursors:
    """A session's open cursors."""

    def __init__(self) -> None:
        self.open: dict[str, Cursor] = {}

    def declare(self, name: str, answer: Answer, hold: bool) -> Answer:
        if name in self.open:
            raise PgError("42P03", f'cursor "{name}" already exists')
        if len(self.open) >= MAX_CURSORS:
            raise PgError("54000", f"a session holds at most {MAX_CURSORS} cursors")
        self.open[name] = Cursor(answer, hold)
        return Answer("DECLARE CURSOR")

    def get(self, name: str) -> Cursor:
        found = self.open.get(name)
        if found is None:
            raise PgError("34000", f'cursor "{name}" does not exist')
        return found

    def close(self, name: str) -> Answer:
        if not name:
            self.open.clear()
        elif self.open.pop(name, None) is None:
            raise PgError("34000", f'cursor "{name}" does not exist')
        return Answer("CLOSE CURSOR")

    def end_block(self) -> None:
        """A transaction block ended: its cursors without WITH HOLD close."""
        self.open = {name: c for name, c in self.open.items() if c.hold}
