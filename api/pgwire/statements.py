"""What the session decides before the engine sees a statement: how a query string splits
into statements, which ones are session control (transactions, SET, SHOW), and the
CommandComplete tag of each."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlglot.errors import TokenError
from sqlglot.tokenizer_core import TokenType

from api.sql.reader import BkgPostgres

_DIALECT = BkgPostgres()
_COMMENTS = re.compile(r"^(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/)*", re.DOTALL)
_WORDS = re.compile(r"[A-Za-z_]+")
_SET = re.compile(
    r"^SET\s+(?:SESSION\s+|LOCAL\s+)?([A-Za-z_][\w.]*)\s*(?:=|\s+TO\s+|\s)\s*(.*?)\s*;?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_SET_TIME_ZONE = re.compile(r"^SET\s+(?:SESSION\s+|LOCAL\s+)?TIME\s+ZONE\s+(.*?)\s*;?\s*$", re.I)
_SHOW = re.compile(r"^SHOW\s+([A-Za-z_][\w.]*|ALL)\s*;?\s*$", re.IGNORECASE)
_SHOW_ALIASES = {
    "transaction isolation level": "transaction_isolation",
    "time zone": "timezone",
    "session authorization": "session_authorization",
}
_RESET = re.compile(r"^RESET\s+([A-Za-z_][\w.]*|ALL)\s*;?\s*$", re.IGNORECASE)
_SAVEPOINT = re.compile(
    r"^(?:SAVEPOINT|RELEASE(?:\s+SAVEPOINT)?|ROLLBACK(?:\s+WORK|\s+TRANSACTION)?\s+TO"
    r"(?:\s+SAVEPOINT)?)\s+\"?([A-Za-z_]\w*)\"?\s*;?\s*$",
    re.IGNORECASE,
)
_DDL_TAGS = {"CREATE", "DROP", "ALTER"}
_DDL_OBJECTS = {"TABLE", "INDEX", "SCHEMA", "VIEW", "SEQUENCE", "TYPE", "EXTENSION"}


def split(sql: str) -> list[str]:
    """The statements of a simple-query string, in order, without empty ones (a string
    that does not tokenize is one statement: running it reports the syntax error)."""
    try:
        tokens = _DIALECT.tokenize(sql)
    except TokenError:
        return [sql.strip()] if sql.strip() else []
    pieces: list[str] = []
    first: int | None = None
    last = 0
    for token in tokens:
        if token.token_type == TokenType.SEMICOLON:
            if first is not None:
                pieces.append(sql[first : last + 1])
            first = None
            continue
        if first is None:
            first = token.start
        last = token.end
    if first is not None:
        pieces.append(sql[first:].rstrip())
    return pieces


def strip_comments(sql: str) -> str:
    return sql[_COMMENTS.match(sql).end() :]  # type: ignore[union-attr]


def first_words(sql: str, count: int = 2) -> list[str]:
    """The statement's first keywords, upper-cased (comments skipped)."""
    return [w.upper() for w in _WORDS.findall(strip_comments(sql)[:200])[:count]]


@dataclass(frozen=True)
class Control:
    """A session-control statement: `kind` is begin, commit, rollback, savepoint,
    release, rollback_to, set, reset, show, deallocate or noop; `name` (and `value` for set)."""

    kind: str
    name: str = ""
    value: str = ""


_TRANSACTION = {
    "BEGIN": "begin",
    "START": "begin",
    "COMMIT": "commit",
    "END": "commit",
    "ROLLBACK": "rollback",
    "ABORT": "rollback",
}


def control(sql: str) -> Control | None:
    """The session-control meaning of a statement, or None for the engine's statements."""
    words = first_words(sql)
    if not words:
        return None
    head = words[0]
    text = strip_comments(sql).strip()
    if match := _SAVEPOINT.match(text):
        kind = {"SAVEPOINT": "savepoint", "RELEASE": "release"}.get(head, "rollback_to")
        return Control(kind, match.group(1).lower())
    if head in _TRANSACTION:
        return Control(_TRANSACTION[head])
    if head == "SET":
        return _set(text)
    if head == "SHOW":
        spelled = " ".join(text.rstrip(" ;").split()[1:]).lower()
        if spelled in _SHOW_ALIASES:
            return Control("show", _SHOW_ALIASES[spelled])
        if match := _SHOW.match(text):
            return Control("show", match.group(1).lower())
    if head == "RESET" and (match := _RESET.match(text)):
        return Control("reset", match.group(1).lower())
    if head == "DISCARD":
        return Control("reset", "all")
    if head == "DEALLOCATE":
        rest = text.rstrip(" ;").split()[1:]
        rest = rest[1:] if rest and rest[0].upper() == "PREPARE" else rest
        return Control("deallocate", rest[0].strip('"') if rest else "")
    return None


def _set(text: str) -> Control:
    if match := _SET_TIME_ZONE.match(text):
        return Control("set", "timezone", _value(match.group(1)))
    if re.match(r"^SET\s+(SESSION\s+CHARACTERISTICS|TRANSACTION)\b", text, re.I):
        return Control("noop")
    match = _SET.match(text)
    if match is None:
        return Control("set", "", "")
    return Control("set", match.group(1).lower(), _value(match.group(2)))


def _value(raw: str) -> str:
    """A SET value without quotes (`'a', 'b'` -> `a, b`; DEFAULT -> empty)."""
    parts = [p.strip() for p in raw.split(",")]
    cleaned = [p[1:-1] if len(p) > 1 and p[0] == p[-1] and p[0] in "'\"" else p for p in parts]
    value = ", ".join(cleaned)
    return "" if value.upper() == "DEFAULT" else value


def command_tag(sql: str, rowcount: int) -> str:
    """The CommandComplete tag of an engine statement."""
    words = first_words(sql, 3)
    head = words[0] if words else ""
    if head == "INSERT":
        return f"INSERT 0 {rowcount}"
    if head in ("UPDATE", "DELETE"):
        return f"{head} {rowcount}"
    if head in _DDL_TAGS and len(words) > 1:
        rest = [w for w in words[1:] if w not in ("UNIQUE", "OR", "REPLACE", "TEMP", "TEMPORARY")]
        if rest and rest[0] in _DDL_OBJECTS:
            return f"{head} {rest[0]}"
        return head
    return f"SELECT {rowcount}"


def returns_rows(sql: str) -> bool:
    """Whether the statement may produce a RowDescription (before it runs)."""
    words = first_words(sql, 1)
    return bool(words) and words[0] in ("SELECT", "WITH", "VALUES", "TABLE", "SHOW")
