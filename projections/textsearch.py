"""Postgres full-text search, registered on every projection connection: ``to_tsvector``,
``to_tsquery``, ``plainto_tsquery``, ``phraseto_tsquery``, ``websearch_to_tsquery``,
``ts_rank`` and ``_bkg_ts_match`` (the ``@@`` operator).

Vectors and queries are text in Postgres' own output form (``'brown':3 'fox':4``, ``'lazi'
& 'dog'``), so they read the same as Postgres' and need no storage of their own. Two
configurations exist: ``english`` (the default) and ``simple``. Postgres' ``english`` parser
and dictionaries are approximated: words are runs of letters and digits, lower-cased; the
words of Postgres' English stop list are dropped (they still count for positions); the
others are stemmed with the Snowball English stemmer (the algorithm Postgres' ``english``
dictionary uses). ``simple`` only lower-cases. Postgres' parser also knows e-mail
addresses, URLs, hyphenated words and numbers with signs and decimals; here they are split
into their letter and digit runs. ``ts_rank`` is Postgres' formula for a query's lexemes
taken one by one (Postgres weighs the distance between the lexemes of an AND query).

Each function is linear in its input (matching a phrase is linear in the positions of its
lexemes) and pure.
"""

from __future__ import annotations

import functools
import re
import sqlite3
from dataclasses import dataclass
from typing import Any

import snowballstemmer

from projections.bounds import Refusal, record_refusal, refusing

MATCH_FUNCTION = "_bkg_ts_match"
TEXT_SEARCH_FUNCTIONS = (
    MATCH_FUNCTION,
    "to_tsvector",
    "to_tsquery",
    "plainto_tsquery",
    "phraseto_tsquery",
    "websearch_to_tsquery",
    "ts_rank",
)
DEFAULT_CONFIG = "english"
STOP_WORDS = frozenset(
    [
        "i",
        "me",
        "my",
        "myself",
        "we",
        "our",
        "ours",
        "ourselves",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
        "he",
        "him",
        "his",
        "himself",
        "she",
        "her",
        "hers",
        "herself",
        "it",
        "its",
        "itself",
        "they",
        "them",
        "their",
        "theirs",
        "themselves",
        "what",
        "which",
        "who",
        "whom",
        "this",
        "that",
        "these",
        "those",
        "am",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "have",
        "has",
        "had",
        "having",
        "do",
        "does",
        "did",
        "doing",
        "a",
        "an",
        "the",
        "and",
        "but",
        "if",
        "or",
        "because",
        "as",
        "until",
        "while",
        "of",
        "at",
        "by",
        "for",
        "with",
        "about",
        "against",
        "between",
        "into",
        "through",
        "during",
        "before",
        "after",
        "above",
        "below",
        "to",
        "from",
        "up",
        "down",
        "in",
        "out",
        "on",
        "off",
        "over",
        "under",
        "again",
        "further",
        "then",
        "once",
        "here",
        "there",
        "when",
        "where",
        "why",
        "how",
        "all",
        "any",
        "both",
        "each",
        "few",
        "more",
        "most",
        "other",
        "some",
        "such",
        "no",
        "nor",
        "not",
        "only",
        "own",
        "same",
        "so",
        "than",
        "too",
        "very",
        "s",
        "t",
        "can",
        "will",
        "just",
        "don",
        "should",
        "now",
    ]
)
_WORD = re.compile(r"[^\W_]+")
_QUERY_TOKEN = re.compile(r"\s*(?:(<(?:-|\d+)>)|([&|!()])|('(?:[^']|'')*'|[^\s&|!()<':]+)(:\*)?)")


