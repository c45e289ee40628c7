"""Postgres regular expressions, registered on every projection connection: the operators
``~ ~* !~ !~*`` (through ``_bkg_regex``), ``SIMILAR TO`` (``_bkg_similar``), ``substring(s
FROM pattern)`` (``_bkg_regex_substring``), and the functions ``regexp_like``,
``regexp_replace``, ``regexp_match``, ``regexp_count`` and ``regexp_matches`` (whose rows
``api.sql.series`` reads from the JSON array ``_bkg_regexp_matches`` returns).

Python's ``re`` backtracks without bound: ``'(a*)*b'`` against 30 ``a`` runs for minutes
inside one SQLite VM step, where neither the statement deadline nor ``interrupt()`` reaches
it. These functions use the ``regex`` module instead, whose matcher takes a timeout: every
match, search and substitution stops after `MATCH_SECONDS` with 57014 (as Postgres cancels a
statement). Patterns longer than `PATTERN_CHARACTERS` and subjects longer than
`SUBJECT_CHARACTERS` are refused (54000) before anything is compiled or matched.

Postgres' advanced regular expressions (ARE) differ from Python's in a few places, which
`translate` maps: ``\\m \\M \\y \\Y`` and ``[[:<:]] [[:>:]]`` (word boundaries), ``$``
(the very end of the text, not also before a final newline), ``.`` and ``[^...]`` match a
newline unless the ``n`` flag makes the match newline-sensitive, and the ``***=`` / ``***:``
directors. Replacement strings use ``\\1``..``\\9`` and ``\\&`` as in Postgres.
"""

from __future__ import annotations

import functools
import json
import sqlite3
from collections.abc import Callable
from typing import Any

import regex

from projections.bounds import Refusal, record_refusal, refusing

REGEX_FUNCTION = "_bkg_regex"
SIMILAR_FUNCTION = "_bkg_similar"
SUBSTRING_FUNCTION = "_bkg_regex_substring"
MATCHES_FUNCTION = "_bkg_regexp_matches"
REGEX_FUNCTIONS = (
    REGEX_FUNCTION,
    SIMILAR_FUNCTION,
    SUBSTRING_FUNCTION,
    MATCHES_FUNCTION,
    "regexp_like",
    "regexp_replace",
    "regexp_match",
    "regexp_count",
)
PATTERN_CHARACTERS = 1024
SUBJECT_CHARACTERS = 1 << 22
MAX_REPETITION = 255
"""Postgres' RE_DUP_MAX: the largest count of ``{m,n}``."""
MAX_EXPANSION = 10_000
"""The ``regex`` module unrolls counted repetitions when it compiles (``(a{1000}){1000}``
takes 274 MB, outside any timeout), so a pattern's size with every ``{m,n}`` unrolled is
bounded (about 3 MB of compiled pattern at the bound)."""
MATCH_SECONDS = 1.0
"""The longest one match, search or substitution may run (a statement's deadline still
bounds the sum over its rows)."""
_FLAGS = frozenset("icnmspwxqg")
_WORD_START = r"\b(?=\w)"
_WORD_END = r"\b(?<=\w)"
_ESCAPES = {"m": _WORD_START, "M": _WORD_END, "y": r"\b", "Y": r"\B", "Z": r"\Z", "A": r"\A"}


class RegexError(ValueError):
    """A regular expression was refused, invalid, or ran out of time."""


def register(conn: sqlite3.Connection) -> None:
    """Register the functions on ``conn``."""
    for name, count, function in (
        (REGEX_FUNCTION, 3, _matches),
        (SIMILAR_FUNCTION, 3, _similar),
        (SUBSTRING_FUNCTION, 2, _substring),
        (MATCHES_FUNCTION, 3, _all_matches),
        ("regexp_like", 2, _matches),
        ("regexp_like", 3, _matches),
        ("regexp_replace", 3, _replace),
        ("regexp_replace", 4, _replace),
        ("regexp_match", 2, _match),
        ("regexp_match", 3, _match),
        ("regexp_count", 2, _count),
    ):
        conn.create_function(name, count, refusing(function), deterministic=True)


def _refuse(message: str, sqlstate: str) -> RegexError:
    record_refusal(Refusal(None, 0, message, sqlstate))
    return RegexError(message)