def register(conn: sqlite3.Connection) -> None:
    """Register the functions on ``conn``."""
    for name, function in (
        ("to_tsvector", to_tsvector),
        ("to_tsquery", _to_tsquery),
        ("plainto_tsquery", _plain),
        ("phraseto_tsquery", _phrase),
        ("websearch_to_tsquery", _websearch),
    ):
        conn.create_function(name, 1, refusing(_default(function)), deterministic=True)
        conn.create_function(name, 2, refusing(function), deterministic=True)
    conn.create_function(MATCH_FUNCTION, 2, refusing(_match), deterministic=True)
    conn.create_function("ts_rank", 2, refusing(_rank), deterministic=True)


def _default(function: Any) -> Any:
    return lambda text: function(DEFAULT_CONFIG, text)


def _refuse(message: str, sqlstate: str) -> ValueError:
    record_refusal(Refusal(None, 0, message, sqlstate))
    return ValueError(message)


@functools.lru_cache(maxsize=4)
def _stemmer() -> Any:
    return snowballstemmer.stemmer("english")


def _config(name: Any) -> str:
    config = str(name).lower().removeprefix("pg_catalog.")
    if config not in ("english", "simple"):
        raise _refuse(f'text search configuration "{name}" does not exist', "42704")
    return config


def _lexemes(config: str, text: str) -> list[tuple[str | None, int]]:
    """Each word of ``text`` as its lexeme (None for a stop word) and its 1-based position."""
    words = [w.lower() for w in _WORD.findall(text)]
    if config == "simple":
        return [(word, index) for index, word in enumerate(words, 1)]
    stems = _stemmer().stemWords(words)
    return [
        (None if word in STOP_WORDS else stem, index)
        for index, (word, stem) in enumerate(zip(words, stems, strict=True), 1)
    ]


def _quote(lexeme: str) -> str:
    return "'" + lexeme.replace("'", "''") + "'"


def to_tsvector(config: Any, text: Any) -> str | None:
    """``'lexeme':pos,pos ...`` sorted by lexeme, as Postgres prints a tsvector."""
    if config is None or text is None:
        return None
    positions: dict[str, list[int]] = {}
    for lexeme, position in _lexemes(_config(config), str(text)):
        if lexeme is not None:
            positions.setdefault(lexeme, []).append(position)
    return " ".join(
        f"{_quote(lexeme)}:{','.join(map(str, found))}"
        for lexeme, found in sorted(positions.items())
    )


def _parse_vector(text: str) -> dict[str, list[int]]:
    vector: dict[str, list[int]] = {}
    for match in re.finditer(r"'((?:[^']|'')*)'(?::([\d,A-D]+))?|(\S+)", text):
        lexeme = match.group(1).replace("''", "'") if match.group(1) is not None else match.group(3)
        found = match.group(2) or ""
        vector[lexeme] = [int(p.rstrip("ABCD")) for p in found.split(",") if p]
    return vector


# -- queries: trees of ("term", lexeme, prefix) | ("not", q) | ("and"|"or", a, b)
# -- | ("phrase", distance, a, b), printed in Postgres' form.


@dataclass(frozen=True)
class _Term:
    lexeme: str
    prefix: bool = False


_Query = Any


def _show(query: _Query, parent: int = 0) -> str:
    strength = {"or": 1, "and": 2, "phrase": 3}
    if isinstance(query, _Term):
        return _quote(query.lexeme) + (":*" if query.prefix else "")
    if query[0] == "not":
        return "!" + _show(query[1], 4)
    kind = query[0]
    if kind == "phrase":
        op = "<->" if query[1] == 1 else f"<{query[1]}>"
        text = f"{_show(query[2], 3)} {op} {_show(query[3], 3)}"
    else:
        symbol = "&" if kind == "and" else "|"
        text = f"{_show(query[1], strength[kind])} {symbol} {_show(query[2], strength[kind])}"
    return f"( {text} )" if strength[kind] < parent else text


def _join(kind: str, parts: list[_Query]) -> _Query:
    present = [p for p in parts if p is not None]
    if not present:
        return None
    query = present[0]
    for part in present[1:]:
        query = (kind, query, part)
    return query


def _phrase_of(terms: list[tuple[str | None, int]]) -> _Query:
    """Words in sequence: ``a <-> b``, ``<2>`` over a dropped stop word."""
    query: _Query = None
    last = 0
    for lexeme, position in terms:
        if lexeme is None:
            continue
        if query is None:
            query = _Term(lexeme)
        else:
            query = ("phrase", position - last, query, _Term(lexeme))
        last = position
    return query


def _output(query: _Query) -> str:
    return "" if query is None else _show(query)


def _plain(config: Any, text: Any) -> str | None:
    """plainto_tsquery: every word, ANDed."""
    if config is None or text is None:
        return None
    terms = _lexemes(_config(config), str(text))
    return _output(_join("and", [_Term(t) for t, _ in terms if t is not None]))


def _phrase(config: Any, text: Any) -> str | None:
    """phraseto_tsquery: the words as a phrase."""
    if config is None or text is None:
        return None
    return _output(_phrase_of(_lexemes(_config(config), str(text))))


def _websearch(config: Any, text: Any) -> str | None:
    """websearch_to_tsquery: words ANDed, ``"quoted phrases"``, ``or``, ``-word``."""
    if config is None or text is None:
        return None
    name = _config(config)
    groups: list[list[_Query]] = [[]]
    for match in re.finditer(r'(-?)"([^"]*)"?|(\S+)', str(text)):
        if match.group(3) is not None and match.group(3).lower() == "or":
            groups.append([])
            continue
        negate = bool(match.group(1)) or (match.group(3) or "").startswith("-")
        words = match.group(2) if match.group(3) is None else match.group(3).lstrip("-")
        part = _phrase_of(_lexemes(name, words))
        if part is not None:
            groups[-1].append(("not", part) if negate else part)
    return _output(_join("or", [_join("and", group) for group in groups]))


def _to_tsquery(config: Any, text: Any) -> str | None:
    """to_tsquery: Postgres' query syntax (``& | ! <-> <N> ( ) :*``), operands normalised."""
    if config is None or text is None:
        return None
    name = _config(config)
    tokens = _tokens(str(text))
    query, rest = _parse_or(tokens, name)
    if rest:
        raise _refuse(f'syntax error in tsquery: "{str(text)[:60]}"', "42601")
    return _output(query)


def _tokens(text: str) -> list[tuple[str, str, bool]]:
    tokens, index = [], 0
    while index < len(text):
        match = _QUERY_TOKEN.match(text, index)
        if match is None or match.end() == index:
            if text[index:].strip():
                raise _refuse(f'syntax error in tsquery: "{text[:60]}"', "42601")
            break
        index = match.end()
        if match.group(1):
            tokens.append(("phrase", match.group(1), False))
        elif match.group(2):
            tokens.append(("op", match.group(2), False))
        elif match.group(3):
            word = match.group(3)
            if word.startswith("'"):
                word = word[1:-1].replace("''", "'")
            tokens.append(("word", word, bool(match.group(4))))
    return tokens


def _parse_or(tokens: list[Any], config: str) -> tuple[_Query, list[Any]]:
    left, tokens = _parse_and(tokens, config)
    while tokens and tokens[0][:2] == ("op", "|"):
        right, tokens = _parse_and(tokens[1:], config)
        left = _join("or", [left, right])
    return left, tokens


def _parse_and(tokens: list[Any], config: str) -> tuple[_Query, list[Any]]:
    left, tokens = _parse_phrase(tokens, config)
    while tokens and tokens[0][:2] == ("op", "&"):
        right, tokens = _parse_phrase(tokens[1:], config)
        left = _join("and", [left, right])
    return left, tokens


def _parse_phrase(tokens: list[Any], config: str) -> tuple[_Query, list[Any]]:
    left, tokens = _parse_unary(tokens, config)
    while tokens and tokens[0][0] == "phrase":
        text = tokens[0][1]
        distance = 1 if text == "<->" else int(text[1:-1])
        right, tokens = _parse_unary(tokens[1:], config)
        left = ("phrase", distance, left, right) if left and right else (left or right)
    return left, tokens