def _subject(value: Any) -> str:
    text = value if isinstance(value, str) else str(value)
    if len(text) > SUBJECT_CHARACTERS:
        raise _refuse(
            f"regular expression subject of {len(text)} characters exceeds the limit"
            f" of {SUBJECT_CHARACTERS}",
            "54000",
        )
    return text


def _timed(call: Callable[[], Any]) -> Any:
    """Run one matcher call, mapping its timeout to Postgres' cancellation (57014)."""
    try:
        return call()
    except TimeoutError:
        raise _refuse("canceling statement due to regular expression timeout", "57014") from None


def _matches(subject: Any, pattern: Any, flags: Any = "") -> int | None:
    """``subject ~ pattern`` (flags ``i`` for ``~*``); regexp_like."""
    if subject is None or pattern is None or flags is None:
        return None
    compiled = compile_pattern(str(pattern), str(flags), allow_global=False)
    text = _subject(subject)
    return int(_timed(lambda: compiled.search(text, timeout=MATCH_SECONDS)) is not None)


def _replace(subject: Any, pattern: Any, replacement: Any, flags: Any = "") -> str | None:
    """regexp_replace: the first match (every match with ``g``) replaced."""
    if subject is None or pattern is None or replacement is None or flags is None:
        return None
    compiled = compile_pattern(str(pattern), str(flags), allow_global=True)
    text = _subject(subject)
    expand = _replacement(str(replacement))
    count = 0 if "g" in str(flags) else 1
    result: str = _timed(lambda: compiled.sub(expand, text, count=count, timeout=MATCH_SECONDS))
    return result


def _match(subject: Any, pattern: Any, flags: Any = "") -> str | None:
    """regexp_match: the first match's groups (or the whole match) as a JSON array."""
    if subject is None or pattern is None or flags is None:
        return None
    compiled = compile_pattern(str(pattern), str(flags), allow_global=False)
    text = _subject(subject)
    found = _timed(lambda: compiled.search(text, timeout=MATCH_SECONDS))
    return None if found is None else json.dumps(_groups(found))


def _all_matches(subject: Any, pattern: Any, flags: Any) -> str:
    """regexp_matches' rows as a JSON array of arrays: the first match, every one with
    ``g``; no rows for NULL arguments."""
    if subject is None or pattern is None or flags is None:
        return "[]"
    compiled = compile_pattern(str(pattern), str(flags), allow_global=True)
    text = _subject(subject)
    if "g" not in str(flags):
        found = _timed(lambda: compiled.search(text, timeout=MATCH_SECONDS))
        return json.dumps([] if found is None else [_groups(found)])
    rows = _timed(lambda: [_groups(m) for m in compiled.finditer(text, timeout=MATCH_SECONDS)])
    return json.dumps(rows)


def _count(subject: Any, pattern: Any) -> int | None:
    """regexp_count: how many non-overlapping matches."""
    if subject is None or pattern is None:
        return None
    compiled = compile_pattern(str(pattern), "", allow_global=False)
    text = _subject(subject)
    return int(_timed(lambda: sum(1 for _ in compiled.finditer(text, timeout=MATCH_SECONDS))))


def _substring(subject: Any, pattern: Any) -> str | None:
    """``substring(s FROM pattern)``: the first parenthesised group's text, else the match."""
    if subject is None or pattern is None:
        return None
    compiled = compile_pattern(str(pattern), "", allow_global=False)
    text = _subject(subject)
    found = _timed(lambda: compiled.search(text, timeout=MATCH_SECONDS))
    if found is None:
        return None
    value: str | None = found.group(1) if compiled.groups else found.group(0)
    return value


def _similar(subject: Any, pattern: Any, escape: Any) -> int | None:
    """``subject SIMILAR TO pattern [ESCAPE e]``: the whole text must match."""
    if subject is None or pattern is None or escape is None:
        return None
    compiled = _compile_similar(str(pattern), str(escape))
    text = _subject(subject)
    return int(_timed(lambda: compiled.fullmatch(text, timeout=MATCH_SECONDS)) is not None)


def _groups(found: Any) -> list[str | None]:
    groups = found.groups()
    return list(groups) if groups else [found.group(0)]