def _parse_unary(tokens: list[Any], config: str) -> tuple[_Query, list[Any]]:
    if not tokens:
        raise _refuse("syntax error in tsquery", "42601")
    kind, value, prefix = tokens[0]
    if (kind, value) == ("op", "!"):
        inner, rest = _parse_unary(tokens[1:], config)
        return (None if inner is None else ("not", inner)), rest
    if (kind, value) == ("op", "("):
        inner, rest = _parse_or(tokens[1:], config)
        if not rest or rest[0][:2] != ("op", ")"):
            raise _refuse("syntax error in tsquery", "42601")
        return inner, rest[1:]
    if kind != "word":
        raise _refuse("syntax error in tsquery", "42601")
    terms = _lexemes(config, value)
    if len(terms) > 1:
        return _phrase_of(terms), tokens[1:]
    lexeme = terms[0][0] if terms else None
    return (None if lexeme is None else _Term(lexeme, prefix)), tokens[1:]


def _parse_query_text(text: str) -> _Query:
    """A tsquery in its text form (as the functions print it, or written by hand); an empty
    query (all stop words) matches nothing."""
    if not text.strip():
        return None
    query, rest = _parse_or(_tokens(text), "simple")
    if rest:
        raise _refuse(f'syntax error in tsquery: "{text[:60]}"', "42601")
    return query


@functools.lru_cache(maxsize=256)
def _cached_query(text: str) -> _Query:
    return _parse_query_text(text)


def _positions(query: _Query, vector: dict[str, list[int]]) -> list[int] | None:
    """Where ``query`` matches (the positions of its last lexeme), None if it does not;
    a match without positions (a NOT) is the empty list."""
    if isinstance(query, _Term):
        if query.prefix:
            found = sorted(p for k, v in vector.items() if k.startswith(query.lexeme) for p in v)
            return found if any(k.startswith(query.lexeme) for k in vector) else None
        return vector.get(query.lexeme)
    kind = query[0]
    if kind == "not":
        return None if _positions(query[1], vector) is not None else []
    if kind == "and":
        left, right = _positions(query[1], vector), _positions(query[2], vector)
        return None if left is None or right is None else sorted({*left, *right})
    if kind == "or":
        left, right = _positions(query[1], vector), _positions(query[2], vector)
        if left is None and right is None:
            return None
        return sorted({*(left or []), *(right or [])})
    distance, left, right = query[1], _positions(query[2], vector), _positions(query[3], vector)
    if not left or not right:
        return None
    starts = set(left)
    found = [p for p in right if p - distance in starts]
    return found or None


def _match(vector: Any, query: Any) -> int | None:
    """``vector @@ query``."""
    if vector is None or query is None:
        return None
    parsed = _cached_query(str(query))
    if parsed is None:
        return 0
    return int(_positions(parsed, _parse_vector(str(vector))) is not None)


def _terms(query: _Query) -> list[str]:
    if query is None:
        return []
    if isinstance(query, _Term):
        return [query.lexeme]
    if query[0] == "not":
        return []
    return [t for part in query[1:] if not isinstance(part, int) for t in _terms(part)]


def _rank(vector: Any, query: Any) -> float | None:
    """ts_rank with the default weights and normalisation (Postgres' calc_rank_or)."""
    if vector is None or query is None:
        return None
    lexemes = sorted(set(_terms(_cached_query(str(query)))))
    if not lexemes:
        return 0.0
    parsed = _parse_vector(str(vector))
    total = 0.0
    weight = 0.1
    for lexeme in lexemes:
        found = parsed.get(lexeme)
        if not found:
            continue
        series = sum(weight / ((j + 1) * (j + 1)) for j in range(len(found)))
        total += (weight + series - weight) / 1.64493406685
    return total / len(lexemes)