def _replacement(template: str) -> Callable[[Any], str]:
    """A function building Postgres' replacement text: ``\\1``..``\\9`` the groups, ``\\&``
    the whole match, ``\\\\`` a backslash, anything else literal."""
    parts: list[str | int] = []
    literal: list[str] = []
    index = 0
    while index < len(template):
        char = template[index]
        following = template[index + 1] if index + 1 < len(template) else ""
        if char == "\\" and (following.isdigit() or following == "&"):
            parts.append("".join(literal))
            literal = []
            parts.append(0 if following == "&" else int(following))
            index += 2
            continue
        if char == "\\" and following == "\\":
            literal.append("\\")
            index += 2
            continue
        literal.append(char)
        index += 1
    parts.append("".join(literal))

    def expand(found: Any) -> str:
        out = []
        for part in parts:
            if isinstance(part, str):
                out.append(part)
            elif part <= len(found.groups()) or part == 0:
                out.append(found.group(part) or "")
        return "".join(out)

    return expand


def compile_pattern(pattern: str, flags: str, *, allow_global: bool) -> Any:
    """The compiled form of a Postgres regular expression with its flags (22023 for an
    unknown flag, 2201B for an invalid pattern, 54000 for a pattern too long)."""
    for flag in flags:
        if flag not in _FLAGS or (flag == "g" and not allow_global):
            raise _refuse(f'invalid regular expression option: "{flag}"', "22023")
    if len(pattern) > PATTERN_CHARACTERS:
        raise _refuse(
            f"regular expression of {len(pattern)} characters exceeds the limit"
            f" of {PATTERN_CHARACTERS}",
            "54000",
        )
    return _compiled(pattern, flags.replace("g", ""))


@functools.lru_cache(maxsize=256)
def _compiled(pattern: str, flags: str) -> Any:
    insensitive = False
    newline_dot = newline_anchor = False
    literal = "q" in flags
    options = 0
    for flag in flags:
        if flag == "i":
            insensitive = True
        elif flag == "c":
            insensitive = False
        elif flag in "nm":
            newline_dot = newline_anchor = True
        elif flag == "s":
            newline_dot = newline_anchor = False
        elif flag == "p":
            newline_dot, newline_anchor = True, False
        elif flag == "w":
            newline_dot, newline_anchor = False, True
        elif flag == "x":
            options |= regex.VERBOSE
    if pattern.startswith("***="):
        pattern, literal = pattern[4:], True
    elif pattern.startswith("***:"):
        pattern = pattern[4:]
    source = regex.escape(pattern) if literal else translate(pattern, newline_dot, newline_anchor)
    check_expansion(source)
    options |= regex.IGNORECASE if insensitive else 0
    options |= 0 if newline_dot else regex.DOTALL
    options |= regex.MULTILINE if newline_anchor else 0
    try:
        return regex.compile(source, options | regex.VERSION0)
    except (regex.error, OverflowError, RecursionError) as exc:
        message = f"invalid regular expression: {str(exc)[:120]}"
        raise _refuse(message, "2201B") from None


_COUNT = regex.compile(r"\{(\d*)(?:,(\d*))?\}")


def check_expansion(source: str) -> None:
    """Refuse (2201B) a repetition count above `MAX_REPETITION` or a pattern whose size with
    its counted repetitions unrolled exceeds `MAX_EXPANSION` (counting every character as
    an atom and a group as its contents, so the estimate never falls short)."""
    stack: list[tuple[int, int]] = []
    total = last = 0
    index = 0
    while index < len(source):
        char = source[index]
        atom = 1
        if char == "\\":
            index += 2
        elif char == "[":
            index = _bracket_end(source, index) + 1
        elif char == "(":
            stack.append((total, last))
            total = last = 0
            index += 1
            continue
        elif char == ")" and stack:
            atom = max(total, 1)
            total, last = stack.pop()
            index += 1
        elif char == "{" and (count := _COUNT.match(source, index)) is not None:
            times = max(int(count.group(1) or 0), int(count.group(2) or 0))
            if times > MAX_REPETITION:
                raise _refuse("invalid regular expression: invalid repetition count(s)", "2201B")
            total += last * (times - 1)
            last *= times
            index = count.end()
            atom = 0
        else:
            index += 1
        total += atom
        last = atom or last
        if total > MAX_EXPANSION:
            raise _refuse("invalid regular expression: regular expression is too complex", "2201B")


def _bracket_end(source: str, start: int) -> int:
    """Where the bracket expression opening at ``start`` closes (the end if it does not)."""
    index = start + 1
    if source[index : index + 1] == "^":
        index += 1
    if source[index : index + 1] == "]":
        index += 1
    while index < len(source) and source[index] != "]":
        if source[index] == "[" and source[index + 1 : index + 2] in (":", "=", "."):
            close = source.find(source[index + 1] + "]", index + 2)
            index = len(source) if close < 0 else close + 2
        else:
            index += 2 if source[index] == "\\" else 1
    return index


def translate(pattern: str, newline_dot: bool, newline_anchor: bool) -> str:
    """A Postgres ARE in the syntax of the ``regex`` module (see the module docstring)."""
    out: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            following = pattern[index + 1]
            out.append(_ESCAPES.get(following, "\\" + following))
            index += 2
        elif char == "[":
            bracket, index = _bracket(pattern, index, newline_dot)
            out.append(bracket)
        elif char == "$" and not newline_anchor:
            out.append(r"\Z")
            index += 1
        else:
            out.append(char)
            index += 1
    return "".join(out)


def _bracket(pattern: str, start: int, newline_sensitive: bool) -> tuple[str, int]:
    """One bracket expression from ``start`` (at ``[``): the text and where it ends."""
    for word, replacement in (("[[:<:]]", _WORD_START), ("[[:>:]]", _WORD_END)):
        if pattern.startswith(word, start):
            return replacement, start + len(word)
    index = start + 1
    if index < len(pattern) and pattern[index] == "^":
        index += 1
    if index < len(pattern) and pattern[index] == "]":
        index += 1
    while index < len(pattern) and pattern[index] != "]":
        if pattern[index] == "[" and pattern[index + 1 : index + 2] in (":", "=", "."):
            close = pattern.find(pattern[index + 1] + "]", index + 2)
            index = len(pattern) if close < 0 else close + 2
        elif pattern[index] == "\\":
            index += 2
        else:
            index += 1
    if index >= len(pattern):
        raise _refuse("invalid regular expression: brackets [] not balanced", "2201B")
    text = pattern[start : index + 1]
    negated = text.startswith("[^")
    if negated and newline_sensitive and "\n" not in text:
        text = "[^\n" + text[2:]
    if text.startswith("[]") or text.startswith("[^]"):
        head = 3 if negated else 2
        text = text[: head - 1] + "\\]" + text[head:]
    return text, index + 1


@functools.lru_cache(maxsize=256)
def _compile_similar(pattern: str, escape: str) -> Any:
    """SIMILAR TO's pattern as a regular expression: ``%`` any text, ``_`` any character,
    ``|`` ``*`` ``+`` ``?`` ``{m,n}`` ``()`` ``[]`` as in regular expressions, everything
    else literal; ``escape`` (default ``\\``) quotes the next character."""
    if len(escape) > 1:
        raise _refuse("invalid escape string", "22025")
    if len(pattern) > PATTERN_CHARACTERS:
        raise _refuse(
            f"regular expression of {len(pattern)} characters exceeds the limit"
            f" of {PATTERN_CHARACTERS}",
            "54000",
        )
    out: list[str] = []
    index = 0
    in_bracket = False
    while index < len(pattern):
        char = pattern[index]
        if escape and char == escape and index + 1 < len(pattern):
            out.append(regex.escape(pattern[index + 1]))
            index += 2
            continue
        if in_bracket:
            out.append("\\\\" if char == "\\" else char)
            in_bracket = char != "]"
        elif char == "%":
            out.append(".*")
        elif char == "_":
            out.append(".")
        elif char == "[":
            out.append(char)
            in_bracket = True
        elif char in "|*+?{}(),0123456789":
            out.append("(?:" if char == "(" else char)
        else:
            out.append(regex.escape(char))
        index += 1
    check_expansion("".join(out))
    try:
        return regex.compile("".join(out), regex.DOTALL | regex.VERSION0)
    except (regex.error, OverflowError, RecursionError) as exc:
        raise _refuse(f"invalid regular expression: {str(exc)[:120]}", "2201B") from None
